"""Metering from the streams: profiles and objects created and deleted, as they happen.

Inside ``batch()`` (the evaluate handler opens one around each stream batch) the creations of the batch
are metered together at its end, ``metering.MAX_GROUP`` to a transaction, instead of one transaction
per record: importing people creates them by the hundred. A deletion, or a second change of an
identifier already waiting, first meters what waits, so each identifier's changes keep their order.
When a group's transaction is cancelled (a redelivered record in it, or a concurrent change), its
creations are metered one by one, which tells a repeat from a race: exactly once either way. A creation
that still fails is reported by the record's sequence number, and the handler reports that record as a
batch item failure, so the stream delivers it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from pynamodb.exceptions import PynamoDBException

from nudge.billing import metering
from nudge.model import Person, TrackedObject
from nudge.stream_changes.changes import Change

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Creation:
    workspace_id: str
    subject: metering.Subject
    sequence_number: str


@dataclass
class PendingCreations:
    """The creations of one stream batch waiting to be metered, and the records whose metering failed."""

    waiting: list[_Creation] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def holds(self, workspace_id: str, subject: metering.Subject) -> bool:
        return any(
            (c.workspace_id, c.subject.kind, c.subject.key) == (workspace_id, subject.kind, subject.key)
            or c.subject.incarnation == subject.incarnation
            for c in self.waiting
        )

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        by_workspace: dict[str, list[_Creation]] = {}
        for creation in waiting:
            by_workspace.setdefault(creation.workspace_id, []).append(creation)
        for workspace_id, creations in by_workspace.items():
            for start in range(0, len(creations), metering.MAX_GROUP):
                group = creations[start : start + metering.MAX_GROUP]
                try:
                    metering.created_many(workspace_id, [c.subject for c in group])
                except PynamoDBException:
                    # Cancelled (a repeat or a race) or failed: nothing of the group was written.
                    self._one_by_one(workspace_id, group)

    def _one_by_one(self, workspace_id: str, group: list[_Creation]) -> None:
        for creation in group:
            try:
                metering.created(workspace_id, creation.subject)
            except (PynamoDBException, RuntimeError):
                # Reported, not lost: the handler fails this record and the stream delivers it again.
                log.exception("metering a creation failed", extra={"workspace_id": workspace_id})
                self.failed.append(creation.sequence_number)


_pending: ContextVar[PendingCreations | None] = ContextVar("nudge_pending_creations", default=None)


@contextmanager
def batch() -> Iterator[PendingCreations]:
    """Meter the creations of the changes consumed inside together; read ``failed`` after ``flush()``."""
    pending = PendingCreations()
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def _person_subject(person: Person) -> metering.Subject:
    # The identifier a person is known by: re-created with the same one, they are the same person.
    key = person.person_id or (person.email or "").lower() or f"cio:{person.cio_id}"
    return metering.Subject("people", key, person.cio_id)


def _object_subject(obj: TrackedObject) -> metering.Subject:
    return metering.Subject("objects", f"{obj.object_type_id}#{obj.object_id}", obj.cio_object_id)


def on_change(change: Change) -> None:
    if change.event_name == "MODIFY":
        return
    item = change.item
    if isinstance(item, Person):
        subject = _person_subject(item)
    elif isinstance(item, TrackedObject) and not item.anonymous:
        subject = _object_subject(item)  # anonymous objects are not billed until identified
    else:
        return
    pending = _pending.get()
    if pending is not None and pending.holds(change.workspace_id, subject):
        pending.flush()  # this identifier's earlier change first
    if change.event_name == "INSERT":
        if pending is None:
            metering.created(change.workspace_id, subject)
        else:
            pending.waiting.append(_Creation(change.workspace_id, subject, change.sequence_number))
    else:
        if pending is not None:
            pending.flush()  # a deletion may be of an incarnation created in this batch
        metering.deleted(change.workspace_id, subject)
