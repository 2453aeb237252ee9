"""What kind of thing a person did, as Customer.io's Track API types an event: a custom event, a page view
or a screen view. Declared once, here, for the Track API's events, the segment conditions on them and
the activities listing that reads them back.

Kept free of imports: the segment condition language names these when the route tables are imported,
and a cold start should not pay for the event store (or PynamoDB) to learn three words.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    EVENT = "event"
    PAGE = "page"
    SCREEN = "screen"


EVENT_TYPES = tuple(kind.value for kind in EventType)  # in the order errors and schemas list them
