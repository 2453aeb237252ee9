"""Who reacts to a change: segment evaluation now; campaign triggers and usage metering register here as
they land; each consumer must be idempotent, because a redelivered stream record is applied again."""

from __future__ import annotations

from collections.abc import Callable

from nudge.evaluation.changes import Change
from nudge.segments.evaluation import on_change as evaluate_segments

Consumer = Callable[[Change], None]
CONSUMERS: list[Consumer] = [evaluate_segments]


def apply(change: Change) -> None:
    for consume in CONSUMERS:
        consume(change)
