"""The console's sign-in, session and sign-out (``/v1/session``). These routes read their own credentials
(a password, or the session cookie) and name no workspace: the session lists the user's workspaces, and
each later request names the one it acts on in ``X-Nudge-Workspace``.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Path=/ and,
under TLS, Secure. The token never appears in a body or a log line.

The two routes that open a session read only ``application/json`` (415 otherwise): an HTML form on
another site can post only form or plain-text bodies without a CORS preflight, so it cannot sign a
browser in to an account of its choosing (login CSRF).
"""

from __future__ import annotations

from typing import Any

from nudge.console_auth import members, sessions
from nudge.errors import UnsupportedMediaType
from nudge.http.app_api import bodies
from nudge.http.routing import CookieAnswer, Request, Response, Route, SetCookie
from nudge.shapes import Shape
from nudge.tracking.limits import parse_json_object

_BODY_LIMIT = 10_000
_JSON = "application/json"


# POST /v1/session and /v1/session/password, read by the checks ``sessions.sign_in`` and
# ``sessions.set_first_password`` make, in their order (the latter then compares the two passwords).
_SIGN_IN_FIELDS = {
    "email": bodies.checked(members.normalize_email, members.EMAIL_SCHEMA),
    "password": bodies.checked(sessions.check_password, sessions.PASSWORD_SCHEMA),
}
SIGN_IN_BODY = bodies.body(_SIGN_IN_FIELDS, required=("email", "password"))
FIRST_PASSWORD_BODY = bodies.body(
    {
        **_SIGN_IN_FIELDS,
        "new_password": bodies.checked(
            sessions.check_password,
            {**sessions.PASSWORD_SCHEMA, "description": "differs from the temporary password"},
        ),
    },
    required=("email", "password", "new_password"),
)


def _secure(req: Request) -> bool:
    return req.base_url.startswith("https://")


def _json_body(req: Request, shape: Shape) -> dict[str, Any]:
    media_type = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != _JSON:
        raise UnsupportedMediaType(f"the body must be JSON sent as Content-Type: {_JSON}")
    body: dict[str, Any] = shape.read(parse_json_object(req.body, limit=_BODY_LIMIT), ())
    return body


def _opened(req: Request, started: sessions.Started) -> CookieAnswer:
    cookie = SetCookie(sessions.COOKIE, started.token, sessions.LIFETIME_SECONDS, _secure(req))
    return CookieAnswer(200, {"session": sessions.view(started.session)}, (cookie,))


def _sign_in(req: Request) -> CookieAnswer:
    body = _json_body(req, SIGN_IN_BODY)
    return _opened(req, sessions.sign_in(body["email"], body["password"]))


def _set_first_password(req: Request) -> CookieAnswer:
    body = _json_body(req, FIRST_PASSWORD_BODY)
    return _opened(req, sessions.set_first_password(body["email"], body["password"], body["new_password"]))


def _current(req: Request) -> Response:
    return 200, {"session": sessions.view(sessions.resume(req.cookies.get(sessions.COOKIE)))}


def _sign_out(req: Request) -> CookieAnswer:
    sessions.sign_out(req.cookies.get(sessions.COOKIE))
    return CookieAnswer(204, None, (SetCookie(sessions.COOKIE, "", 0, _secure(req)),))


SESSION = "/v1/session"
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        SESSION,
        _sign_in,
        "Sign in to the console with email and password; sets the session cookie (403 with the code "
        "new_password_required for a temporary password)",
        body_limit=_BODY_LIMIT,
        body_schema=SIGN_IN_BODY.schema({}),
        own_credentials=True,
    ),
    Route(
        "POST",
        SESSION + "/password",
        _set_first_password,
        "A new user's first sign-in: replace the temporary password with their own; sets the session cookie",
        body_limit=_BODY_LIMIT,
        body_schema=FIRST_PASSWORD_BODY.schema({}),
        own_credentials=True,
    ),
    Route(
        "GET", SESSION, _current, "The console session: the user and their workspaces", own_credentials=True
    ),
    Route(
        "DELETE",
        SESSION,
        _sign_out,
        "Sign out: the session ends and its cookie is cleared",
        own_credentials=True,
    ),
)
