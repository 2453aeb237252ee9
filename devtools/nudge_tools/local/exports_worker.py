"""The exports queue and bucket in the local runtime: what SQS and its Lambda mapping do in AWS, in one
thread, and the exports bucket in moto's S3.

Messages wait in memory; one worker thread hands each to the exports handler as Lambda's SQS mapping
would (a batch of one, with the message's receive count), with a context whose time runs out like a
Lambda's (``budget_seconds``), so the worker's hand-over to a new invocation runs locally too. A failed
message is delivered again, up to ``MAX_RECEIVES`` times, then kept in ``dead_letters``.

Download links are signed for moto's server (``aws_endpoint_url``), so anything on the machine can fetch
them. moto's S3 is not part of the saved state: an export's file does not outlive the runtime, and an
export a stop interrupted is failed at the next start with a reason that says to start it again.
"""

from __future__ import annotations

import os
import queue as queues
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from nudge import settings
from nudge.exports import queue as exports_queue
from nudge.exports import store
from nudge.exports.queue import MAX_RECEIVES, message
from nudge.model.exports import Export

BUCKET = "nudge-local-exports"
INTERRUPTED = "the local runtime stopped while the export ran; start it again"

RETRY_DELAY_SECONDS = 1.0


def sqs_event(body: str, receive_count: int, message_id: str | None = None) -> dict[str, Any]:
    """An SQS event of one record, as Lambda's SQS mapping delivers it."""
    return {
        "Records": [
            {
                "messageId": message_id or str(uuid.uuid4()),
                "receiptHandle": "local",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": str(receive_count),
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:nudge-exports",
                "awsRegion": "us-east-1",
            }
        ]
    }


@dataclass
class DeadlineContext:
    """A Lambda context whose remaining time counts down from ``budget_seconds``."""

    budget_seconds: float
    function_name: str = "nudge-exports"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:nudge-exports"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.budget_seconds - (time.monotonic() - self.started)) * 1000))


class LocalExportQueue:
    def __init__(
        self, handler: Callable[[dict[str, Any], Any], dict[str, Any]], budget_seconds: float = 900.0
    ):
        self.handler = handler
        self.budget_seconds = budget_seconds
        self.dead_letters: list[str] = []
        self.delivered = 0
        self._queue: queues.Queue[tuple[str, int]] = queues.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nudge-exports", daemon=True)

    def send(self, workspace_id: str, export_id: int) -> None:
        self._queue.put((message(workspace_id, export_id), 1))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        exports_queue.install(None)

    def status(self) -> dict[str, Any]:
        return {
            "waiting": self._queue.qsize(),
            "delivered": self.delivered,
            "dead_letters": len(self.dead_letters),
        }

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                body, receive_count = self._queue.get(timeout=0.2)
            except queues.Empty:
                continue
            answer = self.handler(sqs_event(body, receive_count), DeadlineContext(self.budget_seconds))
            self.delivered += 1
            if answer.get("batchItemFailures"):
                if receive_count >= MAX_RECEIVES:
                    self.dead_letters.append(body)
                else:
                    self._stop.wait(RETRY_DELAY_SECONDS)  # SQS's visibility timeout, shortened
                    self._queue.put((body, receive_count + 1))


def start(
    endpoint_url: str, region: str, handler: Callable[[dict[str, Any], Any], dict[str, Any]]
) -> LocalExportQueue:
    """The bucket, the settings the handlers read, exports a stop interrupted failed, and the worker
    thread; returns the queue (its ``stop`` ends the thread)."""
    os.environ["NUDGE_EXPORTS_BUCKET"] = BUCKET
    os.environ["NUDGE_EXPORTS_PRESIGN_ENDPOINT"] = endpoint_url
    settings.reload()
    s3 = boto3.client("s3", region_name=region)
    if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=BUCKET)
    for export in Export.scan(Export.status.is_in(store.PENDING, store.RUNNING)):
        if isinstance(export, Export):
            store.fail(export, INTERRUPTED)
    worker = LocalExportQueue(handler)
    exports_queue.install(worker)
    worker.start()
    return worker
