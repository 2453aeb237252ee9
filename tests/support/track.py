"""Drive the real Track handler with API Gateway-shaped events, and point Customer.io's own client at it.

``TrackClient`` sends raw HTTP-level requests; ``LambdaAdapter`` is a ``requests`` transport that routes
a client library's prepared requests into the handler, so the official ``customerio`` package runs
unmodified against Nudge.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import BaseAdapter

from functions.track import handler as track_handler
from nudge_tools.local.apigw import LocalContext, http_api_event, http_response


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


def basic(site_id: str, api_key: str, *, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return "Basic " + encode(f"{site_id}:{api_key}".encode()).decode()


def invoke(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    handler: Any = None,
) -> Answer:
    """Call a handler (the Track handler unless told) with an API Gateway event, as API Gateway would."""
    event = http_api_event(method, path, headers, body)
    context: Any = LocalContext()  # what the handlers read of Lambda's context
    status, out_headers, data = http_response((handler or track_handler.handler)(event, context))
    return Answer(status, out_headers, data)


@dataclass
class TrackClient:
    site_id: str
    api_key: str

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        auth: str | None = None,
    ) -> Answer:
        headers = {"content-type": "application/json"}
        credentials = basic(self.site_id, self.api_key) if auth is None else auth
        if credentials:
            headers["authorization"] = credentials
        payload = raw if raw is not None else (None if body is None else json.dumps(body))
        return invoke(method, path, headers=headers, body=payload)

    def put(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("PUT", path, {} if body is None else body, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", path, {} if body is None else body, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("DELETE", path, body, **kw)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, None, **kw)


class LambdaAdapter(BaseAdapter):
    """A ``requests`` transport whose 'network' is the Track handler (or ``handler``)."""

    def __init__(self, handler: Any = None) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []
        self.handler = handler

    # requests calls send(request, stream=..., timeout=..., verify=..., cert=..., proxies=...) (BaseAdapter's
    # signature); the handler needs none of them.
    def send(
        self,
        request: requests.PreparedRequest,
        *args: Any,  # noqa: ARG002 (requests' BaseAdapter.send)
        **kwargs: Any,  # noqa: ARG002 (requests' BaseAdapter.send)
    ) -> requests.Response:
        self.sent.append(request)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = invoke(
            request.method or "GET",
            request.url or "/",
            headers=dict(request.headers),
            body=body,
            handler=self.handler,
        )
        response = requests.Response()
        response.status_code = answer.status
        response.headers.update(answer.headers)
        response._content = answer.raw
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        return None


@dataclass
class AppClient:
    """The App API handler, with a Bearer app key."""

    api_key: str

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        auth: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        from functions.api import handler as api_handler

        headers = {"content-type": "application/json", **(headers or {})}
        credentials = f"Bearer {self.api_key}" if auth is None else auth
        if credentials:
            headers["authorization"] = credentials
        payload = None if body is None else json.dumps(body)
        return invoke(method, path, headers=headers, body=payload, handler=api_handler.handler)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", path, {} if body is None else body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("PUT", path, {} if body is None else body, **kw)

    def delete(self, path: str, **kw: Any) -> Answer:
        return self.request("DELETE", path, **kw)


@dataclass
class PipelinesClient:
    """The Pipelines API's routes on the Track handler, with a workspace's Pipelines key (Basic: the key as
    the user and no password, as Customer.io documents it; ``bearer=True`` sends it as a Bearer token)."""

    api_key: str
    bearer: bool = False

    def post(
        self,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: str | None = None,
    ) -> Answer:
        sent = {"content-type": "application/json", **(headers or {})}
        default = f"Bearer {self.api_key}" if self.bearer else basic(self.api_key, "")
        credentials = default if auth is None else auth
        if credentials:
            sent["authorization"] = credentials
        payload = raw if raw is not None else json.dumps({} if body is None else body)
        return invoke("POST", path, headers=sent, body=payload)
