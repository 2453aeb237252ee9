"""Objects (companies, accounts, ...) and their relationships to people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock, ids
from nudge.errors import InvalidRequest, NotFound
from nudge.model import ObjectLookup, Relationship, TrackedObject
from nudge.model.base import plain
from nudge.model.keys import LOOKUP, object_key, object_lookup_pk, object_pk, person_pk, relationship_sk
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef, from_map
from nudge.tracking.limits import MAX_OBJECT_ATTRIBUTES_BYTES, byte_len, check_attributes, check_identifier

MAX_RELATIONSHIPS = 100


@dataclass(frozen=True)
class ObjectRef:
    object_type_id: str
    object_id: str


def object_ref(identifiers: Any, field: str = "identifiers") -> ObjectRef | str:
    """``{object_type_id, object_id}`` (or ``anonymous_id``), or ``{cio_object_id}`` returned as a str."""
    if not isinstance(identifiers, dict):
        raise InvalidRequest(f"{field} must be an object", field=field)
    if "cio_object_id" in identifiers:
        return check_identifier(identifiers["cio_object_id"], f"{field}.cio_object_id")
    type_id = identifiers.get("object_type_id")
    if type_id is None:
        raise InvalidRequest(f"{field}.object_type_id must be present", field=f"{field}.object_type_id")
    object_id = identifiers.get("object_id", identifiers.get("anonymous_id"))
    return ObjectRef(
        check_identifier(type_id, f"{field}.object_type_id"),
        check_identifier(object_id, f"{field}.object_id"),
    )


def _resolve(workspace_id: str, ref: ObjectRef | str) -> ObjectRef | None:
    if isinstance(ref, ObjectRef):
        return ref
    try:
        found = ObjectLookup.get(object_lookup_pk(workspace_id, ref), LOOKUP)
    except DoesNotExist:
        return None
    return ObjectRef(found.object_type_id, found.object_id)


def _check_object_attributes(attributes: Any) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise InvalidRequest("attributes must be an object", field="attributes")
    check_attributes(attributes)
    if byte_len(attributes) > MAX_OBJECT_ATTRIBUTES_BYTES:
        raise InvalidRequest(
            f"object attributes cannot be longer than {MAX_OBJECT_ATTRIBUTES_BYTES} bytes",
            field="attributes",
            reason="too_long",
        )
    return attributes


def identify_object(
    workspace_id: str, ref: ObjectRef | str, attributes: Any, *, anonymous: bool = False
) -> ObjectRef:
    """Create or update an object. An attribute set to null or "" is removed."""
    changes = _check_object_attributes(attributes)
    resolved = _resolve(workspace_id, ref)
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


def _ensure_object(workspace_id: str, ref: ObjectRef | str) -> ObjectRef:
    """Relating to an object that does not exist yet creates it, as Customer.io does."""
    resolved = _resolve(workspace_id, ref)
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
    resolved = _resolve(workspace_id, ref)
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


def relate(workspace_id: str, cio_id: str, ref: ObjectRef, attributes: Any) -> None:
    attrs = _check_object_attributes(attributes)
    Relationship(
        object_pk(workspace_id, ref.object_type_id, ref.object_id),
        relationship_sk(cio_id),
        workspace_id=workspace_id,
        object_type_id=ref.object_type_id,
        object_id=ref.object_id,
        cio_id=cio_id,
        person_pk=person_pk(workspace_id, cio_id),
        object_key=object_key(ref.object_type_id, ref.object_id),
        attributes=attrs,
        updated_at=clock.now(),
    ).save()


def unrelate(workspace_id: str, cio_id: str, ref: ObjectRef) -> None:
    Relationship(object_pk(workspace_id, ref.object_type_id, ref.object_id), relationship_sk(cio_id)).delete()


def _relationship_list(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise InvalidRequest(f"{field} must be a list of relationships", field=field)
    if len(value) > MAX_RELATIONSHIPS:
        raise InvalidRequest(f"{field} cannot have more than {MAX_RELATIONSHIPS} relationships", field=field)
    return value


def person_relationships(
    workspace_id: str, cio_id: str, relationships: Any, *, add: bool, field: str = "cio_relationships"
) -> None:
    """Relate one person to objects: each entry is ``{identifiers:{object_type_id, object_id}, ...}``."""
    entries = _relationship_list(relationships, field)
    refs = [(object_ref(r.get("identifiers"), f"{field}[{i}].identifiers"), r) for i, r in enumerate(entries)]
    for ref, entry in refs:
        if add:
            resolved = _ensure_object(workspace_id, ref)
            relate(workspace_id, cio_id, resolved, entry.get("relationship_attributes"))
        else:
            found = _resolve(workspace_id, ref)
            if found is not None:
                unrelate(workspace_id, cio_id, found)


def apply_person_relationships_v1(workspace_id: str, cio_id: str, body: Any) -> None:
    """v1 identify's ``cio_relationships: {action, relationships: [...]}``."""
    if isinstance(body, list):  # v2 identify passes the list itself: add
        person_relationships(workspace_id, cio_id, body, add=True)
        return
    if not isinstance(body, dict):
        raise InvalidRequest("cio_relationships must be an object", field="cio_relationships")
    action = body.get("action", "add_relationships")
    if action not in ("add_relationships", "delete_relationships"):
        raise InvalidRequest(
            "cio_relationships.action must be add_relationships or delete_relationships",
            field="cio_relationships.action",
        )
    person_relationships(
        workspace_id,
        cio_id,
        body.get("relationships", []),
        add=action == "add_relationships",
        field="cio_relationships.relationships",
    )


def object_relationships(
    workspace_id: str,
    ref: ObjectRef | str,
    relationships: Any,
    *,
    add: bool,
    field: str = "cio_relationships",
) -> None:
    """Relate one object to people: each entry is ``{identifiers:{id|email|cio_id}, ...}``."""
    entries = _relationship_list(relationships, field)
    targets: list[tuple[PersonRef, dict[str, Any]]] = [
        (from_map(r.get("identifiers"), f"{field}[{i}].identifiers", allow_phone=False), r)
        for i, r in enumerate(entries)
    ]
    resolved = _ensure_object(workspace_id, ref) if add else _resolve(workspace_id, ref)
    if resolved is None:
        return
    for person_ref, entry in targets:
        if add:
            cio = people.find_or_create(workspace_id, person_ref)
            if cio is not None:
                relate(workspace_id, cio, resolved, entry.get("relationship_attributes"))
        else:
            cio = people.resolve_cio_id(workspace_id, person_ref)
            if cio is not None:
                unrelate(workspace_id, cio, resolved)


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
