"""The reporting worker: one queued event, built (``payload``), signed and POSTed to its webhook.

Customer.io's scheme: ``X-CIO-Timestamp`` (unix seconds when sent) and ``X-CIO-Signature``, the hex
HMAC-SHA256 of ``v0:<timestamp>:<body>`` keyed with the webhook's signing key. A 2xx answer within
``TIMEOUT_SECONDS`` delivers it; anything else (an error status, a redirect, a timeout, a refused
connection) is retried after ``backoff(attempt)``: a minute, doubling up to 12 hours, for
``MAX_ATTEMPTS`` tries over about a week (Customer.io retries for seven days). Then, or at once when the
endpoint can never be reached (an address the SSRF guard refuses), the event is dead-lettered. Every try
carries the same ``event_id``, so a receiver that saw a try it did not answer in time can drop the repeat.

A webhook deleted, disabled or no longer subscribed to the event since it was queued drops it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nudge.delivery.channels.webhook import BlockedAddressError, guarded_opener
from nudge.reporting import events, payload, store
from nudge.reporting.queue import QueuedEvent

TIMEOUT_SECONDS = 4.0  # Customer.io's
FIRST_DELAY_SECONDS = 60
MAX_DELAY_SECONDS = 12 * 3600  # SQS's longest visibility timeout
MAX_ATTEMPTS = 24  # 1 + 10 doubling waits (17 hours) + 13 waits of 12 hours: about 7.2 days in all
USER_AGENT = "Nudge-Reporting-Webhooks/1"
TIMESTAMP_HEADER = "X-CIO-Timestamp"
SIGNATURE_HEADER = "X-CIO-Signature"


def backoff(attempt: int) -> int:
    """Seconds to wait after failed try number ``attempt`` (1-based)."""
    return min(FIRST_DELAY_SECONDS * 2 ** min(attempt - 1, 20), MAX_DELAY_SECONDS)


def signature(key: str, timestamp: str, body: str) -> str:
    return hmac.new(key.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()


class PostFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Poster(Protocol):
    def post(self, url: str, body: str, key: str) -> int: ...


class HttpPoster:
    """POSTs through the webhook channel's guarded opener (``allow_private``: the local runtime, tests)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._opener = guarded_opener(allow_private)
        self._timeout = timeout
        self._clock = clock

    def post(self, url: str, body: str, key: str) -> int:
        timestamp = str(int(self._clock()))
        request = urllib.request.Request(  # noqa: S310 - the endpoint was checked: http(s) only
            url,
            data=body.encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(key, timestamp, body),
            },
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(65536)
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            raise PostFailed(f"HTTP {error.code}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, BlockedAddressError):
                raise PostFailed(str(error.reason), permanent=True) from None
            raise PostFailed(f"unreachable: {error.reason}") from None
        except (OSError, http.client.HTTPException) as error:
            raise PostFailed(f"{type(error).__name__}: {error}") from None


_lock = threading.Lock()
_poster: Poster | None = None


def poster() -> Poster:
    global _poster
    with _lock:
        if _poster is None:
            _poster = HttpPoster()
        return _poster


def install(replacement: Poster | None) -> None:
    """Replace the poster (the local runtime allows loopback endpoints; tests record requests)."""
    global _poster
    with _lock:
        _poster = replacement


@dataclass(frozen=True)
class Result:
    outcome: str  # delivered | dropped | retry | dead
    reason: str = ""
    retry_in: int | None = None  # seconds, for ``retry``


def handle(body: str, attempt: int) -> Result:
    """Try queued event ``body`` for the ``attempt``-th time (1-based)."""
    event = QueuedEvent.from_json(body)
    webhook = store.find(event.workspace_id, event.webhook_id)
    if webhook is None or not webhook.wants(events.name(event.object_type, event.metric)):
        return Result("dropped", "the webhook was deleted, disabled or unsubscribed from the event")
    try:
        poster().post(webhook.endpoint, payload.build(event, webhook), webhook.signing_key())
    except PostFailed as failure:
        if failure.permanent:
            return Result("dead", failure.reason)
        if attempt >= MAX_ATTEMPTS:
            return Result("dead", f"{attempt} tries failed; the last: {failure.reason}")
        return Result("retry", failure.reason, backoff(attempt))
    return Result("delivered")
