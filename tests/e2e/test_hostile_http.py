"""Hostile input over real HTTPS, against a local runtime of its own (``nudge local --tls --no-demo``: the
hostile requests change settings and data that the shared runtime's tests rely on): every route of
every table gets seeded hostile requests through the gateway; none is answered 5xx, no connection is
dropped, and the runtime still serves ordinary requests afterwards. A client that connects and never
starts its TLS handshake does not stop anyone else.

The in-process suite (tests/integration/test_hostile_input.py) sends thousands; this one sends a few
hundred, enough to cover the gateway's own path (event building, body bytes, answers) on each route.
"""

from __future__ import annotations

import os
import random
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from requests.exceptions import InvalidHeader
from requests.utils import check_header_validity

from tests.support.hostile import SEED, Generator, HostileRequest, endpoints
from tests.support.local_runtime import Runtime, start
from tests.support.track import basic

PER_ENDPOINT = 4


def _pools(local: Runtime) -> dict[str, list[str]]:
    assert local.track("PUT", "/api/v1/customers/hostile-ann", {"email": "hostile-ann@example.com"}).ok
    segment = local.app("POST", "/v1/segments", {"segment": {"name": "Hostile"}}).json()["segment"]["id"]
    return {"identifier": ["hostile-ann"], "customer_id": ["hostile-ann"], "segment_id": [str(segment)]}


def _sendable(name: str, value: str) -> bool:
    """What the client library itself refuses to send (control characters, leading whitespace) never
    reaches a server: such a header is left out, the rest of the request is sent."""
    try:
        check_header_validity((name, value))
    except InvalidHeader:
        return False
    return True


def _send(session: requests.Session, local: Runtime, request: HostileRequest) -> requests.Response:
    headers = {k: v for k, v in request.headers.items() if _sendable(k, v)}
    return session.request(
        request.method,
        local.url + request.url,
        data=request.body,
        headers=headers,
        timeout=30,
        verify=local.verify,
        allow_redirects=False,
    )


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = start(tmp_path_factory.mktemp("hostile"), "--tls", "--no-demo")
    yield runtime
    code, output = runtime.stop()
    assert code == 0, output


def test_no_hostile_request_over_http_gets_a_5xx_or_a_dropped_connection(local):
    seed = int(os.environ.get("NUDGE_HOSTILE_SEED", SEED))
    contract = local.contract
    credentials = {
        "track": {"authorization": basic(contract["site_id"], contract["track_api_key"])},
        "app": {"authorization": f"Bearer {contract['app_api_key']}"},
        "pipelines": {"authorization": f"Bearer {contract['cdp_api_key']}"},
    }
    # The runtime's link secret is its own: every token here is a forgery, which is hostile too.
    generator = Generator(random.Random(seed), _pools(local), credentials, b"not-the-secret", "w")
    failures: list[str] = []
    tried: set[str] = set()
    with requests.Session() as session:
        for request in generator.requests(PER_ENDPOINT):
            tried.add(str(request.endpoint))
            try:
                answer = _send(session, local, request)
            except requests.ConnectionError as exc:
                failures.append(f"dropped: {exc!s:.200} <- {request}")
                continue
            if answer.status_code >= 500:
                failures.append(f"{answer.status_code} {answer.text[:200]} <- {request}")

    assert not failures, f"seed {seed}:\n" + "\n".join(failures[:30])
    assert tried == {str(e) for e in endpoints()}
    assert local.get("/_local/health").status_code == 200
    assert (
        local.track("PUT", "/api/v1/customers/after-hostile", {"email": "after@example.com"}).status_code
        == 200
    )
    assert local.app("GET", "/v1/segments").status_code == 200


def test_an_idle_tls_connection_does_not_freeze_the_runtime(local):
    # Connected, never handshaking: the handshake used to run in the accept loop and block it.
    with socket.create_connection(("127.0.0.1", local.port), timeout=5):
        started = time.monotonic()
        assert local.get("/_local/health").status_code == 200
        assert time.monotonic() - started < 5
