"""Delivery states, Customer.io's names, and how metrics move a delivery between them.

A delivery keeps every metric it ever received (``metrics``: name -> first time) and one ``state``: the
furthest it got. Bad outcomes outrank good ones, so a message that was opened and then marked as spam
reads ``spammed``. ``scheduled``, ``queued`` and ``attempted`` are Nudge's own in-flight states: a
scheduled delivery waits for its ``send_at`` (or its next try, after a failure that sent nothing); a
queued one is about to be sent; an attempted one is claimed by a sender that is calling the provider.

Two reasons mark a ``failed`` delivery that the pipeline decided on its own (``records``): "send outcome
unknown" (the provider may have taken it, its answer was lost: never resent; SES feedback can still show it
went out) and "gave up" (every try failed before anything went out, up to the cap on tries and their age:
the delivery's stream record is dead-lettered).
"""

from __future__ import annotations

from collections.abc import Iterable

DRAFTED = "drafted"
SCHEDULED = "scheduled"
QUEUED = "queued"
ATTEMPTED = "attempted"
SENT = "sent"
DEFERRED = "deferred"
DELIVERED = "delivered"
OPENED = "opened"
CLICKED = "clicked"
CONVERTED = "converted"
BOUNCED = "bounced"
SPAMMED = "spammed"
UNSUBSCRIBED = "unsubscribed"
DROPPED = "dropped"
FAILED = "failed"
UNDELIVERABLE = "undeliverable"

_RANK = {
    DRAFTED: 0,
    SCHEDULED: 1,
    QUEUED: 2,
    ATTEMPTED: 3,
    SENT: 4,
    DEFERRED: 5,
    DELIVERED: 6,
    OPENED: 7,
    CLICKED: 8,
    CONVERTED: 9,
    UNSUBSCRIBED: 10,
    BOUNCED: 11,
    DROPPED: 11,
    SPAMMED: 12,
    FAILED: 13,
    UNDELIVERABLE: 13,
}
STATES = tuple(_RANK)

# What a client may report (``/api/v1/metrics``, push events, v2 delivery ops, the in-app API), in the
# order its 400 lists them; SES feedback reports some of these too (``ses_events``).
METRICS = (DELIVERED, OPENED, CLICKED, CONVERTED, BOUNCED, SPAMMED, DEFERRED, DROPPED, FAILED, UNSUBSCRIBED)
# A message that went out: only these can receive feedback.
OUT = frozenset(
    {SENT, DEFERRED, DELIVERED, OPENED, CLICKED, CONVERTED, UNSUBSCRIBED, BOUNCED, DROPPED, SPAMMED}
)


def lower_than(state: str) -> list[str]:
    """The states a delivery may be in for ``state`` to replace them."""
    return [other for other, rank in _RANK.items() if rank < _RANK[state]]


def out_lower_than(state: str) -> list[str]:
    """The states of a message that went out which ``state`` replaces: a metric moves only those, never
    a delivery still in flight (its sender records the outcome) or rescheduled."""
    return [other for other in lower_than(state) if other in OUT]


def furthest(names: Iterable[str]) -> str | None:
    """The highest-ranked of ``names`` that a message that went out can be in, or None."""
    found = [name for name in names if name in OUT]
    return max(found, key=_RANK.__getitem__) if found else None
