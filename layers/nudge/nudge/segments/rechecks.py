"""Time-based re-evaluation: a condition that can flip with the mere passage of time gets a re-check at
the moment it can flip, for that person and segment, found by due time rather than by scanning people.

Each re-check is one item per (person, segment), overwritten when the next flip moves, and indexed by
due minute (``by_due``, spread over ``SHARDS`` keys per minute). A scheduled sweep (EventBridge every
minute in AWS, the scheduler locally) reads the minutes that came due since its last run and re-evaluates;
after an outage it catches up however long it was down (``nudge.sweep_window``), so no re-check is skipped.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from pynamodb.exceptions import DeleteError, DoesNotExist

from nudge import clock, sweep_window
from nudge.model import Recheck, SegmentsItem
from nudge.model.base import condition_failed
from nudge.model.keys import recheck_pk

SHARDS = 4
SK = "recheck"
_STATE_PK, _STATE_SK = "_system#recheck-sweep", "state"


def _bucket(due_at: int, shard: int) -> str:
    return f"{due_at // 60}#{shard}"


def _due_key(due_at: int, workspace_id: str, cio_id: str, segment_id: str) -> str:
    return f"{due_at:012d}#{workspace_id}#{cio_id}#{segment_id}"


def schedule(workspace_id: str, cio_id: str, segment_id: str, due_at: int) -> None:
    shard = zlib.crc32(f"{cio_id}#{segment_id}".encode()) % SHARDS
    Recheck(
        recheck_pk(workspace_id, cio_id, segment_id),
        SK,
        workspace_id=workspace_id,
        segment_id=segment_id,
        cio_id=cio_id,
        due_at=due_at,
        due_bucket=_bucket(due_at, shard),
        due_key=_due_key(due_at, workspace_id, cio_id, segment_id),
    ).save()


@dataclass(frozen=True)
class Due:
    workspace_id: str
    cio_id: str
    segment_id: str
    due_key: str


def _due_between(minutes: range, now: int) -> list[Due]:
    found = []
    for minute in minutes:
        for shard in range(SHARDS):
            for item in SegmentsItem.by_due.query(
                f"{minute}#{shard}", SegmentsItem.due_key <= f"{now:012d}#~"
            ):
                _, workspace_id, cio_id, segment_id = str(item.due_key).split("#", 3)
                found.append(Due(workspace_id, cio_id, segment_id, str(item.due_key)))
    return found


def take_due(now: int | None = None) -> Iterator[Due]:
    """Every re-check due up to ``now`` (default: now) since the last sweep, each consumed as it is
    yielded; once the last is taken, the sweep's bookmark moves on (not when the caller fails midway, so
    the next sweep takes the rest again). ``segments.evaluation.sweep_rechecks`` re-evaluates them."""
    now = clock.now() if now is None else now
    window = sweep_window.window(_last_swept_minute(), now)
    for due in _due_between(window.minutes, now):
        _consume(due)
        yield due  # re-evaluated after its consumption, so the next re-check it schedules stands
    _save_last_swept_minute(window.bookmark())


def _consume(due: Due) -> None:
    """Delete the re-check unless it was moved meanwhile (then the newer one stands)."""
    item = Recheck(recheck_pk(due.workspace_id, due.cio_id, due.segment_id), SK)
    try:
        item.delete(condition=Recheck.due_key == due.due_key)
    except DeleteError as exc:
        if not condition_failed(exc):
            raise


def _last_swept_minute() -> int | None:
    try:
        return int(Recheck.get(_STATE_PK, _STATE_SK, consistent_read=True).due_at)
    except DoesNotExist:
        return None


def _save_last_swept_minute(last_minute: int) -> None:
    # The sweep's own bookmark: the one item not scoped to a workspace, because the sweep serves all.
    Recheck(_STATE_PK, _STATE_SK, workspace_id="_system", cio_id="_system", due_at=last_minute).save()
