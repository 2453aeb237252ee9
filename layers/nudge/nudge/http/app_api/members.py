"""The workspace's console members and their roles (``/v1/members``, admin only). Adding someone who has
no console user yet creates one: its temporary password is in that answer only (the user replaces it
at their first sign-in)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.console_auth import members
from nudge.http.routing import Request, Response, Route
from nudge.roles import LABELS, Role
from nudge.tracking.limits import parse_json_object

MEMBER = "/v1/members/{email}"
_BODY_LIMIT = 10_000


_ROLE_SCHEMA: dict[str, Any] = {"enum": list(LABELS)}
ADD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["email", "role"],
    "properties": {"email": members.EMAIL_SCHEMA, "role": _ROLE_SCHEMA},
}
CHANGE_SCHEMA: dict[str, Any] = {"type": "object", "required": ["role"], "properties": {"role": _ROLE_SCHEMA}}


def _email(req: Request) -> str:
    return unquote(req.params["email"])


def _list(req: Request) -> Response:
    return 200, {"members": [m.to_api() for m in members.list_members(req.workspace_id)]}


def _add(req: Request) -> Response:
    body = parse_json_object(req.body, limit=_BODY_LIMIT)
    added = members.add(req.workspace_id, body.get("email"), body.get("role"))
    return 200, {"member": added.member.to_api(), "password": added.password}


def _change(req: Request) -> Response:
    body = parse_json_object(req.body, limit=_BODY_LIMIT)
    return 200, {"member": members.change_role(req.workspace_id, _email(req), body.get("role")).to_api()}


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
        body_schema=ADD_SCHEMA,
        role=Role.ADMIN,
    ),
    Route(
        "PUT",
        MEMBER,
        _change,
        "Change a member's role (admin)",
        body_limit=_BODY_LIMIT,
        body_schema=CHANGE_SCHEMA,
        role=Role.ADMIN,
    ),
    Route("DELETE", MEMBER, _remove, "Remove a member from the workspace (admin)", role=Role.ADMIN),
)
