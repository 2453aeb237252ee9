"""A browser's view of the App API for the web console: the session cookie it was given and the
``X-Nudge-Workspace`` header, sent to the real App handler with API Gateway-shaped events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from nudge.console_auth import sessions, users
from nudge_tools.local import console_users
from tests.support.track import Answer, invoke

CHOSEN_PASSWORD = "Chosen-password-1"  # what test users choose at their first sign-in (meets the policy)


@contextmanager
def user_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[users.UserPool]:
    """The console's user pool on moto (inside a mocked account), used by this process's sign-in."""
    pool = console_users.create_user_pool("us-east-1")
    monkeypatch.setenv(users.POOL_ENV, pool.pool_id)
    monkeypatch.setenv(users.CLIENT_ENV, pool.client_id)
    yield pool


def set_cookies(answer: Answer) -> list[str]:
    value = answer.headers.get("set-cookie")
    return value.split("\n") if value else []


def cookie_value(answer: Answer, name: str = sessions.COOKIE) -> str | None:
    for cookie in set_cookies(answer):
        key, _, rest = cookie.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    return None


@dataclass
class ConsoleClient:
    """Signed in or not; ``workspace`` is sent as ``X-Nudge-Workspace`` unless None."""

    token: str | None = None
    workspace: str | None = None

    def request(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> Answer:
        from functions.api import handler as api_handler

        sent = {"content-type": "application/json", **(headers or {})}
        if self.token is not None:
            sent["cookie"] = f"{sessions.COOKIE}={self.token}"
        if self.workspace is not None:
            sent["x-nudge-workspace"] = self.workspace
        payload = None if body is None else json.dumps(body)
        return invoke(method, path, headers=sent, body=payload, handler=api_handler.handler)

    def sign_in(self, email: str, password: str, **kw: Any) -> Answer:
        answer = self.request("POST", "/v1/session", {"email": email, "password": password}, **kw)
        if answer.status == 200:
            self.token = cookie_value(answer)
        return answer

    def first_sign_in(self, email: str, temporary: str, chosen: str = CHOSEN_PASSWORD, **kw: Any) -> Answer:
        """A new user's first sign-in: the temporary password replaced with ``chosen``."""
        body = {"email": email, "password": temporary, "new_password": chosen}
        answer = self.request("POST", "/v1/session/password", body, **kw)
        if answer.status == 200:
            self.token = cookie_value(answer)
        return answer

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", path, {} if body is None else body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("PUT", path, {} if body is None else body, **kw)

    def delete(self, path: str, **kw: Any) -> Answer:
        return self.request("DELETE", path, **kw)
