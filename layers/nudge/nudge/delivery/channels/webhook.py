"""WebhookPort over HTTP(S) with urllib: a signed JSON request to a URL the workspace chose.

Signature (the scheme Customer.io uses for its reporting webhooks)::

    X-Nudge-Timestamp: <unix seconds>
    X-Nudge-Signature: v0=<hex HMAC-SHA256(signing_key, "v0:" + timestamp + ":" + body)>

Receivers check it with ``verify_signature``.

Retries: a timeout or a dropped connection may come after the receiver acted on the request, so a retry
can repeat it. Every attempt of one delivery carries the same ``Idempotency-Key`` (the delivery id; also
``X-Nudge-Delivery-Id``): a receiver that remembers the keys it has processed can drop the repeats. The
adapter tries ``attempts`` times; the pipeline then reschedules the delivery, up to its cap.

SSRF protection: the URL is the workspace's, so every address the host resolves to is checked when the
connection is made, and the connection goes to that checked address (no second lookup a DNS rebinding
could change). Link-local addresses (169.254.0.0/16 and fe80::/10: instance metadata, ECS credentials),
AWS's IPv6 service addresses (fd00:ec2::/32), unspecified and multicast addresses are always refused;
private, loopback and other non-global addresses are refused unless ``allow_private`` (local runtime,
tests). No proxies from the environment, no redirects (a 3xx is a permanent failure), http/https only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from nudge.delivery.channels.retry import with_retries
from nudge.delivery.messages import PermanentSendError, Receipt, TransientSendError, Webhook

USER_AGENT = "Nudge-Webhooks/1"
SIGNATURE_HEADER = "X-Nudge-Signature"
TIMESTAMP_HEADER = "X-Nudge-Timestamp"
DELIVERY_HEADER = "X-Nudge-Delivery-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"  # the delivery id: the same on every retry of one delivery

_ALWAYS_BLOCKED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::/32"),  # IMDS fd00:ec2::254, DNS ::253, NTP ::123 on Nitro instances
)
# NAT64 prefixes, which reach the IPv4 address embedded in them (RFC 6052): the well-known 64:ff9b::/96
# (what Route 53 DNS64 synthesizes) carries it in the last 32 bits; the local-use 64:ff9b:1::/48 (RFC 8215)
# in bits 48-63 and 72-87, around the reserved "u" octet.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")
_BODYLESS = frozenset({"GET", "HEAD"})
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "content-type",
        "user-agent",
        DELIVERY_HEADER.lower(),
        IDEMPOTENCY_HEADER.lower(),
        TIMESTAMP_HEADER.lower(),
        SIGNATURE_HEADER.lower(),
    }
)


def signature(key: str, timestamp: str, body: str) -> str:
    """The X-Nudge-Signature value: ``v0=`` + hex HMAC-SHA256 of ``v0:<timestamp>:<body>``."""
    digest = hmac.new(key.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def verify_signature(
    key: str,
    timestamp: str,
    body: str,
    header: str,
    *,
    max_age: float | None = None,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``timestamp`` and ``body`` with ``key`` (constant-time comparison).

    With ``max_age`` (seconds) a timestamp further than that from ``now`` is refused too, so a captured
    request cannot be replayed later.
    """
    if max_age is not None:
        try:
            age = abs((time.time() if now is None else now) - float(timestamp))
        except ValueError:
            return False
        if age > max_age:
            return False
    return hmac.compare_digest(signature(key, timestamp, body).encode(), header.strip().encode())


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


class BlockedAddressError(OSError):
    """The webhook's host resolves to an address Nudge will not connect to."""


