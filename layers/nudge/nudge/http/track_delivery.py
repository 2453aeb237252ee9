"""The Track API's delivery routes: metrics reported by clients and SDKs (Customer.io's ``/metrics`` and
legacy push events), and the in-app inbox an SDK reads. All are authenticated like the rest of the Track
API, so a workspace can only touch its own deliveries."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge import clock
from nudge.delivery import states
from nudge.errors import InvalidRequest, NotFound
from nudge.http.routing import Request, Response, Route
from nudge.tracking import people
from nudge.tracking.identifiers import from_path
from nudge.tracking.limits import MAX_V1_BODY_BYTES, check_timestamp, parse_json_object

OK: dict[str, Any] = {}
# Legacy push events name the metric "event"; Customer.io's SDKs send these three.
PUSH_EVENTS = (states.OPENED, states.DELIVERED, states.CONVERTED)


def _delivery_id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest("delivery_id must be present", field="delivery_id")
    return value


def apply_metric(workspace_id: str, delivery_id: Any, metric: Any, timestamp: Any) -> None:
    # Imported here (and the inbox below), where it pays: feedback and the inbox add 25 to 45 ms, about a
    # tenth, to every Track function cold start, and only the metric and in-app routes use them.
    from nudge.delivery import feedback

    if not isinstance(metric, str):
        raise InvalidRequest("metric must be present", field="metric")
    at = check_timestamp(timestamp) or clock.now()
    feedback.client_metric(workspace_id, _delivery_id(delivery_id), metric, at)


def _metrics(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    apply_metric(req.workspace_id, body.get("delivery_id"), body.get("metric"), body.get("timestamp"))
    return 200, OK


def _push_event(req: Request) -> Response:
    body = parse_json_object(req.body, limit=MAX_V1_BODY_BYTES)
    event = body.get("event")
    if event not in PUSH_EVENTS:
        raise InvalidRequest(f"event must be one of {', '.join(PUSH_EVENTS)}", field="event")
    apply_metric(req.workspace_id, body.get("delivery_id"), event, body.get("timestamp"))
    return 200, OK


def _person(req: Request) -> str:
    person = people.load(req.workspace_id, from_path(req.params["identifier"]))
    if person is None:
        raise NotFound("person not found")
    return person.cio_id


def _in_app_messages(req: Request) -> Response:
    from nudge.delivery import inbox

    return 200, {"messages": inbox.messages(req.workspace_id, _person(req))}


def _in_app_action(req: Request) -> Response:
    from nudge.delivery import inbox

    inbox.mark(req.workspace_id, _person(req), unquote(req.params["delivery_id"]), req.params["action"])
    return 200, OK


_METRIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["delivery_id", "metric"],
    "properties": {
        "delivery_id": {"type": "string"},
        "metric": {"type": "string"},
        "timestamp": {"type": "integer"},
    },
}
_PUSH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["delivery_id", "event"],
    "properties": {
        "delivery_id": {"type": "string"},
        "event": {"type": "string", "enum": list(PUSH_EVENTS)},
        "device_id": {"type": "string"},
        "timestamp": {"type": "integer"},
    },
}
IN_APP = "/api/v1/customers/{identifier}/in_app_messages"
ROUTES: tuple[Route, ...] = (
    Route("POST", "/api/v1/metrics", _metrics, "Report a delivery metric", body_schema=_METRIC_SCHEMA),
    Route("POST", "/api/v1/push/events", _push_event, "Report a push metric", body_schema=_PUSH_SCHEMA),
    Route(
        "POST", "/push/events", _push_event, "Report a push metric (legacy path)", body_schema=_PUSH_SCHEMA
    ),
    Route("GET", IN_APP, _in_app_messages, "A person's in-app messages (not dismissed), newest first"),
    Route(
        "POST",
        IN_APP + "/{delivery_id}/{action}",
        _in_app_action,
        "Mark an in-app message opened or dismissed",
    ),
)
