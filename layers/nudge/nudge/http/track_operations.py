"""Track API v2 operations (``/api/v2/entity`` and each entry of ``/api/v2/batch``): each one read and
checked at the edge into an :class:`Operation` (``read``), which the domain then applies (``run``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nudge.errors import InvalidRequest
from nudge.http.track_delivery import apply_metric
from nudge.tracking import devices, events, merge, objects, people
from nudge.tracking.identifiers import PersonRef, from_map
from nudge.tracking.identify_request import IdentifyRequest
from nudge.tracking.limits import MAX_V2_OP_BYTES, TIMESTAMP_SCHEMA, byte_len, check_timestamp
from nudge.tracking.object_refs import (
    RELATIONSHIPS_SCHEMA,
    ObjectLinks,
    ObjectRef,
    check_object_attributes,
    object_ref,
)


@dataclass(frozen=True)
class Operation:
    """A v2 operation read and checked at the edge: ``run`` applies it to a workspace. An identify's
    ``identify_refs`` (the identifiers it reads) let a batch read them up front; any other operation runs
    without answers read before it (see ``people.prefetched``)."""

    run: Callable[[str], object]  # what it answers is not used
    identify_refs: tuple[PersonRef, ...] | None = None


_Reader = Callable[[dict[str, Any]], Operation]  # reads an operation at the edge


def read(op: Any) -> Operation:
    """The operation's type, action and size checked, and what it carries read by its action's reader,
    before any table is read or written: every rule the request alone decides (but a delivery metric's
    name and timestamp, which ``apply_metric`` reads as it does for the v1 metric routes)."""
    if not isinstance(op, dict):
        raise InvalidRequest("operation must be an object", field="")
    if byte_len(op) > MAX_V2_OP_BYTES:
        raise InvalidRequest(
            f"operation cannot be longer than {MAX_V2_OP_BYTES} bytes", field="", reason="too_long"
        )
    kind = op.get("type")
    action = op.get("action")
    if not isinstance(kind, str) or kind not in _READERS:  # a list or object is not hashable
        raise InvalidRequest("type must be one of person, object, delivery", field="type")
    reader = _READERS[kind].get(action) if isinstance(action, str) else None
    if reader is None:
        expected = ", ".join(sorted(_READERS[kind]))
        given = "no action" if action is None else f"unknown action '{action}'"
        raise InvalidRequest(f"{given} for type {kind}; expected one of {expected}", field="action")
    return reader(op)


def run(workspace_id: str, operation: Operation) -> None:
    if operation.identify_refs is None:
        # Only identify's reads are known safe with answers read before the batch (see people.prefetched).
        people.forget_prefetched()
    operation.run(workspace_id)


def apply(workspace_id: str, op: Any) -> None:
    run(workspace_id, read(op))


@contextmanager
def batched_reads(workspace_id: str, operations: Iterable[Operation]) -> Iterator[None]:
    """Around applying a batch: the identifier lookups and suppressions its person identifies read,
    read up front in a few BatchGetItem calls (an import of new people otherwise makes two or more
    GetItem calls per person)."""
    refs = [ref for operation in operations for ref in operation.identify_refs or ()]
    with people.prefetched(workspace_id, refs):
        yield


def _attributes(op: dict[str, Any]) -> dict[str, Any]:
    attributes = op.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidRequest("attributes must be an object", field="attributes")
    return attributes


def _person(op: dict[str, Any]) -> PersonRef:
    return from_map(op.get("identifiers"), "identifiers")


def _person_identify(op: dict[str, Any]) -> Operation:
    body = dict(_attributes(op))
    timestamp = check_timestamp(op.get("timestamp"))
    if timestamp is not None:
        body["_timestamp"] = timestamp
    if op.get("cio_relationships") is not None:
        body["cio_relationships"] = op["cio_relationships"]
    ref = _person(op)
    req = IdentifyRequest.parse(body, ref)
    return Operation(lambda ws: people.identify(ws, ref, req), tuple(people.identify_refs(ref, req)))


def _person_event(event_type: str) -> _Reader:
    def read_event(op: dict[str, Any]) -> Operation:
        req = events.EventRequest.parse(op, data_key="attributes", event_type=event_type)
        ref = _person(op)
        return Operation(lambda ws: events.track(ws, ref, req))

    return read_event


def _to_person(change: Callable[[str, PersonRef], object]) -> _Reader:
    """An action on the person ``identifiers`` names, and nothing else (delete, suppress, unsuppress)."""

    def read_person(op: dict[str, Any]) -> Operation:
        ref = _person(op)
        return Operation(lambda ws: change(ws, ref))

    return read_person


def _person_relationships(add: bool) -> _Reader:
    def read_links(op: dict[str, Any]) -> Operation:
        ref = _person(op)
        links = ObjectLinks.parse(op.get("cio_relationships"), add=add)

        def link(ws: str) -> None:
            cio = people.find_or_create(ws, ref) if add else people.resolve_cio_id(ws, ref)
            if cio is not None:
                objects.link_person(ws, cio, links)

        return Operation(link)

    return read_links


def _add_device(op: dict[str, Any]) -> Operation:
    ref = _person(op)
    device = devices.DeviceRequest.parse(op.get("device"), id_field="token")
    return Operation(lambda ws: devices.add_device(ws, ref, device))


def _delete_device(op: dict[str, Any]) -> Operation:
    device = op.get("device")
    token = device.get("token") if isinstance(device, dict) else None
    if not isinstance(token, str) or not token:
        raise InvalidRequest("device token must be present", field="device.token")
    ref = _person(op)
    return Operation(lambda ws: devices.delete_device(ws, ref, token))


def _merge(op: dict[str, Any]) -> Operation:
    primary, secondary = merge.parse(op)
    return Operation(lambda ws: merge.merge(ws, primary, secondary))


def _object_identify(anonymous: bool) -> _Reader:
    def read_object(op: dict[str, Any]) -> Operation:
        ref = object_ref(op.get("identifiers"))
        if anonymous and not isinstance(ref, ObjectRef):
            raise InvalidRequest("identifiers must have object_type_id and anonymous_id", field="identifiers")
        links = objects.parse_people_links(op["cio_relationships"]) if op.get("cio_relationships") else []
        changes = check_object_attributes(op.get("attributes"))

        def identify(ws: str) -> None:
            resolved = objects.identify_object(ws, ref, changes, anonymous=anonymous)
            if links:
                people.link_object(ws, resolved, links, add=True)

        return Operation(identify)

    return read_object


def _object_relationships(add: bool) -> _Reader:
    def read_links(op: dict[str, Any]) -> Operation:
        ref = object_ref(op.get("identifiers"))
        links = objects.parse_people_links(op.get("cio_relationships"))
        return Operation(lambda ws: people.link_object(ws, ref, links, add=add))

    return read_links


def _object_delete(op: dict[str, Any]) -> Operation:
    ref = object_ref(op.get("identifiers"))
    return Operation(lambda ws: objects.delete_object(ws, ref))


def _delivery_event(op: dict[str, Any]) -> Operation:
    """``{type: delivery, action: event, identifiers: {id: <delivery id>}, name: <metric>}``: the metric
    and its timestamp are read by ``apply_metric``, as the v1 metric routes' are."""
    identifiers = op.get("identifiers")
    delivery_id = identifiers.get("id") if isinstance(identifiers, dict) else None
    if not isinstance(delivery_id, str) or not delivery_id:
        raise InvalidRequest("identifiers.id must be the delivery id", field="identifiers.id")
    return Operation(lambda ws: apply_metric(ws, delivery_id, op.get("name"), op.get("timestamp")))


