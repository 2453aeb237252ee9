"""Deliveries waiting for a later time (``send_at``, or a retry after a try that sent nothing): found by
due minute, never by scanning, and released to ``queued`` by a sweep every minute.

The sweep resumes from its bookmark however long ago it ran (``nudge.sweep_window``), so no delivery is
left scheduled for ever. A retry released that late meets the pipeline's maximum retry age and is given up
(failed and dead-lettered); a ``send_at`` goes out late.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from pynamodb.exceptions import DoesNotExist

from nudge import clock, sweep_window
from nudge.delivery import records
from nudge.model.deliveries import DeliveriesItem, SweepBookmark

_STATE_PK, _STATE_SK = "_system#scheduled-sweep", "state"
logger = Logger(child=True)


def sweep(now: int | None = None) -> int:
    """Release every scheduled delivery due by ``now`` (up to ``sweep_window.MAX_MINUTES_PER_RUN``
    minutes of them after the bookmark); returns how many were released."""
    now = clock.now() if now is None else now
    window = sweep_window.window(_last_swept_minute(), now)
    if window.behind:
        logger.warning("scheduled sweep catching up", behind_minutes=window.behind)
    released = 0
    for minute in window.minutes:
        for shard in range(records.DUE_SHARDS):
            for item in DeliveriesItem.by_due.query(
                f"{minute}#{shard}", DeliveriesItem.due_key <= f"{now:012d}#~"
            ):
                due_key = str(item.due_key)
                _, workspace_id, delivery_id = due_key.split("#", 2)
                key = (records.delivery_pk(workspace_id, delivery_id), records.SK)
                released += records.release_due(key, due_key)
    SweepBookmark(_STATE_PK, _STATE_SK, workspace_id="_system", minute=window.bookmark()).save()
    return released


def _last_swept_minute() -> int | None:
    try:
        return int(SweepBookmark.get(_STATE_PK, _STATE_SK, consistent_read=True).minute)
    except DoesNotExist:
        return None
