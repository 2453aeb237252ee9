"""Nudge's message channels, declared once: a delivery's and a template's ``channel``, the App API's
message ``type`` filter, the billing counters per channel, the reporting webhooks' event names and the
local outbox all read these, in this order (the order listings and error messages give them).

Kept free of imports: the route tables and the reporting events name channels when they are imported,
and a cold start should not pay for the delivery code (or PynamoDB) to learn five words.
"""

from __future__ import annotations

EMAIL, SMS, PUSH, IN_APP, WEBHOOK = "email", "sms", "push", "in_app", "webhook"
CHANNELS = (EMAIL, SMS, PUSH, IN_APP, WEBHOOK)
# Customer.io's own name for a channel where it differs from Nudge's (activities, the message listing).
CIO_NAMES = {SMS: "twilio"}
# Customer.io's names read as Nudge's, where a client may send either.
ALIASES = {cio_name: channel for channel, cio_name in CIO_NAMES.items()}


def cio_name(channel: str) -> str:
    return CIO_NAMES.get(channel, channel)
