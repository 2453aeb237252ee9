"""Who reacts to a change: segment evaluation and usage metering; campaign triggers register here as
they land; each consumer must be idempotent, because a redelivered stream record is applied again."""

from __future__ import annotations

from collections.abc import Callable

from nudge.billing.consumer import on_change as meter_usage
from nudge.evaluation.changes import Change
from nudge.segments.evaluation import on_change as evaluate_segments

Consumer = Callable[[Change], None]
CONSUMERS: list[Consumer] = [evaluate_segments, meter_usage]


def apply(change: Change) -> None:
    for consume in CONSUMERS:
        consume(change)
