"""The workspace's console members and their roles (``/v1/members``, admin only). Adding someone who has
no console user yet creates one: its temporary password is in that answer only (the user replaces it
at their first sign-in)."""

from __future__ import annotations

from urllib.parse import unquote

from nudge.console_auth import members
from nudge.http.app_api import bodies
from nudge.http.routing import Request, Response, Route
from nudge.roles import ROLE_SCHEMA, Role, parse_role
from nudge.tracking.limits import parse_json_object

MEMBER = "/v1/members/{email}"
_BODY_LIMIT = 10_000


_ROLE = bodies.checked(parse_role, ROLE_SCHEMA)
# POST /v1/members and PUT /v1/members/{email}, read by the checks ``members.add`` and
# ``members.change_role`` make, in their order.
ADD_BODY = bodies.body(
    {"email": bodies.checked(members.normalize_email, members.EMAIL_SCHEMA), "role": _ROLE},
    required=("email", "role"),
)
CHANGE_BODY = bodies.body({"role": _ROLE}, required=("role",))


def _email(req: Request) -> str:
    return unquote(req.params["email"])


def _list(req: Request) -> Response:
    return 200, {"members": [m.to_api() for m in members.list_members(req.workspace_id)]}


def _add(req: Request) -> Response:
    body = ADD_BODY.read(parse_json_object(req.body, limit=_BODY_LIMIT), ())
    added = members.add(req.workspace_id, body["email"], body["role"])
    return 200, {"member": added.member.to_api(), "password": added.password}


def _change(req: Request) -> Response:
    role = CHANGE_BODY.read(parse_json_object(req.body, limit=_BODY_LIMIT), ())["role"]
    return 200, {"member": members.change_role(req.workspace_id, _email(req), role).to_api()}


def _remove(req: Request) -> Response:
    members.remove(req.workspace_id, _email(req))
    return 204, None


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/members", _list, "The workspace's console members and roles (admin)", role=Role.ADMIN),
    Route(
        "POST",
        "/v1/members",
        _add,
        "Add a member or change their role (admin); a new user's temporary password is in this answer only",
        body_limit=_BODY_LIMIT,
        body_schema=ADD_BODY.schema({}),
        role=Role.ADMIN,
    ),
    Route(
        "PUT",
        MEMBER,
        _change,
        "Change a member's role (admin)",
        body_limit=_BODY_LIMIT,
        body_schema=CHANGE_BODY.schema({}),
        role=Role.ADMIN,
    ),
    Route("DELETE", MEMBER, _remove, "Remove a member from the workspace (admin)", role=Role.ADMIN),
)
