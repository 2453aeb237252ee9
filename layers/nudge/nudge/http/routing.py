"""What a route table is made of, shared by the Track and App APIs: each API's handler, the local
gateway, the CDK stack and the OpenAPI documents are all built from its table, so they cannot disagree.

An operation takes a parsed :class:`Request` and returns ``(status, body)``; raising a domain error lets
the API's edge answer in that API's error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nudge.roles import Role

DEFAULT_BODY_LIMIT = 1_000_000
# A path parameter names something stored under a key that includes it; DynamoDB caps sort keys at 1024
# bytes, so anything longer than this could never be found (or stored). People's identifiers have their
# own, smaller limit (150 bytes, Customer.io's).
MAX_PATH_PARAMETER_BYTES = 512


@dataclass(frozen=True)
class Request:
    workspace_id: str
    params: dict[str, str]  # path parameters, still percent-encoded
    query: dict[str, str]
    # As received (see ``lambda_http.raw_body``): read it with ``tracking.limits.parse_json_object``,
    # which decodes UTF-8 and bounds size and depth, so every route answers bad input with the same 400.
    body: str | bytes | None
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    # The API Gateway request id: the correlation id of the request's log lines, and of what it starts
    # (a transactional send's delivery). Empty where there is none.
    request_id: str = ""
    # Request cookies by name (API Gateway's payload 2.0 ``cookies`` field): the console's session.
    cookies: dict[str, str] = field(default_factory=dict)
    # Who is asking: an App API key (admin, no user) or a console user with their role in the workspace.
    role: Role = Role.ADMIN
    user: str | None = None  # the console user's email


Response = tuple[int, dict[str, Any] | None]  # a None body is an empty answer (204)


@dataclass(frozen=True)
class SetCookie:
    """A cookie an answer sets (always HttpOnly, SameSite=Strict, Path=/). ``max_age`` 0 removes it."""

    name: str
    value: str
    max_age: int
    secure: bool  # only over TLS: a Secure cookie is never sent back over plain http


@dataclass(frozen=True)
class CookieAnswer:
    """An answer that also sets cookies (the console's sign-in and sign-out); other routes answer a plain
    ``Response``."""

    status: int
    body: dict[str, Any] | None
    cookies: tuple[SetCookie, ...]


Operation = Callable[[Request], Response | CookieAnswer]


@dataclass(frozen=True)
class Caller:
    """Who a request's credentials name: the workspace it acts on, the role it acts with there, and the
    console user (None for an API key)."""

    workspace_id: str
    role: Role
    user: str | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI template: /api/v1/customers/{identifier}
    operation: Operation
    summary: str
    body_limit: int = DEFAULT_BODY_LIMIT
    body_schema: dict[str, Any] | None = None
    responses: dict[str, str] = field(default_factory=dict)
    # The least role that may call it; None: by method (``minimum_role``). Declared here, checked in one
    # place (``lambda_http``), so no operation checks roles itself and a new route cannot skip the check.
    role: Role | None = None
    # The operation reads its own credentials, or none (the console's session routes: sign-in, the session
    # itself, sign-out): no workspace is named, no role checked.
    own_credentials: bool = False

    @property
    def minimum_role(self) -> Role:
        """Reads are for viewers; anything else changes something, so it takes an author at least."""
        if self.role is not None:
            return self.role
        return Role.VIEWER if self.method in ("GET", "HEAD") else Role.AUTHOR


@dataclass(frozen=True)
class BaseAlias:
    """A second base path a whole route table answers under, derived from the table's own paths so each
    route is still declared once. Customer.io's App API answered under ``/v1/api/...`` before ``/v1/...``;
    integrations written against the older base (and clients given it as their URL) still call it."""

    base: str  # the table's own prefix: "/v1"
    alias: str  # the older one: "/v1/api"

    def aliased(self, path: str) -> str:
        """``/v1/segments`` -> ``/v1/api/segments``. A path outside the base has no older form: refusing it
        here (at import, where the table is registered) beats a route that silently lacks its alias."""
        if not path.startswith(self.base + "/"):
            raise ValueError(f"{path} is not under {self.base}/, so it has no form under {self.alias}/")
        return self.alias + path[len(self.base) :]

    @property
    def proxy_path(self) -> str:
        """The one deployed route that sends everything under the alias to the table's function, whose
        resolver matches both forms. A copy of every route would count against API Gateway's quota of 300
        routes per HTTP API once more for each App route; this counts once however the table grows."""
        return self.alias + "/{proxy+}"


# Customer.io's earlier App API base: every App route also answers here (see ``functions/api``).
APP_OLDER_BASE = BaseAlias("/v1", "/v1/api")
