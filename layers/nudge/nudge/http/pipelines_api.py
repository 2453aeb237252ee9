"""The Pipelines API's routes (``POST /v1/identify|track|page|screen|group|alias|batch``), served by the
Track API's function and authenticated with a workspace's Pipelines key (see ``functions/track``).

Answers are Customer.io's: ``200 {"success": true}``; errors ``{"code", "message"}``, the body its official
clients parse (the Python client reads ``code`` and ``message`` from any answer but a 200). A body too
large, not gzip or not JSON is a 400 always. A call that breaks a rule is dropped with its reason logged
and the request still answers 200, unless the request says ``X-Strict-Mode: 1``: then it is a 400 naming
each refused call (``errors[]``, by ``index`` in a batch). Either way the other calls of a batch are
applied: one bad call never blocks the rest. A storage outage during any call is a 503 once the rest
have been tried (every call is safe to send again: see ``nudge.http.pipelines_calls``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from nudge import clock
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.http import edge, pipelines_calls
from nudge.http.pipelines_calls import MAX_BATCH_BYTES, MAX_CALL_BYTES, Arrival
from nudge.http.routing import Request, Response, Route
from nudge.tracking.limits import parse_json_object

logger = Logger(service="track", child=True)  # the Track function's logger (functions/track)
OK: dict[str, Any] = {"success": True}
BATCH = "/v1/batch"


def error_body(code: str, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return body


def _gunzip(data: bytes, limit: int) -> bytes:
    """A gzip body, inflated to at most ``limit + 1`` bytes: a small bomb cannot grow past the limit in
    memory, and one byte more is enough to refuse it as too long."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise InvalidRequest("request body is not valid gzip", field="body", reason="encoding") from exc
    if len(out) <= limit and not inflater.eof:
        raise InvalidRequest("request body is not valid gzip", field="body", reason="encoding")
    return out


def _body(req: Request, limit: int) -> dict[str, Any]:
    raw = req.body
    encoding = req.headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip" and raw not in (None, "", b""):
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        raw = _gunzip(data, limit)
    elif encoding not in ("", "identity"):
        raise InvalidRequest("content-encoding must be gzip or none", field="content-encoding")
    return parse_json_object(raw, limit=limit)


def _strict(req: Request) -> bool:
    return req.headers.get("x-strict-mode", "").strip() == "1"


def _refused(status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None) -> Response:
    return status, error_body(code, message, errors)


def _apply_all(req: Request, calls: list[Any], arrival: Arrival, call_type: str | None) -> Response:
    """Every call, each on its own: a refused or failed one is recorded and the next one applied."""
    refused: list[dict[str, Any]] = []
    outage: Exception | None = None
    for index, call in enumerate(calls):
        try:
            pipelines_calls.apply(req.workspace_id, call, arrival, call_type)
        except InvalidRequest as exc:
            refused.append({"index": index, "code": exc.reason, "field": exc.field, "message": str(exc)})
        except (NotFound, Conflict) as exc:
            code = "not_found" if isinstance(exc, NotFound) else "conflict"
            refused.append({"index": index, "code": code, "field": "", "message": str(exc)})
        except (ClientError, BotoCoreError, PynamoDBException) as exc:
            if not edge.refused_by_storage(exc):
                outage = exc  # answered once the rest have been tried
                continue
            refused.append(
                {
                    "index": index,
                    "code": "invalid",
                    "field": "",
                    "message": "call contains data that cannot be stored",
                }
            )
    for failure in refused:
        # The reason, never the data: calls carry people's traits.
        logger.info(
            "pipelines call dropped" if not _strict(req) else "pipelines call refused",
            index=failure["index"],
            reason=failure["code"],
            field=failure["field"],
        )
    if outage is not None:
        raise outage  # the Track function's edge answers 503 with Retry-After; the client sends it again
    if refused and _strict(req):
        message = refused[0]["message"] if len(refused) == 1 else f"{len(refused)} calls were refused"
        return _refused(400, "invalid_request", message, refused)
    return 200, OK


