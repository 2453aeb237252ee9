"""Stream-driven segment evaluation, and the re-checks' sweep.

A change names the dependency keys it touched (attributes that changed, an event's name, devices, an
object type, a segment whose membership moved). Only the dynamic segments indexed under those keys are
evaluated, for that one person. Membership is written with conditions, so a redelivered record changes
nothing and every enter (INSERT) and exit (REMOVE) of a membership item happens exactly once; the
segments table's stream carries those transitions to whoever consumes them, this module included
(segments built on segments).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pynamodb.exceptions import DeleteError, PutError

from nudge import batch_reads, clock
from nudge.model import (
    Device,
    EventItem,
    Membership,
    Person,
    Relationship,
    Segment,
    TrackedObject,
)
from nudge.model import segments as segment_items
from nudge.model.base import condition_failed, plain
from nudge.model.keys import member_sk, person_pk, segment_pk
from nudge.segments import dependents, rechecks
from nudge.segments.conditions import evaluate
from nudge.segments.context import StoredPerson
from nudge.segments.definitions import DYNAMIC, condition_of, load_many
from nudge.stream_changes.changes import Change

log = logging.getLogger(__name__)
# Profile fields outside ``attributes`` -> the names conditions read them by (``segments.context``).
_FIELD_NAMES = {
    "person_id": "id",
    "email": "email",
    "created_at": "created_at",
    "unsubscribed": "unsubscribed",
    "subscription_preferences": "cio_subscription_preferences",
}


def on_change(change: Change) -> None:
    """The evaluate function's consumer for every table it reads."""
    item = change.item
    if isinstance(item, Person):
        _person_changed(change)
    elif isinstance(item, Device):
        reevaluate(change.workspace_id, item.cio_id, {"device"})
    elif isinstance(item, EventItem):
        if change.event_name == "INSERT" and item.cio_id:
            reevaluate(change.workspace_id, item.cio_id, {f"event:{item.name}"})
    elif isinstance(item, Relationship):
        reevaluate(change.workspace_id, item.cio_id, {f"object:{item.object_type_id}"})
    elif isinstance(item, TrackedObject):
        if change.event_name != "REMOVE":
            for rel in Relationship.query(item.pk, Relationship.sk.startswith("rel#")):
                reevaluate(change.workspace_id, rel.cio_id, {f"object:{item.object_type_id}"})
    elif isinstance(item, Membership):
        reevaluate(change.workspace_id, item.cio_id, {f"segment:{item.segment_id}"})
    # A definition's change is the backfill's (``backfill.on_change``, subscribed beside this one).


def _person_changed(change: Change) -> None:
    if change.event_name == "REMOVE" or not isinstance(change.new, Person):
        return  # deleting a person deletes their memberships, whose removals are the exits
    new = change.new
    old = change.old if isinstance(change.old, Person) else None
    keys = {f"attr:{name}" for name in _changed_attributes(old, new)}
    if old is None:
        keys.add(dependents.NEW_PERSON)
    if keys:
        reevaluate(change.workspace_id, new.cio_id, keys, person=new)


def _changed_attributes(old: Person | None, new: Person) -> set[str]:
    before = plain(old.attributes) if old is not None else {}
    after = plain(new.attributes)
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    for field, name in _FIELD_NAMES.items():
        if old is None or _field(old, field) != _field(new, field):
            changed.add(name)
    return changed


def _field(person: Person, field: str) -> object:
    value = getattr(person, field)
    return plain(value) if field == "subscription_preferences" else value  # a map: compare its contents


def reevaluate(
    workspace_id: str, cio_id: str, keys: Iterable[str], *, person: Person | None = None
) -> list[tuple[str, bool]]:
    """Evaluate the segments depending on ``keys`` for one person; returns (segment id, member now)."""
    wanted = frozenset(keys)
    segment_ids = batch_reads.cached(
        ("dependents", workspace_id, wanted), lambda: frozenset(dependents.segments_for(workspace_id, wanted))
    )
    if not segment_ids:
        return []
    context = (
        StoredPerson(workspace_id, person) if person is not None else StoredPerson.load(workspace_id, cio_id)
    )
    if context is None:
        return []  # deleted meanwhile: their memberships went with them
    # Read for each record, not once per batch: a definition changed while the batch runs has its
    # backfill re-evaluate people concurrently, and a later record of this batch evaluated with the old
    # definition would undo that backfill's answer until the person's next change.
    segments = load_many(workspace_id, segment_ids)
    return [apply(context, segment) for segment in segments if segment.type == DYNAMIC]


def apply(context: StoredPerson, segment: Segment) -> tuple[str, bool]:
    """Evaluate one dynamic segment for one person, write the membership, schedule the next re-check."""
    condition = condition_of(segment)
    assert condition is not None  # dynamic segments always carry conditions
    outcome = evaluate(condition, context)
    segment_id = str(segment.segment_id)
    set_membership(context.workspace_id, segment_id, context.cio_id, outcome.matched)
    if outcome.recheck_at is not None:
        rechecks.schedule(context.workspace_id, context.cio_id, segment_id, outcome.recheck_at)
    return segment_id, outcome.matched


def sweep_rechecks(now: int | None = None) -> int:
    """Re-evaluate every re-check due up to ``now`` (the evaluate function's minutely sweep); returns how
    many ran."""
    ran = 0
    for due in rechecks.take_due(now):
        context = StoredPerson.load(due.workspace_id, due.cio_id)
        segments = load_many(due.workspace_id, [due.segment_id])
        if context is None or not segments:
            continue
        apply(context, segments[0])  # may schedule the following re-check
        ran += 1
    return ran


def set_membership(workspace_id: str, segment_id: str, cio_id: str, member: bool) -> bool:
    """Enter or leave; True when this call made the transition (a repeat is a no-op)."""
    item = Membership(
        segment_pk(workspace_id, segment_id),
        member_sk(cio_id),
        workspace_id=workspace_id,
        segment_id=segment_id,
        cio_id=cio_id,
        person_pk=person_pk(workspace_id, cio_id),
        entered_at=clock.now(),
    )
    try:
        if member:
            item.save(condition=Membership.pk.does_not_exist())
        else:
            item.delete(condition=Membership.pk.exists())
    except (PutError, DeleteError) as exc:
        if condition_failed(exc):
            return False
        raise
    log.info("segment %s", "entered" if member else "exited", extra={"segment_id": segment_id})
    return True


def membership_count(workspace_id: str, segment_id: str) -> int:
    return segment_items.member_count(workspace_id, segment_id)
