"""The port between the subscriber and the worker: the reporting queue (SQS in AWS, a thread in the local
runtime, a list in tests).

One message per event and webhook, its body the JSON of ``QueuedEvent``. The worker retries a failed
POST by hiding the message for the backoff's delay (``retry_later``, SQS's visibility timeout: up to 12
hours, far beyond SendMessage's 15-minute delay) and puts an event it gives up on in the dead-letter queue
itself (``dead_letter``), with the reason; the queue's own redrive policy catches what the worker could
not handle at all (a crash on every try).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from nudge import aws_clients
from nudge.settings import REPORTING_DEAD_LETTERS_ENV, REPORTING_QUEUE_ENV, get_settings

QUEUE_URL_VARIABLE = REPORTING_QUEUE_ENV
DEAD_LETTERS_URL_VARIABLE = REPORTING_DEAD_LETTERS_ENV
_BATCH = 10  # SendMessageBatch's most


@dataclass(frozen=True)
class QueuedEvent:
    """What the worker needs to build and send one event to one webhook. ``event_id`` is fixed here, so
    every try carries the same one."""

    workspace_id: str
    webhook_id: int
    event_id: str
    object_type: str  # email, sms, push, in_app, webhook, or customer
    metric: str
    timestamp: int
    cio_id: str
    delivery_id: str | None = None
    link: int | None = None  # a click's link, by its index in the message
    content: str | None = None  # a preferences change: the person's preferences as JSON, as Customer.io's

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> QueuedEvent:
        data = json.loads(body)
        return cls(
            workspace_id=str(data["workspace_id"]),
            webhook_id=int(data["webhook_id"]),
            event_id=str(data["event_id"]),
            object_type=str(data["object_type"]),
            metric=str(data["metric"]),
            timestamp=int(data["timestamp"]),
            cio_id=str(data["cio_id"]),
            delivery_id=data.get("delivery_id"),
            link=int(data["link"]) if data.get("link") is not None else None,
            content=data.get("content"),
        )


class ReportingQueue(Protocol):
    def send(self, bodies: Sequence[str]) -> None: ...

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None: ...

    def dead_letter(self, body: str, reason: str) -> None: ...


def dead_letter_body(body: str, reason: str) -> str:
    return json.dumps({"event": json.loads(body), "reason": reason}, separators=(",", ":"))


class SqsQueue:
    def __init__(self, url: str, dead_letters_url: str) -> None:
        self.url = url
        self.dead_letters_url = dead_letters_url
        self._client: Any = aws_clients.client("sqs")

    def send(self, bodies: Sequence[str]) -> None:
        for start in range(0, len(bodies), _BATCH):
            entries = [
                {"Id": str(index), "MessageBody": body}
                for index, body in enumerate(bodies[start : start + _BATCH])
            ]
            answer = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
            if answer.get("Failed"):
                # Raised, so the reporter's call fails and is retried (its records, SES's redelivery).
                codes = sorted({str(failed.get("Code")) for failed in answer["Failed"]})
                raise RuntimeError(f"reporting events not queued: {', '.join(codes)}")

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self._client.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
        )

    def dead_letter(self, body: str, reason: str) -> None:
        self._client.send_message(QueueUrl=self.dead_letters_url, MessageBody=dead_letter_body(body, reason))


_lock = threading.Lock()
_installed: ReportingQueue | None = None


def get() -> ReportingQueue:
    global _installed
    with _lock:
        if _installed is None:
            settings = get_settings()
            if not settings.reporting_queue_url:
                raise RuntimeError(f"{QUEUE_URL_VARIABLE} is not set: reporting events cannot be queued")
            _installed = SqsQueue(settings.reporting_queue_url, settings.reporting_dead_letters_url)
        return _installed


def install(queue: ReportingQueue | None) -> None:
    """Replace the port (the local runtime, tests); None goes back to the environment's."""
    global _installed
    with _lock:
        _installed = queue
