"""The composition root: connects the ports lower packages report through to the packages above them
that subscribe. Every handler calls ``connect`` when it is imported (the local runtime imports the
handlers, so it is connected the same way); ``tests/conftest.py`` calls it too.

- Delivery outcomes (``delivery.outcomes``): campaign counters, usage metering, then reporting webhooks
  (which only queue events for their worker). Any other reaction to what became of a message subscribes
  here as well.

Each outcome subscriber is imported when the first outcome reaches it, not when it is connected: the
three modules and what they import (metering, the reporting store and queue, the stream change parser
and every table model) are 7% of the import of a function that reports no outcome or rarely does
(Track, App API, billing, campaigns, exports, reporting: 1,333 -> 1,238 million instructions
for the Track handler, 1,023 -> 954 for billing; bench/README.md, "Cold start").
The functions that report one on nearly every invocation (send, feedback, links) ``connect(load=True)``,
so their init imports them rather than their first message.

The stream's change consumers (``evaluation.consumers``) are connected by the evaluate handler, the one
function that applies changes: segments, metering, the activity log and campaign triggers are a large
import the other handlers have no use for.
"""

from __future__ import annotations

from collections.abc import Callable

from nudge.delivery import outcomes

# The imports inside these functions are the deferral the module docstring measures.


def _campaign_counters() -> outcomes.Subscriber:
    from nudge.campaigns import metrics

    return metrics.on_delivery_outcome


def _metering() -> outcomes.Subscriber:
    from nudge.billing import metering

    return metering.on_delivery_outcome


def _reporting_webhooks() -> outcomes.Subscriber:
    from nudge.reporting import subscriber

    return subscriber.on_delivery_outcome


class _Deferred:
    """A subscriber whose module is imported at its first outcome (or by ``load``)."""

    def __init__(self, find: Callable[[], outcomes.Subscriber]) -> None:
        self._find = find
        self._subscriber: outcomes.Subscriber | None = None

    def load(self) -> outcomes.Subscriber:
        if self._subscriber is None:
            self._subscriber = self._find()
        return self._subscriber

    def __call__(self, outcome: outcomes.Outcome) -> None:
        self.load()(outcome)

    def __repr__(self) -> str:
        return f"<deferred {self._find.__name__.lstrip('_')}>"


# In the order they run.
DELIVERY_OUTCOME_SUBSCRIBERS = (
    _Deferred(_campaign_counters),
    _Deferred(_metering),
    _Deferred(_reporting_webhooks),
)


def connect(*, load: bool = False) -> None:
    """Subscribe everything (idempotent: a second call subscribes nothing twice). ``load``: import the
    subscribers now, for a function that reports an outcome on nearly every invocation."""
    for subscriber in DELIVERY_OUTCOME_SUBSCRIBERS:
        outcomes.subscribe(subscriber)
        if load:
            subscriber.load()
