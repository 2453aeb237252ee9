"""Deliveries waiting for a later time (``send_at``, or a retry after the provider throttled): found by
due minute, never by scanning, and released to ``queued`` by a sweep every minute."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.delivery import records
from nudge.model.deliveries import DeliveriesItem, SweepBookmark

MAX_CATCH_UP_MINUTES = 24 * 60
_STATE_PK, _STATE_SK = "_system#scheduled-sweep", "state"


def sweep(now: int | None = None) -> int:
    """Release every scheduled delivery due by ``now``; returns how many were released."""
    now = clock.now() if now is None else now
    current = now // 60
    last = _last_swept_minute()
    first = current - 1 if last is None else max(last + 1, current - MAX_CATCH_UP_MINUTES)
    released = 0
    for minute in range(first, current + 1):
        for shard in range(records.DUE_SHARDS):
            for item in DeliveriesItem.by_due.query(
                f"{minute}#{shard}", DeliveriesItem.due_key <= f"{now:012d}#~"
            ):
                due_key = str(item.due_key)
                _, workspace_id, delivery_id = due_key.split("#", 2)
                key = (records.delivery_pk(workspace_id, delivery_id), records.SK)
                released += records.release_due(key, due_key)
    # The current minute is swept again next time: more of it may still come due.
    SweepBookmark(_STATE_PK, _STATE_SK, workspace_id="_system", minute=current - 1).save()
    return released


def _last_swept_minute() -> int | None:
    try:
        return int(SweepBookmark.get(_STATE_PK, _STATE_SK, consistent_read=True).minute)
    except DoesNotExist:
        return None
