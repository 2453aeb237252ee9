"""The port that hands an export to the worker: one message per export (and one more each time the
worker stops before the end and hands the rest to a new invocation).

``get()`` answers the process's port: SQS, at ``NUDGE_EXPORTS_QUEUE_URL``, unless ``install`` put another
in place (the local runtime runs the worker in a thread of its own; tests record the messages).
"""

from __future__ import annotations

import json
import threading
from typing import Any, Protocol

from nudge import aws_clients
from nudge.settings import get_settings

# Deliveries of one message before it is dead-lettered (the stack's redrive policy): the worker's last try
# fails the export with a reason instead of leaving it running.
MAX_RECEIVES = 3


class ExportQueue(Protocol):
    def send(self, workspace_id: str, export_id: int) -> None: ...


def message(workspace_id: str, export_id: int) -> str:
    return json.dumps({"workspace_id": workspace_id, "export_id": export_id}, separators=(",", ":"))


def parse(body: str) -> tuple[str, int]:
    data = json.loads(body)
    return str(data["workspace_id"]), int(data["export_id"])


class SqsQueue:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Any = aws_clients.client("sqs")

    def send(self, workspace_id: str, export_id: int) -> None:
        self._client.send_message(QueueUrl=self.url, MessageBody=message(workspace_id, export_id))


_lock = threading.Lock()
_installed: ExportQueue | None = None


def get() -> ExportQueue:
    global _installed
    with _lock:
        if _installed is None:
            url = get_settings().exports_queue_url
            if not url:
                raise RuntimeError("NUDGE_EXPORTS_QUEUE_URL is not set: exports cannot be started")
            _installed = SqsQueue(url)
        return _installed


def install(queue: ExportQueue | None) -> None:
    """Replace the port (the local runtime, tests); None goes back to the environment's."""
    global _installed
    with _lock:
        _installed = queue
