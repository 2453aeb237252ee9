"""Activity types, in Customer.io's words where it has them.

Customer.io names a message's activities ``<metric>_<channel>`` (``sent_email``, ``opened_push``,
``delivered_twilio``, ...) with its own channel names, and has ``event``, ``page``, ``screen`` and
``attribute_change``. It has no activity for segment membership; Nudge's are ``entered_segment`` and
``exited_segment`` (named as its message activities are: what happened, then to what). A person's
subscription changes are named as its reporting webhooks name them (``customer_subscribed``,
``customer_unsubscribed``, ``cio_subscription_preferences_changed``).
"""

from __future__ import annotations

from nudge.delivery import states
from nudge.delivery.channel_names import CHANNELS, cio_name
from nudge.tracking.event_types import EVENT_TYPES as EVENT_TYPES  # read from the events table, not logged

ATTRIBUTE_CHANGE = "attribute_change"
ENTERED_SEGMENT = "entered_segment"
EXITED_SEGMENT = "exited_segment"
CUSTOMER_SUBSCRIBED = "customer_subscribed"
CUSTOMER_UNSUBSCRIBED = "customer_unsubscribed"
PREFERENCES_CHANGED = "cio_subscription_preferences_changed"
SUBSCRIPTION_TYPES = (CUSTOMER_SUBSCRIBED, CUSTOMER_UNSUBSCRIBED, PREFERENCES_CHANGED)

# Nudge's channel -> Customer.io's name for it (the ``delivery_type`` and the suffix of a message type).
CHANNEL_NAMES = {channel: cio_name(channel) for channel in CHANNELS}
# Every metric a message can reach, except Nudge's own in-flight states (waiting, queued, being sent).
MESSAGE_METRICS = tuple(
    state for state in states.STATES if state not in (states.SCHEDULED, states.QUEUED, states.ATTEMPTED)
)
MESSAGE_TYPES = tuple(
    f"{metric}_{channel}" for metric in MESSAGE_METRICS for channel in CHANNEL_NAMES.values()
)
LOGGED_TYPES = (ATTRIBUTE_CHANGE, ENTERED_SEGMENT, EXITED_SEGMENT, *SUBSCRIPTION_TYPES, *MESSAGE_TYPES)
ALL_TYPES = frozenset((*EVENT_TYPES, *LOGGED_TYPES))


def message_type(metric: str, channel: str) -> str | None:
    """The activity type for a message of ``channel`` reaching ``metric``; None for metrics not listed."""
    if metric not in MESSAGE_METRICS or channel not in CHANNEL_NAMES:
        return None
    return f"{metric}_{CHANNEL_NAMES[channel]}"


def describe_allowed() -> str:
    """The allowed ``type`` values, for a 400's detail (the message types as a pattern, not 75 names)."""
    named = (*EVENT_TYPES, ATTRIBUTE_CHANGE, ENTERED_SEGMENT, EXITED_SEGMENT, *SUBSCRIPTION_TYPES)
    return (
        f"type must be one of {', '.join(named)}, "
        f"or <metric>_<channel> with metric one of {', '.join(MESSAGE_METRICS)} "
        f"and channel one of {', '.join(CHANNEL_NAMES.values())}"
    )
