"""The Track API's route table (see ``nudge.http.routing``): errors answer in Customer.io's Track shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.http import track_operations
from nudge.http.pipelines_api import ROUTES as PIPELINES_ROUTES
from nudge.http.routing import Request, Response, Route
from nudge.http.track_delivery import ROUTES as DELIVERY_ROUTES
from nudge.tracking import devices, events, merge, people, segments
from nudge.tracking.identifiers import from_path
from nudge.tracking.identify_request import IDENTIFY_SCHEMA, IdentifyRequest
from nudge.tracking.limits import MAX_V1_BODY_BYTES, MAX_V2_BATCH_BYTES, MAX_V2_OP_BYTES, parse_json_object

OK: dict[str, Any] = {}


def _identify(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    ref = from_path(req.params["identifier"])
    people.identify(req.workspace_id, ref, IdentifyRequest.parse(body, ref))
    return 200, OK


def _delete(req: Request) -> Response:
    people.delete(req.workspace_id, from_path(req.params["identifier"]))
    return 200, OK


def _add_device(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    if "device" not in body:
        raise InvalidRequest("device must be present", field="device")
    device = devices.DeviceRequest.parse(body["device"], id_field="id")
    devices.add_device(req.workspace_id, from_path(req.params["identifier"]), device)
    return 200, OK


def _delete_device(req: Request) -> Response:
    devices.delete_device(
        req.workspace_id, from_path(req.params["identifier"]), unquote(req.params["device_id"])
    )
    return 200, OK


def _suppress(req: Request) -> Response:
    people.suppress(req.workspace_id, from_path(req.params["identifier"]))
    return 200, OK


def _unsuppress(req: Request) -> Response:
    people.unsuppress(req.workspace_id, from_path(req.params["identifier"]))
    return 200, OK


def _event(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    events.track(req.workspace_id, from_path(req.params["identifier"]), events.EventRequest.parse(body))
    return 200, OK


def _anonymous_event(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    events.track_anonymous(req.workspace_id, *events.parse_anonymous(body))
    return 200, OK


def _merge(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    merge.merge(req.workspace_id, *merge.parse(body))
    return 200, OK


def _segment_membership(add: bool) -> Callable[[Request], Response]:
    def run(req: Request) -> Response:
        body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
        segment_id = unquote(req.params["segment_id"])
        id_type = req.query.get("id_type")
        if add:
            segments.add_customers(req.workspace_id, segment_id, body, id_type)
        else:
            segments.remove_customers(req.workspace_id, segment_id, body, id_type)
        return 200, OK

    return run


def _region(req: Request) -> Response:
    return 200, {"url": req.base_url, "region": "us", "environment_id": req.workspace_id}


def _entity(req: Request) -> Response:
    op = parse_json_object(req.body, limit=MAX_V2_OP_BYTES, what="operation")
    track_operations.apply(req.workspace_id, op)
    return 200, OK


def _batch(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V2_BATCH_BYTES, what="batch")
    ops = body.get("batch")
    if not isinstance(ops, list):
        raise InvalidRequest("batch must be a list of operations", field="batch")
    # Every operation is read before any runs (reading writes nothing), so a batch's identifies can be
    # read up front; each one's errors are still answered at its index, in order.
    read = [_read(op) for op in ops]
    runnable = [operation for operation in read if isinstance(operation, track_operations.Operation)]
    errors: list[dict[str, Any]] = []
    with track_operations.batched_reads(req.workspace_id, runnable):
        for index, operation in enumerate(read):
            try:
                if isinstance(operation, InvalidRequest):
                    raise operation
                track_operations.run(req.workspace_id, operation)
            except InvalidRequest as exc:
                errors.extend(
                    {"batch_index": index, "reason": exc.reason, "field": exc.field, "message": message}
                    for message in exc.messages
                )
            except (NotFound, Conflict) as exc:
                reason = "not_found" if isinstance(exc, NotFound) else "conflict"
                errors.append(
                    {"batch_index": index, "reason": reason, "field": "identifiers", "message": str(exc)}
                )
    if errors:
        return 207, {"errors": errors}
    return 200, OK


def _read(op: Any) -> track_operations.Operation | InvalidRequest:
    """One operation of a batch read, or why it is refused (answered when its turn comes)."""
    try:
        return track_operations.read(op)
    except InvalidRequest as exc:
        return exc


_DEVICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["device"],
    "properties": {"device": devices.DeviceRequest.schema("id")},
}

CUSTOMER = "/api/v1/customers/{identifier}"
ROUTES: tuple[Route, ...] = (
    Route("PUT", CUSTOMER, _identify, "Identify: create or update a person", body_schema=IDENTIFY_SCHEMA),
    Route("DELETE", CUSTOMER, _delete, "Delete a person"),
    Route("PUT", CUSTOMER + "/devices", _add_device, "Add or update a device", body_schema=_DEVICE_SCHEMA),
    Route("DELETE", CUSTOMER + "/devices/{device_id}", _delete_device, "Delete a device"),
    Route("POST", CUSTOMER + "/suppress", _suppress, "Delete a person and block the identifier"),
    Route("POST", CUSTOMER + "/unsuppress", _unsuppress, "Unblock a suppressed identifier"),
    Route(
        "POST", CUSTOMER + "/events", _event, "Track an event for a person", body_schema=events.EVENT_SCHEMA
    ),
    Route(
        "POST",
        "/api/v1/events",
        _anonymous_event,
        "Track an anonymous event",
        body_schema=events.ANONYMOUS_EVENT_SCHEMA,
    ),
    Route("POST", "/api/v1/merge_customers", _merge, "Merge two people", body_schema=merge.MERGE_SCHEMA),
    Route(
        "POST",
        "/api/v1/segments/{segment_id}/add_customers",
        _segment_membership(add=True),
        "Add people to a manual segment",
        body_schema=segments.IDS_SCHEMA,
    ),
    Route(
        "POST",
        "/api/v1/segments/{segment_id}/remove_customers",
        _segment_membership(add=False),
        "Remove people from a manual segment",
        body_schema=segments.IDS_SCHEMA,
    ),
    Route("GET", "/api/v1/accounts/region", _region, "The workspace's region and Track URL"),
    Route(
        "POST",
        "/api/v2/entity",
        _entity,
        "Apply one v2 operation",
        body_limit=MAX_V2_OP_BYTES,
        body_schema=track_operations.OP_SCHEMA,
    ),
    Route(
        "POST",
        "/api/v2/batch",
        _batch,
        "Apply up to 500 KB of v2 operations",
        body_limit=MAX_V2_BATCH_BYTES,
        body_schema={
            "type": "object",
            "required": ["batch"],
            "properties": {"batch": {"type": "array", "items": track_operations.OP_SCHEMA}},
        },
        responses={"207": "Some operations failed: errors[] names each by batch_index"},
    ),
    *DELIVERY_ROUTES,
    # Customer.io's Pipelines API (Segment's spec), on the same host: its own key (functions/track).
    *PIPELINES_ROUTES,
)
