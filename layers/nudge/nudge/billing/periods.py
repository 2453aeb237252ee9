"""Billing periods: monthly, anchored on the workspace's billing start day.

A period runs from its start date (inclusive, 00:00 UTC) to the next start date (exclusive). An anchor
day past a month's end falls on that month's last day (a plan started on the 31st renews on 30 April,
then on 31 May).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime


def add_months(anchor: date, months: int) -> date:
    """The anchor's day ``months`` later, clamped to the month's length."""
    index = anchor.year * 12 + anchor.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(anchor.day, last))


def period_start_at(anchor: date, at: date) -> date:
    """The start of the period containing ``at`` (the anchor's first period if ``at`` is earlier)."""
    months = (at.year - anchor.year) * 12 + at.month - anchor.month
    start = add_months(anchor, max(months, 0))
    while start > at and months > 0:
        months -= 1
        start = add_months(anchor, months)
    return max(start, anchor) if at >= anchor else anchor


def next_start(anchor: date, start: date) -> date:
    months = (start.year - anchor.year) * 12 + start.month - anchor.month
    return add_months(anchor, months + 1)


def months_since(anchor: date, start: date) -> int:
    return (start.year - anchor.year) * 12 + start.month - anchor.month


def day_of(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
