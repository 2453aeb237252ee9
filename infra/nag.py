"""How this app accepts a cdk-nag finding (or another synth-time validation's): at the construct it
concerns, never without a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept finding ``rule_id`` on ``scope`` and everything below it, for ``reason``."""
    if len(reason.split()) < 5:
        raise ValueError(f"acknowledging {rule_id} needs a real reason, got {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
