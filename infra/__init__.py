"""Nudge's AWS CDK app: one construct per concern (in ``components``), composed by ``stack.NudgeStack``."""
