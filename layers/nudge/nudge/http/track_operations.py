"""Track API v2 operations (``/api/v2/entity`` and each entry of ``/api/v2/batch``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from nudge.errors import InvalidRequest
from nudge.http.track_delivery import apply_metric
from nudge.tracking import devices, events, merge, objects, people
from nudge.tracking.identifiers import PersonRef, from_map
from nudge.tracking.limits import MAX_V2_OP_BYTES, TIMESTAMP_SCHEMA, byte_len, check_timestamp
from nudge.tracking.object_refs import RELATIONSHIPS_SCHEMA, ObjectLinks, ObjectRef, object_ref


def _delivery_event(workspace_id: str, op: dict[str, Any]) -> None:
    """``{type: delivery, action: event, identifiers: {id: <delivery id>}, name: <metric>}``."""
    identifiers = op.get("identifiers")
    delivery_id = identifiers.get("id") if isinstance(identifiers, dict) else None
    if not isinstance(delivery_id, str) or not delivery_id:
        raise InvalidRequest("identifiers.id must be the delivery id", field="identifiers.id")
    apply_metric(workspace_id, delivery_id, op.get("name"), op.get("timestamp"))


def apply(workspace_id: str, op: Any) -> None:
    if not isinstance(op, dict):
        raise InvalidRequest("operation must be an object", field="")
    if byte_len(op) > MAX_V2_OP_BYTES:
        raise InvalidRequest(
            f"operation cannot be longer than {MAX_V2_OP_BYTES} bytes", field="", reason="too_long"
        )
    kind = op.get("type")
    action = op.get("action")
    if not isinstance(kind, str) or kind not in _HANDLERS:  # a list or object is not hashable
        raise InvalidRequest("type must be one of person, object, delivery", field="type")
    handler = _HANDLERS[kind].get(action) if isinstance(action, str) else None
    if handler is None:
        raise InvalidRequest(
            f"unknown action '{action}' for type {kind}; expected one of "
            f"{', '.join(sorted(_HANDLERS[kind]))}",
            field="action",
        )
    if (kind, action) != _PREFETCHING:
        # Only identify's reads are known safe with answers read before the batch (see people.prefetched).
        people.forget_prefetched()
    handler(workspace_id, op)


_PREFETCHING = ("person", "identify")


@contextmanager
def batched_reads(workspace_id: str, ops: list[Any]) -> Iterator[None]:
    """Around applying a batch: the identifier lookups and suppressions its person identifies read,
    read up front in a few BatchGetItem calls (an import of new people otherwise makes two or more
    GetItem calls per person). Operations that fail to parse here are refused when applied."""
    refs: list[PersonRef] = []
    for op in ops:
        if not isinstance(op, dict) or (op.get("type"), op.get("action")) != _PREFETCHING:
            continue
        try:
            ref = _person(op)
        except InvalidRequest:
            continue
        refs += people.identify_refs(
            ref, _attributes(op) if isinstance(op.get("attributes") or {}, dict) else {}
        )
    with people.prefetched(workspace_id, refs):
        yield


def _attributes(op: dict[str, Any]) -> dict[str, Any]:
    attributes = op.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidRequest("attributes must be an object", field="attributes")
    return attributes


def _person(op: dict[str, Any]) -> PersonRef:
    return from_map(op.get("identifiers"), "identifiers")


def _person_identify(ws: str, op: dict[str, Any]) -> None:
    body = dict(_attributes(op))
    timestamp = check_timestamp(op.get("timestamp"))
    if timestamp is not None:
        body["_timestamp"] = timestamp
    if op.get("cio_relationships") is not None:
        body["cio_relationships"] = op["cio_relationships"]
    people.identify(ws, _person(op), body)


def _person_event(event_type: str) -> Callable[[str, dict[str, Any]], None]:
    def run(ws: str, op: dict[str, Any]) -> None:
        req = events.EventRequest.parse(op, data_key="attributes", event_type=event_type)
        events.track(ws, _person(op), req)

    return run


def _person_relationships(add: bool) -> Callable[[str, dict[str, Any]], None]:
    def run(ws: str, op: dict[str, Any]) -> None:
        ref = _person(op)
        links = ObjectLinks.parse(op.get("cio_relationships"), add=add)
        cio = people.find_or_create(ws, ref) if add else people.resolve_cio_id(ws, ref)
        if cio is not None:
            objects.link_person(ws, cio, links)

    return run


def _add_device(ws: str, op: dict[str, Any]) -> None:
    devices.add_device(ws, _person(op), devices.DeviceRequest.parse(op.get("device"), id_field="token"))


def _delete_device(ws: str, op: dict[str, Any]) -> None:
    device = op.get("device")
    token = device.get("token") if isinstance(device, dict) else None
    if not isinstance(token, str) or not token:
        raise InvalidRequest("device token must be present", field="device.token")
    devices.delete_device(ws, _person(op), token)


def _merge(ws: str, op: dict[str, Any]) -> None:
    merge.merge(ws, *merge.parse(op))


def _object_identify(anonymous: bool) -> Callable[[str, dict[str, Any]], None]:
    def run(ws: str, op: dict[str, Any]) -> None:
        ref = object_ref(op.get("identifiers"))
        if anonymous and not isinstance(ref, ObjectRef):
            raise InvalidRequest("identifiers must have object_type_id and anonymous_id", field="identifiers")
        links = objects.parse_people_links(op["cio_relationships"]) if op.get("cio_relationships") else []
        resolved = objects.identify_object(ws, ref, op.get("attributes"), anonymous=anonymous)
        if links:
            people.link_object(ws, resolved, links, add=True)

    return run


def _object_relationships(add: bool) -> Callable[[str, dict[str, Any]], None]:
    def run(ws: str, op: dict[str, Any]) -> None:
        ref = object_ref(op.get("identifiers"))
        people.link_object(ws, ref, objects.parse_people_links(op.get("cio_relationships")), add=add)

    return run


def _object_delete(ws: str, op: dict[str, Any]) -> None:
    objects.delete_object(ws, object_ref(op.get("identifiers")))


_Handler = Callable[[str, dict[str, Any]], None]
_HANDLERS: dict[str, dict[str, _Handler]] = {
    "person": {
        "identify": _person_identify,
        "delete": lambda ws, op: people.delete(ws, _person(op)),
        "event": _person_event("event"),
        "page": _person_event("page"),
        "screen": _person_event("screen"),
        "add_relationships": _person_relationships(add=True),
        "delete_relationships": _person_relationships(add=False),
        "add_device": _add_device,
        "delete_device": _delete_device,
        "merge": _merge,
        "suppress": lambda ws, op: people.suppress(ws, _person(op)),
        "unsuppress": lambda ws, op: people.unsuppress(ws, _person(op)),
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


# An operation as documented, written from what reads it: its type and action from the handler table,
# each other member from the reader's own declaration (a person's identifiers, an object's and a
# delivery's differ, so ``identifiers`` is any object here; each handler checks its own).
_ACTIONS = sorted({action for actions in _HANDLERS.values() for action in actions})
OP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "action"],
    "properties": {
        "type": {"type": "string", "enum": list(_HANDLERS)},
        "action": {"type": "string", "enum": _ACTIONS},
        "identifiers": {"type": "object"},
        "attributes": {"type": "object"},
        "name": {"type": "string"},
        "timestamp": TIMESTAMP_SCHEMA,
        "cio_relationships": RELATIONSHIPS_SCHEMA,
        "device": devices.DeviceRequest.schema("token"),
    },
}
