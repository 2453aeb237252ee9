"""The local HTTP gateway: the deployed API's routes, served on one port.

API routes are matched exactly as the HTTP API matches them (method + path template, from the same route
table the stack deploys) and handed to the same handler function with a payload 2.0 event. Anything else
under the API gets API Gateway's own ``404 {"message":"Not Found"}``. ``/_local/*`` and
``/openapi.json`` are the runtime's own pages. A ``StaticSite`` (the web console's build) may own a path
prefix: its requests never reach the API routes.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from nudge.local.apigw import LocalContext, http_api_event, http_response
from nudge.local.static import StaticSite

log = logging.getLogger("nudge.local")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
LocalPage = Callable[[], tuple[int, str, bytes]]  # status, content type, body
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # template: /api/v1/customers/{identifier}
    handler: Handler
    function_name: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        routes: Sequence[ApiRoute],
        pages: dict[str, LocalPage],
        *,
        tls: ssl.SSLContext | None = None,
        static: StaticSite | None = None,
    ) -> None:
        self.routes = [(route, route.pattern) for route in routes]
        self.pages = pages
        self.static = static
        super().__init__(address, _RequestHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and route.method == method:
                return route, found.groupdict()
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        method = self.command.upper()
        path = urlsplit(self.path).path
        static = self.server.static
        if static is not None and static.owns(path):
            answer = static.answer(method, path, self.headers.get("if-none-match"))
            # A refused method's body is left unread: the connection cannot carry another request.
            self.close_connection = answer.status == 405
            self._send(answer.status, answer.headers, answer.body)
            return
        page = self.server.pages.get(path)
        if page is not None and method == "GET":
            status, content_type, content = page()
            self._send(status, {"content-type": content_type}, content)
            return
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body: bytes | None = self.rfile.read(length) if length else None
        matched = self.server.match(method, path)
        if matched is None:
            self._send(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
            return
        route, params = matched
        event = http_api_event(method, self.path, dict(self.headers.items()), body)
        event["routeKey"] = f"{route.method} {route.path}"
        event["requestContext"]["routeKey"] = event["routeKey"]
        event["pathParameters"] = {name: unquote(value) for name, value in params.items()} or None
        result = route.handler(event, LocalContext(function_name=route.function_name))
        status, headers, data = http_response(result)
        self._send(status, headers, data)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


def json_page(produce: Callable[[], Any]) -> LocalPage:
    def page() -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(produce(), indent=2).encode()

    return page
