"""The App API's campaign routes: definitions (create, read, update, delete), their states (activate,
pause, resume, archive) and the definition's JSON Schema.

Bodies are ``{"campaign": {...}}`` both ways. A definition error answers 400 with the JSON pointer of
the problem under the body (``/campaign/workflow/blocks/b3/next``).

``GET /v1/campaigns/schema`` and ``GET /v1/campaigns/{campaign_id}`` overlap, which every router here
resolves the same way: API Gateway's HTTP API prefers the more specific (literal) route, Powertools
tries static routes before dynamic ones, and the local gateway tries routes in table order (the schema
first). Campaign ids are hex, so none is called "schema".

The campaign modules are imported by the operations, where it pays: with delivery's route table the
same way, they would add about 240 ms, a third, to every App API cold start (bench/README.md, "Import
structure"), and most App API invocations touch no campaign at all. Only ``definition`` (the
definition's schema, read once, documents the request bodies) is imported with the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from nudge.campaigns import definition
from nudge.campaigns.trigger_request import MAX_BODY_BYTES, TRIGGER_BODY_SCHEMA
from nudge.errors import InvalidRequest
from nudge.http.routing import Request, Response, Route
from nudge.tracking.limits import parse_json_object

BODY_LIMIT = 400_000
# The answer's fields; the state machine's ARNs stay internal.
PUBLIC_FIELDS = (
    "id",
    "name",
    "state",
    "version",
    "trigger",
    "filters",
    "workflow",
    "settings",
    "created_at",
    "updated_at",
    "activated_at",
)

Operation = Callable[[Request], Response]


def _definition_errors(operation: Operation) -> Operation:
    """Answer a definition error as a 400 naming the field under ``campaign``."""

    def run(req: Request) -> Response:
        from nudge.campaigns.definition import DefinitionError

        try:
            return operation(req)
        except DefinitionError as exc:
            field = f"campaign.{exc.path}" if exc.path else "campaign"
            raise InvalidRequest(f"{field}: {exc.message}", field=field, reason=exc.rule) from exc

    return run


def _campaign_id(req: Request) -> str:
    return unquote(req.params["campaign_id"])


def _body(req: Request) -> dict[str, Any]:
    campaign = parse_json_object(req.body, limit=BODY_LIMIT).get("campaign")
    if not isinstance(campaign, dict):
        raise InvalidRequest("campaign must be an object", field="campaign")
    return campaign


def _public(campaign: dict[str, Any]) -> dict[str, Any]:
    return {key: campaign[key] for key in PUBLIC_FIELDS}


def _list(req: Request) -> Response:
    from nudge.campaigns import store

    return 200, {"campaigns": [_public(c) for c in store.list_campaigns(req.workspace_id)]}


@_definition_errors
def _create(req: Request) -> Response:
    from nudge.campaigns import store

    return 200, {"campaign": _public(store.create(req.workspace_id, _body(req)))}


def _get(req: Request) -> Response:
    from nudge.campaigns import store

    return 200, {"campaign": _public(store.get(req.workspace_id, _campaign_id(req)))}


@_definition_errors
def _update(req: Request) -> Response:
    from nudge.campaigns import store

    return 200, {"campaign": _public(store.update(req.workspace_id, _campaign_id(req), _body(req)))}


def _delete(req: Request) -> Response:
    from nudge.campaigns import store

    store.delete(req.workspace_id, _campaign_id(req))
    return 204, None


def _transition(action: str) -> Operation:
    """activate, pause, resume or archive (going live validates again, so errors may name fields)."""

    @_definition_errors
    def run(req: Request) -> Response:
        from nudge.campaigns import lifecycle

        change: Callable[[str, str], dict[str, Any]] = getattr(lifecycle, action)
        return 200, {"campaign": _public(change(req.workspace_id, _campaign_id(req)))}

    return run


def _schema(req: Request) -> Response:  # noqa: ARG001 (the router calls every route handler with the request)
    from nudge.campaigns import definition

    return 200, definition.schema()


def _metrics(req: Request) -> Response:
    from nudge.campaigns import metrics, store

    campaign_id = unquote(req.params["campaign_id"])
    store.get(req.workspace_id, campaign_id)  # 404 for another workspace's or an unknown campaign
    return 200, {"metrics": metrics.read(req.workspace_id, campaign_id)}


def _envelope(campaign: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["campaign"], "properties": {"campaign": campaign}}


# The definition's own schema (``definition.schema``, also served at /v1/campaigns/schema); an update
# takes any of its parts and keeps the rest, so nothing in it is required there (a resource of its own:
# its id tells the two apart where the OpenAPI document declares each once).
CREATE_BODY_SCHEMA = _envelope(definition.schema())
UPDATE_BODY_SCHEMA = _envelope(
    {**definition.schema(), "$id": "urn:nudge:campaign-definition-update", "required": []}
)

CAMPAIGN = "/v1/campaigns/{campaign_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/campaigns", _list, "List campaigns"),
    Route(
        "POST",
        "/v1/campaigns",
        _create,
        "Create a campaign (a draft) from its definition",
        body_schema=CREATE_BODY_SCHEMA,
    ),
    # Before the {campaign_id} routes: the local gateway matches in table order.
    Route("GET", "/v1/campaigns/schema", _schema, "The campaign definition's JSON Schema"),
    Route("GET", CAMPAIGN, _get, "Get a campaign"),
    Route(
        "PUT",
        CAMPAIGN,
        _update,
        "Change a draft or paused campaign's definition",
        body_schema=UPDATE_BODY_SCHEMA,
    ),
    Route("DELETE", CAMPAIGN, _delete, "Delete a draft or archived campaign"),
    Route("POST", CAMPAIGN + "/activate", _transition("activate"), "Activate a draft campaign"),
    Route("POST", CAMPAIGN + "/pause", _transition("pause"), "Pause an active campaign"),
    Route("POST", CAMPAIGN + "/resume", _transition("resume"), "Resume a paused campaign"),
    Route("POST", CAMPAIGN + "/archive", _transition("archive"), "Archive a campaign for good"),
    Route(
        "GET",
        CAMPAIGN + "/metrics",
        _metrics,
        "Entered, in progress, exited, converted; per block sent, opened...",
    ),
)


# --- API-triggered broadcasts (``nudge.campaigns.broadcasts``, imported when used: it brings the
# segment evaluator and the execution machinery, which most App API calls never need) ----------------

BROADCAST_BODY_LIMIT = MAX_BODY_BYTES


def _broadcast_ids(req: Request) -> tuple[str, str]:
    return unquote(req.params["campaign_id"]), unquote(req.params.get("trigger_id", ""))


def _trigger_broadcast(req: Request) -> Response:
    from nudge.campaigns import broadcasts

    campaign_id, _ = _broadcast_ids(req)
    body = parse_json_object(req.body, limit=BROADCAST_BODY_LIMIT)
    return 200, {"id": broadcasts.trigger(req.workspace_id, campaign_id, body)}


def _broadcast_status(req: Request) -> Response:
    from nudge.campaigns import broadcasts

    campaign_id, trigger_id = _broadcast_ids(req)
    return 200, broadcasts.status_view(req.workspace_id, campaign_id, trigger_id)


def _broadcast_errors(req: Request) -> Response:
    from nudge.campaigns import broadcasts

    campaign_id, trigger_id = _broadcast_ids(req)
    return 200, {"errors": broadcasts.errors_view(req.workspace_id, campaign_id, trigger_id), "next": ""}


TRIGGERS = "/v1/campaigns/{campaign_id}/triggers"
BROADCAST_ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        TRIGGERS,
        _trigger_broadcast,
        "Trigger an API-triggered broadcast",
        body_limit=BROADCAST_BODY_LIMIT,
        body_schema=TRIGGER_BODY_SCHEMA,
    ),
    Route("GET", TRIGGERS + "/{trigger_id}", _broadcast_status, "An API-triggered broadcast's status"),
    Route(
        "GET",
        TRIGGERS + "/{trigger_id}/errors",
        _broadcast_errors,
        "An API-triggered broadcast's per-recipient errors",
    ),
)
