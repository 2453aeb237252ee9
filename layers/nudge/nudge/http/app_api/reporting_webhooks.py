"""``/v1/reporting_webhooks``: Customer.io's App API for reporting webhooks, admin only (a webhook
receives people's identifiers and addresses, and with ``with_content`` their messages)."""

from __future__ import annotations

from nudge.errors import NotFound
from nudge.http.routing import Request, Response, Route
from nudge.reporting import store
from nudge.roles import Role
from nudge.tracking.limits import parse_json_object

_BODY_LIMIT = 64_000


def _webhook_id(req: Request) -> int:
    raw = req.params["webhook_id"]
    if not raw.isdigit() or len(raw) > 10:
        raise NotFound(f"reporting webhook {raw} not found")
    return int(raw)


def _list(req: Request) -> Response:
    return 200, {"reporting_webhooks": [w.to_api() for w in store.list_webhooks(req.workspace_id)]}


def _create(req: Request) -> Response:
    webhook, key = store.create(req.workspace_id, parse_json_object(req.body, limit=_BODY_LIMIT))
    return 200, {**webhook.to_api(), "signing_key": key}


def _get(req: Request) -> Response:
    return 200, store.load(req.workspace_id, _webhook_id(req)).to_api()


def _update(req: Request) -> Response:
    body = parse_json_object(req.body, limit=_BODY_LIMIT)
    return 200, store.update(req.workspace_id, _webhook_id(req), body).to_api()


def _delete(req: Request) -> Response:
    store.delete(req.workspace_id, _webhook_id(req))
    return 204, None


WEBHOOK = "/v1/reporting_webhooks/{webhook_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/reporting_webhooks", _list, "List the reporting webhooks (admin)", role=Role.ADMIN),
    Route(
        "POST",
        "/v1/reporting_webhooks",
        _create,
        "Create a reporting webhook (admin); its signing_key is in this answer only",
        body_limit=_BODY_LIMIT,
        body_schema=store.CREATE_BODY.schema({}),
        role=Role.ADMIN,
    ),
    Route("GET", WEBHOOK, _get, "Get a reporting webhook (admin)", role=Role.ADMIN),
    Route(
        "PUT",
        WEBHOOK,
        _update,
        "Update a reporting webhook (admin; fields left out keep their values)",
        body_limit=_BODY_LIMIT,
        body_schema=store.UPDATE_BODY.schema({}),
        role=Role.ADMIN,
    ),
    Route("DELETE", WEBHOOK, _delete, "Delete a reporting webhook (admin)", role=Role.ADMIN),
)
