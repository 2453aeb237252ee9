"""The reporting queue in the local runtime: what SQS and its Lambda mapping do in AWS, in one thread.

Events wait in memory, each handed to the reporting handler when due, as Lambda's SQS mapping would (a
batch of one, with its receive count). A failed POST comes back after the delay the worker asked for
(``retry_later``; divided by the runtime's time scale), and what the worker gives up on is kept in
``dead_letters``. Loopback and private endpoints are allowed here, so a developer can receive events on
their own machine. Queued events do not survive a restart.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from nudge.reporting import queue as reporting_queue
from nudge.reporting import worker
from nudge_tools.local.exports_worker import DeadlineContext, sqs_event

CRASH_RETRY_SECONDS = 1.0  # a handler that failed without asking for a delay (SQS: the visibility timeout)


class LocalReportingQueue:
    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]], time_scale: float = 1.0):
        self.handler = handler
        self.time_scale = max(time_scale, 1e-9)
        self.dead_letters: list[tuple[str, str]] = []  # (body, reason)
        self.delivered = 0
        self._due: list[tuple[float, int, str, int, str]] = []  # (due, order, body, receive count, handle)
        self._order = itertools.count()
        self._delays: dict[str, int] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nudge-reporting", daemon=True)

    # the port (nudge.reporting.queue.ReportingQueue)
    def send(self, bodies: Sequence[str]) -> None:
        with self._lock:
            for body in bodies:
                heapq.heappush(self._due, (time.monotonic(), next(self._order), body, 1, str(uuid.uuid4())))
            self._lock.notify()

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self._delays[receipt_handle] = delay_seconds

    def dead_letter(self, body: str, reason: str) -> None:
        self.dead_letters.append((body, reason))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify()
        self._thread.join(timeout=10)
        reporting_queue.install(None)
        worker.install(None)

    def status(self) -> dict[str, Any]:
        return {
            "waiting": len(self._due),
            "delivered": self.delivered,
            "dead_letters": len(self.dead_letters),
        }

    def _next(self) -> tuple[str, int, str] | None:
        with self._lock:
            while not self._stop.is_set():
                if self._due and self._due[0][0] <= time.monotonic():
                    _, _, body, count, handle = heapq.heappop(self._due)
                    return body, count, handle
                wait = self._due[0][0] - time.monotonic() if self._due else 0.5
                self._lock.wait(timeout=min(max(wait, 0.01), 0.5))
        return None

    def _loop(self) -> None:
        while (taken := self._next()) is not None:
            body, count, handle = taken
            event = sqs_event(body, count, message_id=handle)
            event["Records"][0]["receiptHandle"] = handle
            event["Records"][0]["eventSourceARN"] = "arn:aws:sqs:us-east-1:000000000000:nudge-reporting"
            answer = self.handler(event, DeadlineContext(60.0, function_name="nudge-reporting"))
            self.delivered += 1
            if answer.get("batchItemFailures"):
                delay = self._delays.pop(handle, CRASH_RETRY_SECONDS) / self.time_scale
                with self._lock:
                    heapq.heappush(
                        self._due, (time.monotonic() + delay, next(self._order), body, count + 1, handle)
                    )
            self._delays.pop(handle, None)


def start(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], time_scale: float = 1.0
) -> LocalReportingQueue:
    """The queue installed as the reporting port, with loopback endpoints allowed, and its thread."""
    local = LocalReportingQueue(handler, time_scale)
    reporting_queue.install(local)
    worker.install(worker.HttpPoster(allow_private=True))
    local.start()
    return local
