"""API keys over the App API: list, create, rotate and revoke the workspace's App and Track keys.

Admin only (``Role.ADMIN`` on every route): an app key acts as admin, so any app key of a workspace
manages all of that workspace's keys, and none of another's (their ids are looked up under the caller's
workspace: 404); a console user needs the admin role. A secret is in the answer that issued it only, and
is never logged.
"""

from __future__ import annotations

from urllib.parse import unquote

from nudge import workspaces
from nudge.http import edge
from nudge.http.app_api import bodies
from nudge.http.routing import Request, Response, Route
from nudge.roles import Role
from nudge.tracking.limits import parse_json_object

KEY = "/v1/api_keys/{key_id}"
_BODY_LIMIT = 10_000


# POST /v1/api_keys, read by the checks ``workspaces.create_key`` makes, in its order.
CREATE_BODY = bodies.body(
    {
        "type": bodies.checked(workspaces.check_key_type, workspaces.KEY_TYPE_SCHEMA),
        "name": bodies.checked(workspaces.check_key_name, workspaces.KEY_NAME_SCHEMA),
    },
    required=("type", "name"),
)


def _key_id(req: Request) -> str:
    return unquote(req.params["key_id"])


def _list(req: Request) -> Response:
    return 200, {"api_keys": [k.to_api() for k in workspaces.list_keys(req.workspace_id)]}


def _create(req: Request) -> Response:
    body = CREATE_BODY.read(parse_json_object(req.body, limit=_BODY_LIMIT), ())
    created = workspaces.create_key(req.workspace_id, body["type"], body["name"])
    return 200, {"api_key": created.to_api()}


def _rotate(req: Request) -> Response:
    return 200, {"api_key": workspaces.rotate_key(req.workspace_id, _key_id(req)).to_api()}


def _revoke(req: Request) -> Response:
    # A request without a console user was authenticated by this very header, so it holds a bearer key;
    # a console session uses no key, so it may revoke any.
    in_use = edge.bearer_token(req.headers.get("authorization")) if req.user is None else None
    workspaces.revoke_key(req.workspace_id, _key_id(req), in_use=in_use)
    return 204, None


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/v1/api_keys",
        _list,
        "List the workspace's App and Track keys (admin; no secrets)",
        role=Role.ADMIN,
    ),
    Route(
        "POST",
        "/v1/api_keys",
        _create,
        "Create an App or Track key (admin); its secret is in this answer only",
        body_limit=_BODY_LIMIT,
        body_schema=CREATE_BODY.schema({}),
        role=Role.ADMIN,
    ),
    Route(
        "POST",
        KEY + "/rotate",
        _rotate,
        "Replace a key's secret (admin); the old secret stops working at once, the new one is shown once",
        role=Role.ADMIN,
    ),
    Route(
        "DELETE",
        KEY,
        _revoke,
        "Revoke a key (admin); the key this request uses cannot be revoked (409)",
        role=Role.ADMIN,
    ),
)
