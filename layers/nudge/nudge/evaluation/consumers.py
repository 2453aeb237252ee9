"""Who reacts to a change. Segment evaluation, campaign triggers and usage metering register here as they
land; each consumer must be idempotent, because a redelivered stream record is applied again."""

from __future__ import annotations

from collections.abc import Callable

from nudge.evaluation.changes import Change

Consumer = Callable[[Change], None]
CONSUMERS: list[Consumer] = []


def apply(change: Change) -> None:
    for consume in CONSUMERS:
        consume(change)
