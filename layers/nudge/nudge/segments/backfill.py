"""Backfilling a new or changed dynamic segment over the people already in the workspace.

Paged and resumable: each step evaluates one page of one shard of the people-by-workspace index and
saves where it stopped (shard, cursor, progress) on the segment itself. That save is a stream record,
which brings the evaluate function back for the next page, so the backfill needs no extra machinery, in
AWS or locally, and survives a crash at any point (a page done twice only repeats conditional writes).
A definition changed mid-way bumps ``revision``; a step working from the old revision stops.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from nudge.model import Person, Segment
from nudge.model.base import condition_failed
from nudge.model.people import PROFILE_SHARDS
from nudge.segments.context import StoredPerson
from nudge.segments.evaluation import apply
from nudge.stream_changes.changes import Change

PAGE_SIZE = 100


def on_change(change: Change) -> None:
    """The evaluate function's consumer: a segment definition created or changed (re)starts or moves
    its backfill; other changes are not the backfill's."""
    if isinstance(change.item, Segment) and isinstance(change.new, Segment):
        on_definition_change(change.old if isinstance(change.old, Segment) else None, change.new)


def on_definition_change(old: Segment | None, new: Segment) -> None:
    """Run the next step when a definition's backfill position moved (or it was just created)."""
    if new.state != "building" or new.type != "dynamic":
        return
    if (
        old is not None
        and (old.backfill_shard, old.backfill_cursor, old.revision)
        == (new.backfill_shard, new.backfill_cursor, new.revision)
        and old.state == new.state
    ):
        return  # a rename or a redelivered record: the position did not move
    step(new)


def step(segment: Segment) -> bool:
    """Evaluate one page; True when the backfill finished with it."""
    workspace_id = segment.workspace_id
    shard = int(segment.backfill_shard or 0)
    start = json.loads(segment.backfill_cursor) if segment.backfill_cursor else None
    page = Person.by_workspace.query(
        f"{workspace_id}#{shard}", limit=PAGE_SIZE, last_evaluated_key=start, page_size=PAGE_SIZE
    )
    keys = [(item.pk, item.sk) for item in page]
    for person in Person.batch_get(keys):
        if isinstance(person, Person):
            apply(StoredPerson(workspace_id, person), segment)
    cursor = page.last_evaluated_key
    if cursor is None:
        shard += 1
    finished = shard >= PROFILE_SHARDS
    _advance(segment, shard, cursor, finished)
    return finished


def _advance(segment: Segment, shard: int, cursor: dict[str, Any] | None, finished: bool) -> None:
    progress = 100 if finished else int(100 * shard / PROFILE_SHARDS)
    actions: list[Action] = [
        Segment.backfill_shard.set(shard),
        Segment.progress.set(progress),
        Segment.state.set("finished" if finished else "building"),
    ]
    actions.append(
        Segment.backfill_cursor.set(json.dumps(cursor)) if cursor else Segment.backfill_cursor.remove()
    )
    try:
        segment.update(actions=actions, condition=Segment.revision == segment.revision)
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
        # The definition changed under us: its own backfill restarted from the beginning.
