from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nudge.delivery.channels.webhook import HttpWebhook, blocked_reason, signature, verify_signature
from nudge.delivery.messages import PermanentSendError, TransientSendError, Webhook

KEY = "whsec_test_key"
BODY = json.dumps({"event": "order_shipped", "order": {"id": 42}})


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 answering the scripted statuses (the last one repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    requests: list[Seen] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hooks/nudge") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            state.requests.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            if state.delay:
                time.sleep(state.delay)
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        do_POST = do_PUT = do_GET = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def hook(url: str, **changes: Any) -> Webhook:
    fields: dict[str, Any] = {
        "workspace_id": "ws_1",
        "delivery_id": "dlv_1",
        "url": url,
        "body": BODY,
        "signing_key": KEY,
        "headers": {"X-Tenant": "acme"},
    }
    fields.update(changes)
    return Webhook(**fields)


def local(**options: Any) -> HttpWebhook:
    return HttpWebhook(**{"allow_private": True, "sleep": Sleeps(), **options})


def test_request_carries_body_and_headers_and_the_signature_verifies(receiver: Receiver) -> None:
    receipt = local(clock=lambda: 1_790_000_000.7).send_webhook(hook(receiver.url()))

    assert receipt.provider_id is None
    assert receipt.detail == {"status": 200}
    [seen] = receiver.requests
    headers = {name.lower(): value for name, value in seen.headers.items()}
    assert (seen.method, seen.path, seen.body) == ("POST", "/hooks/nudge", BODY)
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Nudge-Webhooks/1"
    assert headers["x-nudge-delivery-id"] == "dlv_1"
    assert headers["x-tenant"] == "acme"
    assert headers["x-nudge-timestamp"] == "1790000000"
    assert verify_signature(KEY, headers["x-nudge-timestamp"], seen.body, headers["x-nudge-signature"])
    assert not verify_signature(
        "other-key", headers["x-nudge-timestamp"], seen.body, headers["x-nudge-signature"]
    )
    assert not verify_signature(
        KEY, headers["x-nudge-timestamp"], seen.body + " ", headers["x-nudge-signature"]
    )


def test_signature_scheme() -> None:
    # HMAC-SHA256("whsec_test_key", "v0:1790000000:{}"), hex, prefixed with the version.
    expected = hmac.new(KEY.encode(), b"v0:1790000000:{}", hashlib.sha256).hexdigest()
    assert signature(KEY, "1790000000", "{}") == f"v0={expected}"
    assert verify_signature(KEY, "1790000000", "{}", f"v0={expected}", max_age=300, now=1_790_000_100)
    assert not verify_signature(KEY, "1790000000", "{}", f"v0={expected}", max_age=300, now=1_790_000_400)


def test_other_methods_are_used_as_given(receiver: Receiver) -> None:
    local().send_webhook(hook(receiver.url(), method="put"))

    assert [seen.method for seen in receiver.requests] == ["PUT"]
    assert receiver.requests[0].body == BODY


def test_500_then_200_is_retried(receiver: Receiver) -> None:
    receiver.statuses = [500, 503, 200]
    sleeps = Sleeps()

    receipt = local(sleep=sleeps, base_delay=0.5).send_webhook(hook(receiver.url()))

    assert receipt.detail == {"status": 200}
    assert len(receiver.requests) == 3
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_500s_exhausted_is_transient(receiver: Receiver) -> None:
    receiver.statuses = [500]

    with pytest.raises(TransientSendError, match="HTTP 500"):
        local(attempts=3).send_webhook(hook(receiver.url()))
    assert len(receiver.requests) == 3


def test_429_is_retried(receiver: Receiver) -> None:
    receiver.statuses = [429, 204]

    assert local().send_webhook(hook(receiver.url())).detail == {"status": 204}


@pytest.mark.parametrize("status", [400, 404, 410])
def test_4xx_is_permanent_at_once(receiver: Receiver, status: int) -> None:
    receiver.statuses = [status]

    with pytest.raises(PermanentSendError) as refused:
        local().send_webhook(hook(receiver.url()))
    assert refused.value.reason == f"HTTP {status}"
    assert len(receiver.requests) == 1


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.statuses = [302]

    with pytest.raises(PermanentSendError, match="HTTP 302"):
        local().send_webhook(hook(receiver.url()))


def test_timeout_is_retried_then_transient(receiver: Receiver) -> None:
    receiver.delay = 0.5

    with pytest.raises(TransientSendError):
        local(timeout=0.1, attempts=2).send_webhook(hook(receiver.url()))
    assert len(receiver.requests) == 2


def test_every_attempt_carries_the_delivery_id_as_its_idempotency_key(receiver: Receiver) -> None:
    # The first request reached the receiver and its answer was lost (a timeout): the retry repeats it,
    # and the receiver can tell by the key.
    receiver.delay = 0.3
    with pytest.raises(TransientSendError):
        local(timeout=0.1, attempts=2).send_webhook(hook(receiver.url(), delivery_id="dlv_42"))

    assert [seen.headers["Idempotency-Key"] for seen in receiver.requests] == ["dlv_42", "dlv_42"]


def test_the_idempotency_key_cannot_be_overridden(receiver: Receiver) -> None:
    with pytest.raises(PermanentSendError, match="set by Nudge"):
        local().send_webhook(hook(receiver.url(), headers={"idempotency-key": "mine"}))
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://169.254.170.2/v2/credentials",
        "https://169.254.169.254/latest/api/token",
    ],
)
def test_metadata_addresses_are_refused_even_when_private_is_allowed(url: str) -> None:
    sleeps = Sleeps()
    with pytest.raises(PermanentSendError, match="link-local or cloud metadata"):
        HttpWebhook(allow_private=True, sleep=sleeps).send_webhook(hook(url))
    assert sleeps == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.5", "[::1]"])
