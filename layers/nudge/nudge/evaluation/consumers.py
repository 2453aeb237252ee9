"""Who reacts to a change: segment evaluation, usage metering, the activity log and campaign triggers.
Each consumer must be idempotent, because a redelivered stream record is applied again. Campaign
triggers run last: they call out to Step Functions, and a record they keep failing on has been
evaluated, metered and logged already."""

from __future__ import annotations

from collections.abc import Callable

from nudge.activities.log import on_change as log_activities
from nudge.billing.consumer import on_change as meter_usage
from nudge.campaigns.triggers import on_change as trigger_campaigns
from nudge.evaluation.changes import Change
from nudge.segments.evaluation import on_change as evaluate_segments

Consumer = Callable[[Change], None]
CONSUMERS: list[Consumer] = [evaluate_segments, meter_usage, log_activities, trigger_campaigns]


def apply(change: Change) -> None:
    for consume in CONSUMERS:
        consume(change)
