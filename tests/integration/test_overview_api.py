"""The console's Overview (``GET /v1/overview``) through the App API handler under moto: people from
billing's counters, this period's messages per channel, active campaigns, and deliveries per day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nudge import clock, workspaces
from nudge.campaigns import store
from nudge.delivery import records, states
from nudge.delivery.template_tests import TEST_SOURCE
from nudge.http.app_api import overview

DAY = 86_400


@pytest.fixture
def keys(account: None) -> workspaces.IssuedKeys:
    """A workspace whose first billing period opens today, as a new workspace's does."""
    today = datetime.fromtimestamp(clock.now(), UTC).date().isoformat()
    return workspaces.create_workspace("Acme", "essentials", today)


def _send(app, deliver, person: str) -> str:
    answer = app.post("/v1/send/email", {"identifiers": {"id": person}, "subject": "Hi", "body": "<p>Hi</p>"})
    assert answer.status == 200, answer.raw
    assert deliver(answer.json["delivery_id"]).state == states.SENT
    return str(answer.json["delivery_id"])


def test_counts_people_messages_and_campaigns(app, ws, track, pump, deliver, monkeypatch):
    now = {"t": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: now["t"])
    # Activation without Step Functions: only the campaign's state matters here.
    monkeypatch.setattr(store, "_deploy", lambda ws, cid, version, definition: ("arn:m", "arn:m:1"))
    for person in ("ann", "bob", "cat"):
        track.put(f"/api/v1/customers/{person}", {"email": f"{person}@example.com"})
    now["t"] -= 2 * DAY
    _send(app, deliver, "ann")
    now["t"] += 2 * DAY
    _send(app, deliver, "ann")
    _send(app, deliver, "bob")
    # A template test to a member: not the workspace's message to a person, so neither metered nor charted.
    test_send = records.NewDelivery("t1", "member", "email", TEST_SOURCE, {"content": {}}, billable=False)
    records.queue(ws, test_send)
    campaign = {
        "name": "Orders",
        "trigger": {"type": "event", "name": "order_placed"},
        "workflow": {
            "start": "s",
            "blocks": {"s": {"type": "delay", "seconds": 60}},
        },
    }
    created = app.post("/v1/campaigns", {"campaign": campaign})
    assert created.status == 200, created.json
    app.post("/v1/campaigns", {"campaign": {**campaign, "name": "Draft"}})
    assert app.post(f"/v1/campaigns/{created.json['campaign']['id']}/activate").status == 200
    assert pump.wait_idle()

    answer = app.get("/v1/overview")

    assert answer.status == 200, answer.json
    body = answer.json
    assert body["people"] == 3
    assert body["messages_by_channel"]["email"] == 3
    assert body["messages_by_channel"] == app.get("/v1/billing/usage").json["usage"]["messages"]["by_channel"]
    assert body["messages_by_channel"]["sms"] == 0
    assert body["active_campaigns"] == 1
    days = body["messages_per_day"]
    assert len(days) == overview.DAYS
    assert [d["count"] for d in days[-3:]] == [1, 0, 2]
    assert sum(d["count"] for d in days) == 3
    assert body["messages_per_day_complete"] is True


def test_a_new_workspace_is_all_zeroes(app):
    body = app.get("/v1/overview").json
    assert body["people"] == 0 and body["active_campaigns"] == 0
    assert set(body["messages_by_channel"]) == {"email", "sms", "push", "in_app", "webhook"}
    assert all(d["count"] == 0 for d in body["messages_per_day"])


def test_the_daily_read_is_bounded(app, track, deliver, monkeypatch):
    monkeypatch.setattr(overview, "DAY_READ_MAX", 1)
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    sent = [_send(app, deliver, "ann") for _ in range(12)]  # 8 shards: at least one holds two

    body = app.get("/v1/overview").json

    assert body["messages_per_day_complete"] is False
    assert sum(d["count"] for d in body["messages_per_day"]) < len(sent)
