"""The local gateway over real HTTP(S) on a loopback port: it answers as API Gateway does when a function
fails or a request is malformed, with TLS one stalled client never holds up the others, and requests made
at once each get their own answer."""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from nudge_tools.local import gateway as gateway_module
from nudge_tools.local.certs import ensure_certificate
from nudge_tools.local.gateway import ApiRoute, Gateway, json_page
from nudge_tools.local.routing import api_routes
from tests.support.track import basic


def _failing_function(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the function's own bug")


def _echo_function(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": event["rawPath"]}


def _slow_big_function(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(0.3)  # the client is gone by the time the answer is written
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "x" * 4_000_000}


ROUTES = [
    ApiRoute("GET", "/fails", _failing_function, "nudge-test"),
    ApiRoute("POST", "/echo", _echo_function, "nudge-test"),
    ApiRoute("GET", "/slow", _slow_big_function, "nudge-slow"),
]
PAGES = {"/_local/health": json_page(lambda: {"ok": True})}


def _serve(tls: ssl.SSLContext | None = None, routes: list[ApiRoute] = ROUTES) -> Generator[Gateway]:
    server = Gateway(("127.0.0.1", 0), routes, PAGES, tls=tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def plain() -> Iterator[Gateway]:
    yield from _serve()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return ensure_certificate(tmp_path)


@pytest.fixture
def secure(certificate: tuple[Path, Path]) -> Iterator[Gateway]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    yield from _serve(context)


def _url(server: Gateway, scheme: str = "http") -> str:
    return f"{scheme}://localhost:{server.server_address[1]}"


def test_a_function_that_raises_is_api_gateways_500_not_a_dropped_connection(plain):
    with requests.Session() as session:
        answer = session.get(_url(plain) + "/fails", timeout=5)
        assert answer.status_code == 500
        assert answer.json() == {"message": "Internal Server Error"}
        # The same keep-alive connection still serves the next request.
        assert session.post(_url(plain) + "/echo", timeout=5).text == "/echo"


def test_a_client_that_leaves_before_its_answer_is_no_traceback(plain, capfd):
    port = plain.server_address[1]
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset on close
    time.sleep(0.6)

    assert requests.post(_url(plain) + "/echo", timeout=5).text == "/echo"  # still serving
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("declared", ["ten", "-5", "1e3", "٣"])
def test_a_content_length_that_is_not_a_length_is_a_400(plain, declared):
    with socket.create_connection(plain.server_address, timeout=5) as client:
        client.sendall(f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode())
        answer = b"".join(iter(lambda: client.recv(4096), b""))  # it closes the connection after
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert answer.endswith(b'{"message":"Bad Request"}')


def test_a_body_over_the_limit_is_a_413_and_the_connection_closes(plain):
    with socket.create_connection(plain.server_address, timeout=5) as client:
        declared = gateway_module.MAX_BODY_BYTES + 1
        client.sendall(f"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n".encode())
        client.sendall(b"GET /fails HTTP/1.1\r\nHost: x\r\n\r\n")  # part of the body, not a request
        answer = b"".join(iter(lambda: client.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert answer.count(b"HTTP/1.1") == 1


def test_an_idle_tls_connection_does_not_hold_up_other_clients(secure, certificate, monkeypatch):
    cert, _ = certificate
    # Connected, but never starting the handshake: it used to run in the accept loop and block it.
    with socket.create_connection(secure.server_address, timeout=5):
        started = time.monotonic()
        answer = requests.get(_url(secure, "https") + "/_local/health", verify=str(cert), timeout=5)
        assert answer.status_code == 200
        assert time.monotonic() - started < gateway_module.TLS_HANDSHAKE_SECONDS


def test_a_stalled_tls_handshake_is_dropped_after_its_timeout(secure, monkeypatch):
    monkeypatch.setattr(gateway_module, "TLS_HANDSHAKE_SECONDS", 0.2)
    with socket.create_connection(secure.server_address, timeout=5) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b""  # the gateway closed it
        assert time.monotonic() - started < 3


def test_a_client_that_does_not_speak_tls_does_not_stop_the_gateway(secure, certificate):
    cert, _ = certificate
    with socket.create_connection(secure.server_address, timeout=5) as wrong:
        wrong.sendall(b"GET /_local/health HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = requests.get(_url(secure, "https") + "/_local/health", verify=str(cert), timeout=5)
    assert answer.status_code == 200


@pytest.fixture
def nudge_api(account: None) -> Iterator[Gateway]:
    """The Track, App and links functions behind the gateway, as ``nudge local`` serves them."""
    yield from _serve(routes=api_routes())


def test_requests_made_at_once_each_get_their_own_routes_answer(nudge_api, keys, track):
    # The console's person screen asks for these together, maybe while a script imports people. The
    # functions share Powertools' router state, so when the gateway invoked them concurrently they
    # answered each other's routes: a profile answered with a segment list, a 500 from a route reading
    # another's path parameters, an identify answered by the App API.
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    app_key = {"authorization": f"Bearer {keys.app_api_key}"}
    track_key = {"authorization": basic(keys.site_id, keys.track_api_key)}
    calls = [
        ("GET", "/v1/customers/ann/attributes", app_key, None, ["customer"]),
        ("GET", "/v1/customers/ann/segments", app_key, None, ["segments"]),
        ("GET", "/v1/customers/ann/messages", app_key, None, ["messages", "next"]),
        ("GET", "/v1/segments", app_key, None, ["segments"]),
        ("PUT", "/api/v1/customers/bob", track_key, {"plan": "pro"}, []),
        ("POST", "/api/v1/customers/bob/events", track_key, {"name": "viewed"}, []),
        ("PUT", "/api/v1/customers/cat", track_key, {"plan": "basic"}, []),
    ] * 30
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns every few bytecodes: a race shows within a few calls

    def call(method: str, path: str, headers: dict[str, str], body: Any, keys: list[str]) -> tuple[Any, ...]:
        with requests.Session() as session:
            answer = session.request(method, _url(nudge_api) + path, headers=headers, json=body, timeout=30)
        return path, answer.status_code, sorted(answer.json()), keys

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: call(*c), calls))
    finally:
        sys.setswitchinterval(switch)

    assert [answer for answer in answers if answer[1:3] != (200, answer[3])] == []


def test_a_long_request_holds_up_only_its_own_function(account, keys, monkeypatch):
    # An import through the Track API does not stop the console's requests, as separate Lambda
    # functions would not: only the Track function waits for it, and only so long.
    monkeypatch.setattr(gateway_module, "INVOCATION_WAIT_SECONDS", 0.5)
    started, release = threading.Event(), threading.Event()

    def held(handler: Any) -> Any:
        def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
            started.set()
            release.wait(10)
            return handler(event, context)

        return slow

    routes = [
        replace(route, handler=held(route.handler)) if route.function_name == "nudge-track" else route
        for route in api_routes()
    ]
    serving = _serve(routes=routes)
    server = next(serving)
    url = _url(server)
    importing = threading.Thread(
        target=requests.put,
        args=(url + "/api/v1/customers/bob",),
        kwargs={
            "json": {},
            "headers": {"authorization": basic(keys.site_id, keys.track_api_key)},
            "timeout": 20,
        },
    )
    importing.start()
    try:
        assert started.wait(10)
        answer = requests.get(
            url + "/v1/segments", headers={"authorization": f"Bearer {keys.app_api_key}"}, timeout=5
        )
        assert answer.status_code == 200 and "segments" in answer.json()
        track_key = {"authorization": basic(keys.site_id, keys.track_api_key)}
        waited = requests.put(url + "/api/v1/customers/cat", json={}, headers=track_key, timeout=5)
        assert (waited.status_code, waited.json()) == (503, {"message": "Service Unavailable"})
    finally:
        release.set()
        importing.join(10)
        serving.close()  # its finally: the server shut down