_READERS: dict[str, dict[str, _Reader]] = {
    "person": {
        "identify": _person_identify,
        "delete": _to_person(people.delete),
        "event": _person_event("event"),
        "page": _person_event("page"),
        "screen": _person_event("screen"),
        "add_relationships": _person_relationships(add=True),
        "delete_relationships": _person_relationships(add=False),
        "add_device": _add_device,
        "delete_device": _delete_device,
        "merge": _merge,
        "suppress": _to_person(people.suppress),
        "unsuppress": _to_person(people.unsuppress),
    },
    "object": {
        "identify": _object_identify(anonymous=False),
        "identify_anonymous": _object_identify(anonymous=True),
        "delete": _object_delete,
        "add_relationships": _object_relationships(add=True),
        "delete_relationships": _object_relationships(add=False),
    },
    "delivery": {"event": _delivery_event},
}


_DELETED_DEVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["token"],
    "properties": {"token": {"type": "string", "minLength": 1}},
}


def _when_action(action: str, members: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"required": ["action"], "properties": {"action": {"const": action}}},
        "then": {"required": list(members), "properties": members},
    }


# An operation as documented, written from what reads it: its type and action from the handler table,
# each other member from the reader's own declaration (a person's identifiers, an object's and a
# delivery's differ, so ``identifiers`` is any object here; each handler checks its own).
_ACTIONS = sorted({action for actions in _READERS.values() for action in actions})
OP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "action"],
    "properties": {
        "type": {"type": "string", "enum": list(_READERS)},
        "action": {"type": "string", "enum": _ACTIONS},
        "identifiers": {"type": "object"},
        "attributes": {"type": ["object", "null"]},
        "name": {"type": "string"},
        "timestamp": {"anyOf": [TIMESTAMP_SCHEMA, {"type": "null"}]},
        "cio_relationships": RELATIONSHIPS_SCHEMA,
        "device": {"type": "object"},
    },
    # The device each action reads: add_device the whole device, delete_device only its token.
    "allOf": [
        _when_action("add_device", {"device": devices.DeviceRequest.schema("token")}),
        _when_action("delete_device", {"device": _DELETED_DEVICE_SCHEMA}),
    ],
}
