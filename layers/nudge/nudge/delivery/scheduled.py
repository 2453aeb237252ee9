"""Deliveries waiting for a later time (``send_at``, or a retry after a try that sent nothing): found by
due minute, never by scanning, and released to ``queued`` by a sweep every minute.

The sweep resumes from its bookmark, the last minute it finished, however long ago: after an outage it
catches up ``MAX_MINUTES_PER_RUN`` minutes per run (a run stays well inside the function's timeout) and
skips none, so no delivery is left scheduled for ever. A retry released that late meets the pipeline's
maximum retry age and is given up (failed and dead-lettered); a ``send_at`` goes out late.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.delivery import records
from nudge.model.deliveries import DeliveriesItem, SweepBookmark

# Minute buckets one run reads at most (each is DUE_SHARDS queries): 6 hours, about 1,500 queries.
MAX_MINUTES_PER_RUN = 6 * 60
_STATE_PK, _STATE_SK = "_system#scheduled-sweep", "state"
logger = Logger(child=True)


def sweep(now: int | None = None) -> int:
    """Release every scheduled delivery due by ``now`` (up to ``MAX_MINUTES_PER_RUN`` minutes of them
    after the bookmark); returns how many were released."""
    now = clock.now() if now is None else now
    current = now // 60
    last = _last_swept_minute()
    first = current - 1 if last is None else last + 1
    until = min(current, first + MAX_MINUTES_PER_RUN - 1)
    if until < current:
        logger.warning("scheduled sweep catching up", behind_minutes=current - until)
    released = 0
    for minute in range(first, until + 1):
        for shard in range(records.DUE_SHARDS):
            for item in DeliveriesItem.by_due.query(
                f"{minute}#{shard}", DeliveriesItem.due_key <= f"{now:012d}#~"
            ):
                due_key = str(item.due_key)
                _, workspace_id, delivery_id = due_key.split("#", 2)
                key = (records.delivery_pk(workspace_id, delivery_id), records.SK)
                released += records.release_due(key, due_key)
    # The current minute is swept again next time: more of it may still come due.
    SweepBookmark(_STATE_PK, _STATE_SK, workspace_id="_system", minute=min(until, current - 1)).save()
    return released


def _last_swept_minute() -> int | None:
    try:
        return int(SweepBookmark.get(_STATE_PK, _STATE_SK, consistent_read=True).minute)
    except DoesNotExist:
        return None
