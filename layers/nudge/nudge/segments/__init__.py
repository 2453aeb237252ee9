"""Segments: the condition language, definitions, the dependency index and stream-driven evaluation."""
