"""The local gateway over real HTTP(S) on a loopback port: it answers as API Gateway does when a function
fails or a request is malformed, with TLS one stalled client never holds up the others, and requests made
at once each get their own answer."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from nudge_tools.local import gateway as gateway_module
from nudge_tools.local.certs import ensure_certificate
from nudge_tools.local.gateway import ApiRoute, Gateway, json_page
from nudge_tools.local.routing import api_routes


def _failing_function(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the function's own bug")


def _echo_function(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": event["rawPath"]}


ROUTES = [
    ApiRoute("GET", "/fails", _failing_function, "nudge-test"),
    ApiRoute("POST", "/echo", _echo_function, "nudge-test"),
]
PAGES = {"/_local/health": json_page(lambda: {"ok": True})}


def _serve(tls: ssl.SSLContext | None = None, routes: list[ApiRoute] = ROUTES) -> Iterator[Gateway]:
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
    # The console's person screen asks for these together. The functions share Powertools' router state,
    # so the gateway invoked them concurrently and they answered each other's routes: a profile answered
    # with a segment list, 500s from a route reading another's path parameters.
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    expected = {
        "/v1/customers/ann/attributes": "customer",
        "/v1/customers/ann/segments": "segments",
        "/v1/customers/ann/messages": "messages",
        "/v1/segments": "segments",
    }
    paths = list(expected) * 50
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns every few bytecodes: a race shows within a few calls

    def get(path: str) -> tuple[str, int, list[str]]:
        with requests.Session() as session:
            answer = session.get(
                _url(nudge_api) + path, headers={"authorization": f"Bearer {keys.app_api_key}"}, timeout=30
            )
        return path, answer.status_code, sorted(answer.json())

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(get, paths))
    finally:
        sys.setswitchinterval(switch)

    wrong = [answer for answer in answers if answer[1] != 200 or expected[answer[0]] not in answer[2]]
    assert wrong == []
