"""Customer.io's reporting webhook event names: ``<object_type>_<metric>`` for messages, per channel,
``customer_subscribed`` / ``customer_unsubscribed`` for a person's ``unsubscribed`` attribute, and
``customer_subscription_preferences_changed`` for their topic choices.

A webhook may subscribe to any name Customer.io's App API accepts (clients send those lists as they are);
``EMITTED`` are those Nudge reports, the rest are stored and never sent (no such channel or action here).
"""

from __future__ import annotations

from nudge.delivery import states
from nudge.delivery.channel_names import CHANNELS

CUSTOMER = "customer"
SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
# A person's topic choices changed: Customer.io's metric, and the event name its webhooks subscribe by.
PREFERENCES_CHANGED = "cio_subscription_preferences_changed"
PREFERENCES_EVENT = "customer_subscription_preferences_changed"

# Customer.io's list, in its order (the App API's createWebhook ``events`` enum).
_CIO_METRICS: dict[str, tuple[str, ...]] = {
    "email": (
        "drafted",
        "attempted",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "converted",
        "bounced",
        "dropped",
        "deferred",
        "spammed",
        "failed",
        "unsubscribed",
        "undeliverable",
    ),
    "in_app": ("drafted", "attempted", "sent", "opened", "clicked", "converted", "failed", "undeliverable"),
    "push": (
        "drafted",
        "attempted",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "converted",
        "bounced",
        "dropped",
        "failed",
        "undeliverable",
    ),
    "slack": ("drafted", "attempted", "sent", "clicked", "converted", "failed"),
    "sms": (
        "drafted",
        "attempted",
        "sent",
        "delivered",
        "clicked",
        "converted",
        "bounced",
        "dropped",
        "failed",
        "undeliverable",
        "replied",
    ),
    "whatsapp": (
        "drafted",
        "attempted",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "converted",
        "bounced",
        "dropped",
        "failed",
        "undeliverable",
        "replied",
    ),
    "webhook": ("drafted", "attempted", "sent", "clicked", "converted", "failed", "undeliverable"),
}
CUSTOMER_EVENTS = (
    f"{CUSTOMER}_{SUBSCRIBED}",
    f"{CUSTOMER}_{UNSUBSCRIBED}",
    PREFERENCES_EVENT,
)
NAMES: tuple[str, ...] = CUSTOMER_EVENTS + tuple(
    f"{channel}_{metric}" for channel, metrics in _CIO_METRICS.items() for metric in metrics
)

# What Nudge reports: every metric the delivery outcomes port carries, on Nudge's channels, where
# Customer.io has the name; and the two subscription changes.
REPORTED_METRICS = frozenset(
    {
        states.ATTEMPTED,
        states.UNDELIVERABLE,
        states.SENT,
        states.DELIVERED,
        states.OPENED,
        states.CLICKED,
        states.CONVERTED,
        states.BOUNCED,
        states.SPAMMED,
        states.DEFERRED,
        states.DROPPED,
        states.FAILED,
        states.UNSUBSCRIBED,
    }
)
EMITTED = frozenset(
    {f"{CUSTOMER}_{SUBSCRIBED}", f"{CUSTOMER}_{UNSUBSCRIBED}", PREFERENCES_EVENT}
    | {
        f"{channel}_{metric}"
        for channel in CHANNELS
        for metric in _CIO_METRICS[channel]
        if metric in REPORTED_METRICS
    }
)
# Reported every time with ``full_resolution`` (each open, each click), else only the first time.
REPEATABLE = frozenset({states.OPENED, states.CLICKED})


def name(object_type: str, metric: str) -> str:
    if (object_type, metric) == (CUSTOMER, PREFERENCES_CHANGED):
        return PREFERENCES_EVENT  # Customer.io's name for it drops the metric's cio_
    return f"{object_type}_{metric}"
