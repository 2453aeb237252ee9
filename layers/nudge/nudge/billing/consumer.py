"""Metering from the streams: profiles and objects created and deleted, as they happen."""

from __future__ import annotations

from nudge.billing import metering
from nudge.evaluation.changes import Change
from nudge.model import Person, TrackedObject


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
    if change.event_name == "INSERT":
        metering.created(change.workspace_id, subject)
    else:
        metering.deleted(change.workspace_id, subject)
