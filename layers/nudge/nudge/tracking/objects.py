"""Objects (companies, accounts, ...) and their relationships to people."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock, ids
from nudge.errors import InvalidRequest, NotFound
from nudge.model import ObjectLookup, Relationship, TrackedObject
from nudge.model.base import plain
from nudge.model.keys import LOOKUP, object_key, object_lookup_pk, object_pk, person_pk, relationship_sk
from nudge.tracking.identifiers import PersonRef, from_map
from nudge.tracking.limits import MAX_OBJECT_ATTRIBUTES_BYTES, byte_len
from nudge.tracking.object_refs import (
    ObjectLinks,
    ObjectRef,
    check_object_attributes,
    relationship_list,
)


def resolve(workspace_id: str, ref: ObjectRef | str) -> ObjectRef | None:
    if isinstance(ref, ObjectRef):
        return ref
    try:
        found = ObjectLookup.get(object_lookup_pk(workspace_id, ref), LOOKUP)
    except DoesNotExist:
        return None
    return ObjectRef(found.object_type_id, found.object_id)


def identify_object(
    workspace_id: str, ref: ObjectRef | str, changes: dict[str, Any], *, anonymous: bool = False
) -> ObjectRef:
    """Create or update an object with ``changes`` (read by ``check_object_attributes``). An attribute set
    to null or "" is removed; the limit on the object's size is checked once they are applied."""
    resolved = resolve(workspace_id, ref)
    if resolved is None:
        raise NotFound(f"object {ref} not found")
    now = clock.now()
    try:
        obj = TrackedObject.get(
            object_pk(workspace_id, resolved.object_type_id, resolved.object_id),
            "object",
            consistent_read=True,
        )
        current = plain(obj.attributes)
    except DoesNotExist:
        obj = _new_object(workspace_id, resolved, anonymous, now)
        current = {}
    for name, value in changes.items():
        if value is None or value == "":
            current.pop(name, None)
        else:
            current[name] = value
    obj.attributes = current
    obj.updated_at = now
    if byte_len(current) > MAX_OBJECT_ATTRIBUTES_BYTES:
        raise InvalidRequest(
            f"object attributes cannot be longer than {MAX_OBJECT_ATTRIBUTES_BYTES} bytes",
            field="attributes",
            reason="too_long",
        )
    obj.save()
    return resolved


def _new_object(workspace_id: str, ref: ObjectRef, anonymous: bool, now: int) -> TrackedObject:
    cio_object_id = ids.object_id()
    ObjectLookup(
        object_lookup_pk(workspace_id, cio_object_id),
        LOOKUP,
        workspace_id=workspace_id,
        object_type_id=ref.object_type_id,
        object_id=ref.object_id,
    ).save()
    return TrackedObject(
        object_pk(workspace_id, ref.object_type_id, ref.object_id),
        "object",
        workspace_id=workspace_id,
        object_type_id=ref.object_type_id,
        object_id=ref.object_id,
        cio_object_id=cio_object_id,
        anonymous=anonymous,
        created_at=now,
        updated_at=now,
    )


def ensure_object(workspace_id: str, ref: ObjectRef | str) -> ObjectRef:
    """Relating to an object that does not exist yet creates it, as Customer.io does."""
    resolved = resolve(workspace_id, ref)
    if resolved is None:
        raise NotFound(f"object {ref} not found")
    key = object_pk(workspace_id, resolved.object_type_id, resolved.object_id)
    try:
        TrackedObject.get(key, "object")
    except DoesNotExist:
        _new_object(workspace_id, resolved, False, clock.now()).save(
            condition=TrackedObject.pk.does_not_exist()
        )
    return resolved


def delete_object(workspace_id: str, ref: ObjectRef | str) -> None:
    resolved = resolve(workspace_id, ref)
    if resolved is None:
        return
    key = object_pk(workspace_id, resolved.object_type_id, resolved.object_id)
    try:
        obj = TrackedObject.get(key, "object")
    except DoesNotExist:
        return
    with Relationship.batch_write() as batch:
        for rel in Relationship.query(key, Relationship.sk.startswith("rel#")):
            batch.delete(rel)
    ObjectLookup(object_lookup_pk(workspace_id, obj.cio_object_id), LOOKUP).delete()
    obj.delete()


def relate(workspace_id: str, cio_id: str, ref: ObjectRef, attributes: dict[str, Any]) -> None:
    """``attributes`` as read with the relationship (``ObjectLinks``, ``parse_people_links``)."""
    Relationship(
        object_pk(workspace_id, ref.object_type_id, ref.object_id),
        relationship_sk(cio_id),
        workspace_id=workspace_id,
        object_type_id=ref.object_type_id,
        object_id=ref.object_id,
        cio_id=cio_id,
        person_pk=person_pk(workspace_id, cio_id),
        object_key=object_key(ref.object_type_id, ref.object_id),
        attributes=attributes,
        updated_at=clock.now(),
    ).save()


def unrelate(workspace_id: str, cio_id: str, ref: ObjectRef) -> None:
    Relationship(object_pk(workspace_id, ref.object_type_id, ref.object_id), relationship_sk(cio_id)).delete()


def link_person(workspace_id: str, cio_id: str, links: ObjectLinks) -> None:
    """Relate one person to objects (creating objects that do not exist yet), or unrelate them."""
    for ref, attributes in links.entries:
        if links.add:
            relate(workspace_id, cio_id, ensure_object(workspace_id, ref), attributes)
        else:
            found = resolve(workspace_id, ref)
            if found is not None:
                unrelate(workspace_id, cio_id, found)


PeopleLinks = list[tuple[PersonRef, dict[str, Any]]]


def parse_people_links(relationships: Any, field: str = "cio_relationships") -> PeopleLinks:
    """An object's relationships: entries ``{identifiers: {id|email|cio_id}, relationship_attributes?}``."""
    return [
        (
            from_map(r.get("identifiers"), f"{field}[{i}].identifiers", allow_phone=False),
            check_object_attributes(
                r.get("relationship_attributes"), f"{field}[{i}].relationship_attributes"
            ),
        )
        for i, r in enumerate(relationship_list(relationships, field))
    ]


def get_object(workspace_id: str, ref: ObjectRef) -> dict[str, Any] | None:
    try:
        obj = TrackedObject.get(object_pk(workspace_id, ref.object_type_id, ref.object_id), "object")
    except DoesNotExist:
        return None
    related = [r.cio_id for r in Relationship.query(obj.pk, Relationship.sk.startswith("rel#"))]
    return {
        "object_type_id": obj.object_type_id,
        "object_id": obj.object_id,
        "cio_object_id": obj.cio_object_id,
        "attributes": plain(obj.attributes),
        "people": related,
    }
