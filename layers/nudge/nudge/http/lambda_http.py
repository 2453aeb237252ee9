"""The part of an HTTP Lambda handler both APIs share: registering a route table with a Powertools
resolver and writing JSON answers. Authentication and error shapes stay with each API's handler."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from nudge.errors import Forbidden, InvalidRequest
from nudge.http.routing import (
    MAX_PATH_PARAMETER_BYTES,
    BaseAlias,
    Caller,
    CookieAnswer,
    Request,
    Route,
    SetCookie,
)
from nudge.roles import Role
from nudge.settings import get_settings

# The request's credentials -> who is calling, in which workspace, with which role (or raise
# Unauthorized, Forbidden, or InvalidRequest for a malformed one).
Authenticate = Callable[[APIGatewayProxyEventV2], Caller]


def json_response(
    status: int, body: Any, headers: dict[str, str] | None = None, cookies: list[Cookie] | None = None
) -> Response:
    if body is None:
        return Response(status, None, "", headers=headers, cookies=cookies)
    text = json.dumps(body, separators=(",", ":"))
    return Response(status, "application/json", text, headers=headers, cookies=cookies)


def _cookie(cookie: SetCookie) -> Cookie:
    return Cookie(
        cookie.name,
        cookie.value,
        path="/",
        secure=cookie.secure,
        http_only=True,
        max_age=cookie.max_age,
        same_site=SameSite.STRICT_MODE,
    )


def authorize(route: Route, caller: Caller) -> None:
    """The one place a role is checked: the caller's role against the route's least role."""
    needed = route.minimum_role
    if caller.role < needed:
        raise Forbidden(
            f"your role ({caller.role.label}) cannot {route.method} {route.path}: it takes {needed.label}"
            + (" or above" if needed is not Role.ADMIN else "")
        )


def base_url(app: APIGatewayHttpResolver) -> str:
    settings = get_settings()
    if settings.track_url_set:
        return settings.track_url
    headers = app.current_event.headers
    return f"{headers.get('x-forwarded-proto') or 'https'}://{headers.get('host') or 'localhost'}"


def raw_body(event: APIGatewayProxyEventV2) -> str | bytes | None:
    """The body as API Gateway passed it, undecoded: API Gateway base64-encodes a body that is not text.
    Not ``decoded_body``, which decodes UTF-8 before any route runs, so bytes that are not UTF-8 raised
    ``UnicodeDecodeError`` (a 500) on every route, even one that reads no body. A route that reads the body
    parses it with ``parse_json_object``, which answers 400 for text that is not UTF-8."""
    if event.body is None or not event.is_base64_encoded:
        return event.body
    return base64.b64decode(event.body)


def check_path_parameters(params: dict[str, str]) -> None:
    """Every path parameter, percent-decoded, within ``MAX_PATH_PARAMETER_BYTES``: one rule for every
    route, before any look-up (an id too long for a key was a storage error, not the client's 400)."""
    for name, value in params.items():
        if len(unquote(value).encode()) > MAX_PATH_PARAMETER_BYTES:
            raise InvalidRequest(
                f"{name} cannot be longer than {MAX_PATH_PARAMETER_BYTES} bytes",
                field=name,
                reason="too_long",
            )


def register(
    app: APIGatewayHttpResolver,
    routes: Sequence[Route],
    authenticate: Authenticate,
    logger: Logger,
    aliases: Sequence[BaseAlias] = (),
) -> None:
    """Each route under its own path and under each alias's form of it, to the same endpoint (the
    deployed API sends an alias's paths here through one greedy route: see ``BaseAlias.proxy_path``)."""
    for route in routes:
        paths = [route.path, *(alias.aliased(route.path) for alias in aliases)]
        _register(app, route, paths, authenticate, logger)


def _register(
    app: APIGatewayHttpResolver, route: Route, paths: list[str], authenticate: Authenticate, logger: Logger
) -> None:

    def endpoint(**params: str) -> Response:
        event = app.current_event
        if route.own_credentials:
            # The console's session routes check their own credentials, name no workspace and act on
            # none: the least role, so nothing a role guards is open to them.
            caller = Caller("", Role.VIEWER)
        else:
            caller = authenticate(event)
            authorize(route, caller)
        logger.append_keys(workspace_id=caller.workspace_id, route=f"{route.method} {route.path}")
        check_path_parameters(params)
        request = Request(
            workspace_id=caller.workspace_id,
            params=params,
            query=dict(event.query_string_parameters or {}),
            body=raw_body(event),
            base_url=base_url(app),
            headers={name.lower(): value for name, value in (event.headers or {}).items()},
            # API Gateway always sends one; an event made by hand (a test, a tool) may not.
            request_id=str(event.request_context.get("requestId") or ""),
            cookies=event.resolved_cookies_field,
            role=caller.role,
            user=caller.user,
        )
        answer = route.operation(request)
        if isinstance(answer, CookieAnswer):
            return json_response(answer.status, answer.body, cookies=[_cookie(c) for c in answer.cookies])
        status, body = answer
        return json_response(status, body)

    endpoint.__name__ = f"{route.method.lower()}_{route.path}"
    for path in paths:
        app.route(path.replace("{", "<").replace("}", ">"), method=route.method)(endpoint)
