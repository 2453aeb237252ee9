"""Reporting webhooks in tests: a receiver on loopback that checks Customer.io's signature, and a queue
port that keeps what the subscriber queued for the real reporting handler to run."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(key: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does (the README's snippet): HMAC-SHA256 of ``v0:<timestamp>:<body>``, hex."""
    expected = hmac.new(key.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in turn, then 200
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def events(self, key: str) -> list[dict[str, Any]]:
        """Every request's body, once its signature checked out with ``key``."""
        out = []
        for request in self.received:
            assert verify(
                key, request.headers["x-cio-timestamp"], request.body, request.headers["x-cio-signature"]
            )
            out.append(request.json)
        return out

    def wait_for(self, count: int, timeout: float = 20.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.received) >= count, timeout)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.arrived:
                state.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status = state.statuses.pop(0) if state.statuses else 200
                state.arrived.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/cio"
    # A short poll, so shutting the receiver down at the end of a test does not wait half a second.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class RecordingQueue:
    """The reporting queue port: queued bodies wait in ``waiting``; ``retried`` and ``dead`` record what
    the handler asked of the queue."""

    def __init__(self) -> None:
        self.waiting: list[str] = []
        self.retried: list[tuple[str, int]] = []
        self.dead: list[tuple[str, str]] = []
        self.refusals = 0  # sends still to refuse, as SQS's SendMessageBatch answering Failed entries

    def send(self, bodies: Sequence[str]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise RuntimeError("reporting events not queued: InternalError")
        self.waiting.extend(bodies)

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self.retried.append((receipt_handle, delay_seconds))

    def dead_letter(self, body: str, reason: str) -> None:
        self.dead.append((body, reason))


def sqs_event(bodies: Sequence[str], receive_count: int = 1) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": "0",
                    "SenderId": "test",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:reporting",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }
