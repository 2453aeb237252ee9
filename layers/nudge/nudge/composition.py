"""The composition root: connects the ports lower packages report through to the packages above them
that subscribe. Every handler calls ``connect`` when it is imported (the local runtime imports the
handlers, so it is connected the same way); ``tests/conftest.py`` calls it too.

- Delivery outcomes (``delivery.outcomes``): campaign counters, usage metering, then reporting webhooks
  (which only queue events for their worker). Any other reaction to what became of a message subscribes
  here as well.

The stream's change consumers (``evaluation.consumers``) are connected by the evaluate handler, the one
function that applies changes: segments, metering, the activity log and campaign triggers are a large
import the other handlers have no use for.
"""

from __future__ import annotations

from nudge.billing import metering
from nudge.campaigns import metrics as campaign_metrics
from nudge.delivery import outcomes
from nudge.reporting import subscriber as reporting_webhooks


def connect() -> None:
    """Subscribe everything (idempotent: a second call subscribes nothing twice)."""
    outcomes.subscribe(campaign_metrics.on_delivery_outcome)
    outcomes.subscribe(metering.on_delivery_outcome)
    outcomes.subscribe(reporting_webhooks.on_delivery_outcome)
