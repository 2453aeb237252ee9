"""What reporting webhooks cost a workspace that has none: one read of its (empty) list per process per
``store.CACHE_SECONDS``, whatever the number of messages and metrics, and nothing queued."""

from __future__ import annotations

import pytest

from nudge.delivery import feedback, states
from nudge.reporting import queue as reporting_queue
from nudge.reporting import store
from tests.support.reporting import RecordingQueue


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    store.forget()
    made: list[str] = []
    real = store.list_webhooks

    def counted(workspace_id: str) -> list[store.Webhook]:
        made.append(workspace_id)
        return real(workspace_id)

    monkeypatch.setattr(store, "list_webhooks", counted)
    return made


def test_a_workspace_without_webhooks_pays_one_cached_read(app, ws, track, deliver, reads):
    queued = RecordingQueue()
    reporting_queue.install(queued)
    try:
        track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
        for _ in range(5):
            answer = app.post(
                "/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "Hi", "body": "<p>x</p>"}
            )
            delivery_id = answer.json["delivery_id"]
            assert deliver(delivery_id).state == states.SENT
            feedback.opened(ws, delivery_id, 1_700_000_000)
            feedback.opened(ws, delivery_id, 1_700_000_100)
    finally:
        reporting_queue.install(None)

    assert reads == [ws]  # 15 outcomes (5 sent, 10 opens), one read
    assert queued.waiting == []
