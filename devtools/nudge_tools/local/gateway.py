"""The local HTTP gateway: the deployed API's routes, served on one port.

API routes are matched exactly as the HTTP API matches them (method + path template, from the same route
table the stack deploys) and handed to the same handler function with a payload 2.0 event; a greedy route
(``ANY /v1/api/{proxy+}``) takes only what no exact route matches, any method. Anything else
under the API gets API Gateway's own ``404 {"message":"Not Found"}``. ``/_local/*`` and
``/openapi.json`` are the runtime's own pages. A ``StaticSite`` (the web console's build) may own a path
prefix: its requests never reach the API routes.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from nudge_tools.local import router_threads
from nudge_tools.local.apigw import SET_COOKIE_SEPARATOR, LocalContext, http_api_event, http_response
from nudge_tools.local.static import StaticSite

log = logging.getLogger("nudge.local")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
LocalPage = Callable[[], tuple[int, str, bytes]]  # status, content type, body
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit
# A client that opens a TLS connection and never finishes the handshake holds only its own worker, and
# only this long.
TLS_HANDSHAKE_SECONDS = 10.0
# What API Gateway answers when the function fails (an unhandled exception, a crash, a timeout).
INTERNAL_ERROR = b'{"message":"Internal Server Error"}'
# How long a request waits for its function, busy with another: an HTTP API's integration timeout, after
# which API Gateway answers 503 too.
INVOCATION_WAIT_SECONDS = 30.0
UNAVAILABLE = b'{"message":"Service Unavailable"}'
# A client that went away mid-answer: reset or closed, over TCP or in the middle of TLS.
_CLIENT_GONE = (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


@dataclass(frozen=True)
class ApiRoute:
    method: str  # or ANY, which API Gateway matches with any method
    path: str  # template: /api/v1/customers/{identifier}, or greedy: /v1/api/{proxy+}
    handler: Handler
    function_name: str

    @property
    def pattern(self) -> re.Pattern[str]:
        # A greedy variable ({proxy+}) spans slashes; a plain one is a single segment.
        greedy = re.sub(r"\\{(\w+)\\\+\\}", r"(?P<\1>.+)", re.escape(self.path))
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", greedy) + "$")

    @property
    def greedy(self) -> bool:
        return "+}" in self.path

    def answers(self, method: str) -> bool:
        return self.method in (method, "ANY")


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
        # API Gateway prefers the most specific route: a greedy one only catches what no other route matches.
        self.routes = [(route, route.pattern) for route in sorted(routes, key=lambda route: route.greedy)]
        self.pages = pages
        self.static = static
        self.tls = tls
        # Each function's resolver keeps per-request state (its context), which Lambda never shares: one
        # execution environment runs one invocation at a time. Here each function is one environment, so
        # it runs one invocation at a time; two requests resolved at once answered each other's routes (the
        # console's person screen got a segment list for its profile). Different functions run at once, so
        # a Track API import does not hold up the console: the state Powertools shares between resolvers
        # is made per thread.
        router_threads.install()
        self.invoking = {route.function_name: threading.Lock() for route in routes}
        super().__init__(address, _RequestHandler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the connection's own worker thread. The TLS handshake happens here, with a timeout,
        not on the listening socket: there it ran in the accept loop, so one idle connection froze the
        whole gateway."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(TLS_HANDSHAKE_SECONDS)
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:  # a timeout is an OSError too
            log.debug("TLS handshake with %s failed: %s", client_address[0], exc)
            return
        secure.settimeout(None)
        try:
            super().finish_request(secure, client_address)
        finally:
            self.shutdown_request(secure)  # the plain socket it wrapped is detached: closing that is a no-op

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away before its answer was written (a browser aborting a fetch as it leaves
        a screen) is routine: one debug line, not socketserver's traceback on stderr."""
        if isinstance(sys.exc_info()[1], _CLIENT_GONE):
            log.debug("%s closed the connection before its answer was written", client_address[0])
            return
        super().handle_error(request, client_address)

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and route.answers(method):
                return route, found.groupdict()
        return None


class _RequestHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes: with Nagle's algorithm the body waited for the client's
    # delayed ACK of the headers, 40 ms on every answer over a kept-alive connection.
    disable_nagle_algorithm = True

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
        declared = self.headers.get("content-length") or "0"
        if not declared.isascii() or not declared.isdigit():
            # Not a length: the body's end is unknown, so the connection cannot carry another request.
            self.close_connection = True
            self._send(400, {"content-type": "application/json"}, b'{"message":"Bad Request"}')
            return
        length = int(declared)
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is left unread: it must not be taken for a request
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
        invoking = self.server.invoking[route.function_name]
        if not invoking.acquire(timeout=INVOCATION_WAIT_SECONDS):
            log.warning("%s %s: the %s function stayed busy", method, path, route.function_name)
            self._send(503, {"content-type": "application/json"}, UNAVAILABLE)
            return
        try:
            result = route.handler(event, LocalContext(function_name=route.function_name))
        except Exception:  # Lambda's boundary: whatever the function raises, API Gateway answers 500
            log.exception("%s %s: the %s function failed", method, path, route.function_name)
            self._send(500, {"content-type": "application/json"}, INTERNAL_ERROR)
            return
        finally:
            invoking.release()
        status, headers, data = http_response(result)
        self._send(status, headers, data)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() == "set-cookie":
                for cookie in value.split(SET_COOKIE_SEPARATOR):
                    self.send_header(name, cookie)
            elif name.lower() not in ("content-length", "connection"):
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