def test_private_addresses_are_refused_by_default_without_any_request(receiver: Receiver, host: str) -> None:
    url = receiver.url().replace("127.0.0.1", host)

    with pytest.raises(PermanentSendError, match="private or loopback"):
        HttpWebhook(sleep=Sleeps()).send_webhook(hook(url))
    assert receiver.requests == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "http:///nohost", "gopher://x"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(PermanentSendError, match="http"):
        HttpWebhook(allow_private=True).send_webhook(hook(url))


def test_headers_set_by_nudge_cannot_be_overridden(receiver: Receiver) -> None:
    with pytest.raises(PermanentSendError, match="set by Nudge"):
        local().send_webhook(hook(receiver.url(), headers={"X-Nudge-Signature": "v0=forged"}))
    assert receiver.requests == []


def test_address_policy() -> None:
    assert blocked_reason("93.184.216.34", allow_private=False) is None
    assert blocked_reason("2606:4700::1111", allow_private=False) is None
    assert blocked_reason("192.168.1.10", allow_private=True) is None
    assert blocked_reason("100.64.0.1", allow_private=False) == "private or loopback address"
    assert blocked_reason("0.0.0.0", allow_private=True) == "unspecified or multicast address"  # noqa: S104
    assert blocked_reason("fe80::1%eth0", allow_private=True) == "link-local or cloud metadata address"
    assert blocked_reason("64:ff9b::a9fe:a9fe", allow_private=True) == "link-local or cloud metadata address"
    # The local-use NAT64 prefix (RFC 8215) embeds 169.254.169.254 around its "u" octet (RFC 6052, /48).
    assert (
        blocked_reason("64:ff9b:1:a9fe:a9:fe00::", allow_private=True)
        == "link-local or cloud metadata address"
    )
    assert blocked_reason("64:ff9b:1:a00:1:200::", allow_private=False) == "private or loopback address"
    assert blocked_reason("64:ff9b:1:5db8:d8:2200::", allow_private=False) is None  # 93.184.216.34


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:99999999/", {}),
        ("http://127.0.0.1:http/", {}),
        ("http://127.0.0.1/", {"X-Name": "Zoë ✓"}),
        ("http://127.0.0.1/", {"X-Evil": "a\r\nHost: other"}),
    ],
)
def test_malformed_requests_are_permanent(url: str, headers: dict[str, str]) -> None:
    with pytest.raises(PermanentSendError):
        local().send_webhook(hook(url, headers=headers))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x\r\nX-Injected: 1",
        "http://127.0.0.1/a b",
        "http://127.0.0.1/\x00",
        "http://127.0.0.1/\x7f",
    ],
)
def test_a_url_with_control_characters_or_spaces_is_refused_without_any_request(
    receiver: Receiver, url: str
) -> None:
    with pytest.raises(PermanentSendError, match="control characters"):
        local().send_webhook(hook(url.replace("http://127.0.0.1", receiver.url().rstrip("/"))))
    assert receiver.requests == []
