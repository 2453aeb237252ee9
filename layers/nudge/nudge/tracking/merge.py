"""``merge_customers``: fold a secondary person into a primary one, then delete the secondary.

The primary gains the attributes it lacks, the secondary's identifiers where it has none of that kind,
and the secondary's events, devices, manual segment memberships and relationships. Every copy is keyed
so that a retried merge rewrites the same items, and the secondary is deleted last.
"""

from __future__ import annotations

from typing import Any

from nudge import clock
from nudge.errors import InvalidRequest, NotFound
from nudge.model import Device, EventItem, IdentifierLookup, Membership, Person, Relationship
from nudge.model.base import plain
from nudge.model.keys import LOOKUP, device_sk, lookup_pk, member_sk, relationship_sk
from nudge.model.segments import memberships_of
from nudge.tracking import people
from nudge.tracking.anonymous import merge_anonymous
from nudge.tracking.identifiers import PersonRef, from_map, identifiers_schema
from nudge.tracking.identify_request import IdentifyRequest

_SIDES = ("primary", "secondary")  # each an identifier map, read by ``from_map`` (no phone)
MERGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(_SIDES),
    "properties": dict.fromkeys(_SIDES, identifiers_schema(allow_phone=False)),
}


def parse(body: dict[str, Any]) -> tuple[PersonRef, PersonRef]:
    primary, secondary = (from_map(body.get(side), side, allow_phone=False) for side in _SIDES)
    return primary, secondary


def merge(workspace_id: str, primary_ref: PersonRef, secondary_ref: PersonRef) -> None:
    primary = people.load(workspace_id, primary_ref)
    if primary is None:
        raise NotFound(f"primary person {primary_ref} not found")
    secondary = people.load(workspace_id, secondary_ref)
    if secondary is None or secondary.cio_id == primary.cio_id:
        return  # nothing to merge: already merged, or the same person
    _move_dependents(workspace_id, secondary, primary)
    _fold_profile(secondary, primary)
    people.delete_person(workspace_id, secondary)
    _take_identifiers(workspace_id, secondary, primary_ref)


def _move_dependents(workspace_id: str, secondary: Person, primary: Person) -> None:
    target = primary.pk
    with EventItem.batch_write() as batch:
        for event in EventItem.query(secondary.pk):
            event.pk = target
            event.cio_id = primary.cio_id
            batch.save(event)
    with Device.batch_write() as batch:
        for device in Device.query(secondary.pk, Device.sk.startswith("device#")):
            IdentifierLookup(
                lookup_pk(workspace_id, "device", device.device_id),
                LOOKUP,
                workspace_id=workspace_id,
                cio_id=primary.cio_id,
            ).save()
            batch.save(
                Device(
                    target,
                    device_sk(device.device_id),
                    workspace_id=workspace_id,
                    cio_id=primary.cio_id,
                    device_id=device.device_id,
                    platform=device.platform,
                    last_used=device.last_used,
                    attributes=plain(device.attributes),
                    updated_at=device.updated_at,
                )
            )
    with Membership.batch_write() as batch:
        for member in memberships_of(secondary.pk):
            batch.save(
                Membership(
                    member.pk,
                    member_sk(primary.cio_id),
                    workspace_id=workspace_id,
                    segment_id=member.segment_id,
                    cio_id=primary.cio_id,
                    person_pk=target,
                    entered_at=member.entered_at,
                )
            )
    with Relationship.batch_write() as batch:
        for rel in Relationship.by_person.query(secondary.pk):
            if not isinstance(rel, Relationship):
                continue  # the index holds relationships only; the check narrows the type
            batch.save(
                Relationship(
                    rel.pk,
                    relationship_sk(primary.cio_id),
                    workspace_id=workspace_id,
                    object_type_id=rel.object_type_id,
                    object_id=rel.object_id,
                    cio_id=primary.cio_id,
                    person_pk=target,
                    object_key=rel.object_key,
                    attributes=plain(rel.attributes),
                    updated_at=rel.updated_at,
                )
            )


def _fold_profile(secondary: Person, primary_seed: Person) -> None:
    for _ in range(people.MAX_ATTEMPTS):
        primary = Person.get(primary_seed.pk, primary_seed.sk, consistent_read=True)
        attributes = plain(primary.attributes)
        for name, value in plain(secondary.attributes).items():
            attributes.setdefault(name, value)
        stamps = plain(secondary.attribute_timestamps)
        stamps.update(plain(primary.attribute_timestamps))
        primary.attributes = attributes
        primary.attribute_timestamps = stamps
        primary.anonymous_ids = sorted({*(primary.anonymous_ids or []), *(secondary.anonymous_ids or [])})
        primary.created_at = min(primary.created_at, secondary.created_at)
        primary.updated_at = clock.now()
        if people.save_if_unchanged(primary):
            return
    raise InvalidRequest("primary person is being changed concurrently; retry", field="primary")


def _take_identifiers(workspace_id: str, secondary: Person, primary_ref: PersonRef) -> None:
    """After the secondary is gone its id, email and anonymous ids are free: the primary gains those
    of a kind it lacks, through identify, which creates the lookups under their uniqueness condition."""
    primary = people.require(workspace_id, primary_ref)
    ref = PersonRef("cio_id", primary.cio_id)
    new_id = secondary.person_id if secondary.person_id and not primary.person_id else None
    email = secondary.email if secondary.email and not primary.email else None
    if new_id or email:  # stored identifiers: read and checked when they were first identified
        people.identify(workspace_id, ref, IdentifyRequest(new_id=new_id, email=email, update_only=True))
    for anonymous_id in secondary.anonymous_ids or []:
        merge_anonymous(workspace_id, primary.cio_id, anonymous_id)