def blocked_reason(address: str, *, allow_private: bool) -> str | None:
    """Why connecting to ``address`` is refused, or None when it is allowed."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip in _LOCAL_NAT64:
            packed = ip.packed
            ip = ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if any(ip in network for network in _ALWAYS_BLOCKED) or ip.is_link_local:
        return "link-local or cloud metadata address"
    if ip.is_unspecified or ip.is_multicast:
        return "unspecified or multicast address"
    if not allow_private and (ip.is_loopback or ip.is_private or not ip.is_global):
        return "private or loopback address"
    return None


def _guarded_connect(
    address: tuple[str, int],
    timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    *,
    allow_private: bool,
) -> socket.socket:
    """socket.create_connection, but every resolved address is checked first and only those are used."""
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for *_, sockaddr in infos:
        why = blocked_reason(str(sockaddr[0]), allow_private=allow_private)
        if why is not None:
            raise BlockedAddressError(f"refused to connect to {host}: {why}")
    last: OSError | None = None
    for family, socktype, proto, _, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            last = error
            sock.close()
    raise last or OSError(f"no address for {host}")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, allow_private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_guarded_connect, allow_private=allow_private)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, allow_private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(_guarded_connect, allow_private=allow_private)


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__()
        self._allow_private = allow_private

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_GuardedHTTPConnection, allow_private=self._allow_private)
        return self.do_open(connection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool) -> None:
        super().__init__(context=ssl.create_default_context())
        self._allow_private = allow_private

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_GuardedHTTPSConnection, allow_private=self._allow_private)
        return self.do_open(connection, req, context=self._context)  # type: ignore[attr-defined]


def _opener(allow_private: bool) -> urllib.request.OpenerDirector:
    """http/https only, guarded connections, no proxy, no redirects: non-2xx answers raise HTTPError."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        _GuardedHTTPHandler(allow_private),
        _GuardedHTTPSHandler(allow_private),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def guarded_opener(allow_private: bool) -> urllib.request.OpenerDirector:
    """The opener this channel sends with, for other outbound requests to URLs a workspace chose (reporting
    webhooks): the same SSRF guard, no proxy, no redirects."""
    return _opener(allow_private)


class _RetryableStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _transient(error: BaseException) -> bool:
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BlockedAddressError):
        return False
    return isinstance(error, _RetryableStatus | urllib.error.URLError | OSError | http.client.HTTPException)


class HttpWebhook:
    def __init__(
        self,
        *,
        timeout: float = 10.0,
        attempts: int = 3,
        base_delay: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        allow_private: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._timeout = timeout
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self._clock = clock
        self._opener = _opener(allow_private)

    def _check(self, message: Webhook) -> str:
        """The request method, once the URL and headers are acceptable."""
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in message.url):
            # A URL rendered from data may carry CR/LF (header injection) or spaces: never worth a retry.
            raise PermanentSendError("webhook URL must not contain spaces or control characters")
        parts = urlsplit(message.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PermanentSendError("webhook URL must be http(s)://host/...")
        try:
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            raise PermanentSendError("webhook URL has an invalid port") from None
        if parts.username is not None or parts.password is not None:
            raise PermanentSendError("webhook URL must not carry credentials")
        method = message.method.upper()
        if not method.isalpha():
            raise PermanentSendError(f"invalid HTTP method {message.method!r}")
        for name, value in message.headers.items():
            if name.lower() in _RESERVED_HEADERS:
                raise PermanentSendError(f"header {name} is set by Nudge")
            if not name or any(c in name for c in ":\r\n ") or "\r" in value or "\n" in value:
                raise PermanentSendError(f"invalid header {name!r}")
            if not (name.isascii() and _latin1(value)):
                raise PermanentSendError(f"header {name!r} cannot be encoded")
        return method

    def _attempt(self, message: Webhook, method: str) -> int:
        body = "" if method in _BODYLESS else message.body
        timestamp = str(int(self._clock()))
        headers = {
            **message.headers,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: message.delivery_id,
            IDEMPOTENCY_HEADER: message.delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(message.signing_key, timestamp, body),
        }
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked: http(s) only
            message.url,
            data=None if method in _BODYLESS else body.encode(),
            headers=headers,
            method=method,
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(65536)  # drain a little so the server sees a clean close
                return int(response.status)
        except urllib.error.HTTPError as error:
            status = int(error.code)
            error.close()
            if status == 429 or status >= 500:
                raise _RetryableStatus(status) from None
            raise PermanentSendError(f"HTTP {status}") from None

    def send_webhook(self, message: Webhook) -> Receipt:
        method = self._check(message)
        try:
            status = with_retries(
                lambda: self._attempt(message, method),
                transient=_transient,
                attempts=self._attempts,
                base_delay=self._base_delay,
                sleep=self._sleep,
            )
        except PermanentSendError:
            raise
        except _RetryableStatus as error:
            raise TransientSendError(f"webhook answered HTTP {error.status}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, BlockedAddressError):
                raise PermanentSendError(str(error.reason)) from None
            raise TransientSendError(f"webhook unreachable: {error.reason}") from None
        except (OSError, http.client.HTTPException) as error:
            raise TransientSendError(f"webhook failed: {type(error).__name__}: {error}") from None
        return Receipt(provider_id=None, detail={"status": status})
