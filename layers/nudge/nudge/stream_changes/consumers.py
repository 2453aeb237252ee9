"""Who reacts to a change, in the order subscribed: the evaluate handler (the composition root of the
stream) subscribes segment evaluation, usage metering, the activity log and campaign triggers. They live
above this package and import ``Change`` from it, so it cannot import them.

Each consumer must be idempotent, because a redelivered stream record is applied again. Campaign
triggers run last: they call out to Step Functions, and a record they keep failing on has been
evaluated, metered and logged already."""

from __future__ import annotations

from collections.abc import Callable

from nudge.stream_changes.changes import Change

Consumer = Callable[[Change], None]
CONSUMERS: list[Consumer] = []


def subscribe(*consumers: Consumer) -> None:
    """Add consumers after those already subscribed (once each: a second subscription is ignored)."""
    for consume in consumers:
        if consume not in CONSUMERS:
            CONSUMERS.append(consume)


def apply(change: Change) -> None:
    for consume in CONSUMERS:
        consume(change)
