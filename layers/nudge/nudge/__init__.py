"""Nudge: the shared domain package, shipped to Lambda as a layer."""
