"""Delivery metrics reported through the Track API (``/api/v1/metrics``, push events, v2 delivery
operations) and the in-app inbox an SDK reads: recorded on the workspace's own deliveries only, and
never moving a delivery's state backwards."""

from __future__ import annotations

import pytest

from nudge import clock, workspaces
from nudge.delivery import pipeline, records, states
from tests.support.deliveries import campaign, cio_id, delivery, metrics, unsubscribed
from tests.support.track import TrackClient


@pytest.fixture
def sent(track, ws, deliver, channels):
    """A campaign email that went out to ann."""
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    delivery_id = campaign(ws, "ann")
    assert deliver(delivery_id).state == states.SENT
    return delivery_id


def _error(answer) -> str:
    return str(answer.json["meta"].get("error") or answer.json["meta"].get("errors"))


def test_metric_is_recorded(track, ws, sent):
    at = clock.now() - 60

    answer = track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "opened", "timestamp": at})

    assert answer.status == 200
    assert metrics(ws, sent)[states.OPENED] == at
    assert delivery(ws, sent).state == states.OPENED


def test_a_metrics_first_time_is_kept(track, ws, sent):
    first = clock.now() - 60
    track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "opened", "timestamp": first})

    track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "opened", "timestamp": first + 30})

    assert metrics(ws, sent)[states.OPENED] == first


def test_unknown_metric_is_refused_naming_the_field(track, ws, sent):
    answer = track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "liked"})

    assert answer.status == 400
    assert _error(answer).startswith("metric must be one of delivered, opened, clicked")
    assert delivery(ws, sent).state == states.SENT


def test_unknown_delivery_is_404(track, sent):
    answer = track.post("/api/v1/metrics", {"delivery_id": "f" * 32, "metric": "opened"})

    assert answer.status == 404


def test_another_workspaces_delivery_is_404(track, sent, account, channels):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs_track = TrackClient(other.site_id, other.track_api_key)
    theirs_track.put("/api/v1/customers/bob", {"email": "bob@example.com"})
    theirs = campaign(other.workspace_id, "bob")
    assert pipeline.process(other.workspace_id, theirs).state == states.SENT

    answer = track.post("/api/v1/metrics", {"delivery_id": theirs, "metric": "opened"})

    assert answer.status == 404
    assert states.OPENED not in metrics(other.workspace_id, theirs)
    assert delivery(other.workspace_id, theirs).state == states.SENT


def test_a_delivery_never_sent_takes_no_metrics(track, ws, sent):
    drafted = "a" * 32
    records.queue(
        ws,
        records.NewDelivery(
            drafted, cio_id(ws, "ann"), "email", "transactional", {"content": {}}, draft=True
        ),
    )

    answer = track.post("/api/v1/metrics", {"delivery_id": drafted, "metric": "opened"})

    assert answer.status == 400
    assert _error(answer) == f"delivery {drafted} was not sent: it is drafted"
    assert delivery(ws, drafted).state == states.DRAFTED
    assert states.OPENED not in metrics(ws, drafted)


@pytest.mark.parametrize("path", ["/api/v1/push/events", "/push/events"])
def test_push_events_are_recorded(track, ws, deliver, channels, path):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    track.put("/api/v1/customers/ann/devices", {"device": {"id": "tok-1", "platform": "ios"}})
    delivery_id = campaign(ws, "ann", "push")
    assert deliver(delivery_id).state == states.SENT
    at = clock.now() - 5

    answer = track.post(
        path, {"delivery_id": delivery_id, "event": "opened", "device_id": "tok-1", "timestamp": at}
    )

    assert answer.status == 200
    assert metrics(ws, delivery_id)[states.OPENED] == at


def test_v2_delivery_event_is_recorded(track, ws, sent):
    at = clock.now() - 5
    op = {
        "type": "delivery",
        "action": "event",
        "identifiers": {"id": sent},
        "name": "converted",
        "timestamp": at,
    }

    answer = track.post("/api/v2/entity", op)

    assert answer.status == 200
    assert metrics(ws, sent)[states.CONVERTED] == at
    assert delivery(ws, sent).state == states.CONVERTED


def test_v2_batch_reports_the_bad_delivery_operation_and_applies_the_rest(track, ws, sent):
    def op(delivery_id, name):
        return {"type": "delivery", "action": "event", "identifiers": {"id": delivery_id}, "name": name}

    batch = [
        op(sent, "opened"),
        op("f" * 32, "opened"),
        op(sent, "liked"),
        {"type": "person", "action": "identify", "identifiers": {"id": "ann"}, "attributes": {"plan": "pro"}},
    ]

    answer = track.post("/api/v2/batch", {"batch": batch})

    assert answer.status == 207
    errors = answer.json["errors"]
    assert sorted({e["batch_index"] for e in errors}) == [1, 2]
    assert {e["batch_index"]: e["reason"] for e in errors}[1] == "not_found"
    assert states.OPENED in metrics(ws, sent)


def test_states_only_move_forward(track, ws, sent):
    track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "clicked"})

    answer = track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "opened"})

    assert answer.status == 200
    assert delivery(ws, sent).state == states.CLICKED
    assert {states.OPENED, states.CLICKED} <= set(metrics(ws, sent))


def test_unsubscribed_metric_unsubscribes_the_person(track, ws, sent):
    track.post("/api/v1/metrics", {"delivery_id": sent, "metric": "unsubscribed"})

    assert unsubscribed(ws, "ann") is True
    assert delivery(ws, sent).state == states.UNSUBSCRIBED


# --- in-app -----------------------------------------------------------------------------------------

INBOX = "/api/v1/customers/ann/in_app_messages"


@pytest.fixture
def in_app(app, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    answer = app.post("/v1/send/in_app", {"identifiers": {"id": "ann"}, "body": "Hi {{ customer.id }}"})
    assert answer.status == 200, answer.raw
    delivery_id = answer.json["delivery_id"]
    assert deliver(delivery_id).state == states.SENT
    return delivery_id


def test_in_app_message_is_listed_rendered(track, in_app):
    answer = track.get(INBOX)

    assert answer.status == 200
    [message] = answer.json["messages"]
    assert message["delivery_id"] == in_app
    assert message["body"] == "Hi ann"


def test_opening_an_in_app_message_records_the_metric(track, ws, in_app):
    answer = track.post(f"{INBOX}/{in_app}/opened")

    assert answer.status == 200
    assert states.OPENED in metrics(ws, in_app)
    assert [m["state"] for m in track.get(INBOX).json["messages"]] == ["opened"]


def test_a_dismissed_in_app_message_is_no_longer_listed(track, ws, in_app):
    answer = track.post(f"{INBOX}/{in_app}/dismissed")

    assert answer.status == 200
    assert track.get(INBOX).json["messages"] == []


def test_unknown_in_app_action_is_400(track, ws, in_app):
    answer = track.post(f"{INBOX}/{in_app}/liked")

    assert answer.status == 400
    assert len(track.get(INBOX).json["messages"]) == 1


def test_unknown_in_app_message_is_404(track, in_app):
    assert track.post(f"{INBOX}/{'f' * 32}/opened").status == 404


def test_in_app_messages_of_an_unknown_person_are_404(track, in_app):
    assert track.get("/api/v1/customers/nobody/in_app_messages").status == 404