def _single(call_type: str) -> Callable[[Request], Response]:
    def run(req: Request) -> Response:
        try:
            call = _body(req, MAX_CALL_BYTES)
            arrival = Arrival(float(clock.now()))
        except InvalidRequest as exc:
            return _refused(400, exc.reason, str(exc))
        return _apply_all(req, [call], arrival, call_type)

    run.__name__ = f"pipelines_{call_type}"
    return run


def _batch(req: Request) -> Response:
    try:
        body = _body(req, MAX_BATCH_BYTES)
        calls = body.get("batch")
        if not isinstance(calls, list):
            raise InvalidRequest("batch must be a list of calls", field="batch", reason="type")
        arrival = Arrival(float(clock.now()), pipelines_calls.parse_time(body.get("sentAt"), "sentAt"))
    except InvalidRequest as exc:
        return _refused(400, exc.reason, str(exc))
    return _apply_all(req, calls, arrival, None)


_COMMON: dict[str, Any] = {
    "userId": {"type": "string", "maxLength": 150},
    "anonymousId": {"type": "string", "maxLength": 150},
    "messageId": {
        "type": "string",
        "maxLength": 150,
        "description": "a track, page or screen call's event id",
    },
    "timestamp": {"type": "string", "format": "date-time"},
    "sentAt": {"type": "string", "format": "date-time"},
    "context": {"type": "object"},
    "integrations": {"type": "object"},
}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "identify": {"traits": {"type": "object"}},
    "track": {"event": {"type": "string", "maxLength": 100}, "properties": {"type": "object"}},
    "page": {"name": {"type": "string"}, "category": {"type": "string"}, "properties": {"type": "object"}},
    "screen": {"name": {"type": "string"}, "category": {"type": "string"}, "properties": {"type": "object"}},
    "group": {
        "groupId": {"type": "string", "maxLength": 150},
        "traits": {
            "type": "object",
            "properties": {
                "objectTypeId": {
                    "type": "string",
                    "description": f"default {pipelines_calls.DEFAULT_OBJECT_TYPE_ID}",
                },
                "relationshipAttributes": {"type": "object"},
            },
        },
    },
    "alias": {"previousId": {"type": "string", "maxLength": 150}},
}
_REQUIRED = {"track": ["event"], "group": ["groupId"], "alias": ["previousId", "userId"]}


def call_schema(call_type: str, *, typed: bool = False) -> dict[str, Any]:
    properties = {**_COMMON, **_SCHEMAS[call_type]}
    if typed:
        properties["type"] = {"type": "string", "enum": [call_type]}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    required = [*_REQUIRED.get(call_type, []), *(["type"] if typed else [])]
    if required:
        schema["required"] = required
    return schema


_RESPONSES = {
    "400": "Too large, not JSON or not gzip; with X-Strict-Mode: 1 also any refused call ({code, message, "
    "errors[]})",
    "401": "No or wrong Pipelines key ({code, message})",
}
_SUMMARIES = {
    "identify": "Pipelines: identify a person (userId, traits)",
    "track": "Pipelines: track an event (event, properties)",
    "page": "Pipelines: a page view (an event of type page named by its URL)",
    "screen": "Pipelines: a screen view (an event of type screen)",
    "group": "Pipelines: an object (groupId, traits.objectTypeId) and the person's relationship to it",
    "alias": "Pipelines: merge previousId's person and anonymous events into userId",
}
ROUTES: tuple[Route, ...] = (
    *(
        Route(
            "POST",
            f"/v1/{call_type}",
            _single(call_type),
            summary,
            body_limit=MAX_CALL_BYTES,
            body_schema=call_schema(call_type),
            responses=_RESPONSES,
        )
        for call_type, summary in _SUMMARIES.items()
    ),
    Route(
        "POST",
        BATCH,
        _batch,
        "Pipelines: up to 500 KB of calls of any type (32 KB each); a refused call never blocks the rest",
        body_limit=MAX_BATCH_BYTES,
        body_schema={
            "type": "object",
            "required": ["batch"],
            "properties": {
                "batch": {
                    "type": "array",
                    "items": {"oneOf": [call_schema(t, typed=True) for t in pipelines_calls.CALL_TYPES]},
                },
                "sentAt": {"type": "string", "format": "date-time"},
                "context": {"type": "object"},
            },
        },
        responses=_RESPONSES,
    ),
)
PATHS = frozenset(route.path for route in ROUTES)
