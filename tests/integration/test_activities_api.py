"""Activities over the App API: ``GET /v1/customers/{id}/activities`` and ``GET /v1/activities``.

Real handlers under moto, with the real stream records of the people, events, segments and deliveries
tables driven through the evaluate and send functions by the local runtime's stream pumps, as Lambda's
mappings would: each kind of activity appears after the action that causes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pynamodb.connection.base import Connection
from pynamodb.exceptions import PutError

from functions.send import handler as send
from nudge import clock, workspaces
from nudge.activities import kinds
from nudge.activities import log as activity_log
from nudge.delivery import records, states
from nudge.model.activities import ActivityItem, activity_pk
from nudge.model.events import EventItem
from nudge.model.tables import create_tables, streamed_tables
from nudge_tools.local.apigw import LocalContext
from nudge_tools.local.streams import MappingSettings, StreamPump
from tests.integration.test_evaluate_calls import Streams
from tests.integration.test_evaluate_calls import run as run_evaluate
from tests.integration.test_people_api import refused
from tests.support.deliveries import campaign, cio_id
from tests.support.track import AppClient, TrackClient


@pytest.fixture
def at(monkeypatch):
    """The clock, set by the test, so each action has its own second and the order is known."""
    now = {"t": 1_700_000_000}
    monkeypatch.setattr(clock, "now", lambda: now["t"])
    return now


@pytest.fixture
def send_pump(account: None, channels: Any) -> Iterator[StreamPump]:
    """The deliveries stream feeding the real send function (fake channels under it)."""
    streams = {name: m.describe_table()["LatestStreamArn"] for name, m in streamed_tables("send").items()}
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    running = StreamPump(
        client,
        streams,
        send.handler,
        region="us-east-1",
        mapping=MappingSettings(max_retries=2, poll_seconds=0.02),
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def settle(pump: StreamPump, send_pump: StreamPump):
    def wait() -> None:
        for _ in range(2):  # a send's records feed evaluation and the reverse: twice reaches the end
            assert send_pump.wait_idle(timeout=20)
            assert pump.wait_idle(timeout=20)

    return wait


def _activities(app: AppClient, path: str) -> list[dict[str, Any]]:
    answer = app.get(path)
    assert answer.status == 200, answer.json
    return list(answer.json["activities"])


def _walk(app: AppClient, path: str, limit: int) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    pages, start = [], ""
    joiner = "&" if "?" in path else "?"
    while True:
        answer = app.get(f"{path}{joiner}limit={limit}" + (f"&start={start}" if start else ""))
        assert answer.status == 200, answer.json
        pages.append(answer.json["activities"])
        start = answer.json["next"]
        if not start:
            return pages, [a for p in pages for a in p]


def _sent_record(ws: str, delivery_id: str, sequence: str, at: int) -> dict[str, Any]:
    """The deliveries stream's record of a queued delivery becoming sent, from the stored item."""
    delivery = records.load(ws, delivery_id)
    assert delivery is not None
    old = delivery.serialize()
    delivery.state = states.SENT
    delivery.metrics = {**delivery.metrics.as_dict(), states.SENT: at}
    return {
        "eventID": sequence,
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": sequence, "OldImage": old, "NewImage": delivery.serialize()},
    }


def _queued_record(ws: str, delivery_id: str, sequence: str) -> dict[str, Any]:
    """The deliveries stream's record of a delivery being queued, from the stored item."""
    delivery = records.load(ws, delivery_id)
    assert delivery is not None and delivery.state == states.QUEUED
    return {
        "eventID": sequence,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"SequenceNumber": sequence, "NewImage": delivery.serialize()},
    }


def _send_batch(*stream_records: dict[str, Any]) -> dict[str, Any]:
    context: Any = LocalContext()
    return send.handler({"Records": list(stream_records)}, context)


def test_each_kind_appears_after_the_action_that_causes_it_newest_first(app, track, ws, at, settle, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "plan": "free"})
    settle()
    at["t"] += 1
    segment = app.post(
        "/v1/segments",
        {
            "segment": {
                "name": "Pro",
                "conditions": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
            }
        },
    ).json["segment"]
    settle()
    at["t"] += 1
    track.post("/api/v1/customers/ann/events", {"name": "purchase", "data": {"total": 30}})
    at["t"] += 1
    track.post("/api/v1/customers/ann/events", {"name": "/pricing", "type": "page"})
    settle()
    at["t"] += 1
    track.put("/api/v1/customers/ann", {"plan": "pro"})  # an attribute change, and the segment entered
    settle()
    at["t"] += 1
    delivery_id = campaign(ws, "ann")  # queued: the send function sends it
    settle()
    for metric in ("delivered", "opened", "clicked"):
        at["t"] += 1
        assert track.post("/api/v1/metrics", {"delivery_id": delivery_id, "metric": metric}).status == 200
        settle()
    at["t"] += 1
    track.put("/api/v1/customers/ann", {"plan": "free"})  # and exited
    settle()

    found = _activities(app, "/v1/customers/ann/activities?limit=100")

    assert [(a["type"], a["name"]) for a in found] == [
        ("exited_segment", str(segment["id"])),
        ("attribute_change", "plan"),
        ("clicked_email", None),
        ("opened_email", None),
        ("delivered_email", None),
        ("sent_email", None),
        ("entered_segment", str(segment["id"])),
        ("attribute_change", "plan"),
        ("page", "/pricing"),
        ("event", "purchase"),
    ]
    times = [a["timestamp"] for a in found]
    assert times == sorted(times, reverse=True)
    change = found[1]
    assert change["data"] == {"attribute": "plan", "from": "pro", "to": "free"}
    assert change["customer_id"] == "ann"
    assert change["customer_identifiers"] == {
        "id": "ann",
        "email": "ann@example.com",
        "cio_id": cio_id(ws, "ann"),
    }
    sent = found[5]
    assert sent["delivery_id"] == delivery_id and sent["delivery_type"] == "email"
    assert sent["data"]["campaign_id"] == "1"
    assert found[9]["data"] == {"total": 30}
    assert set(found[0]) == {
        "id", "customer_id", "customer_identifiers", "delivery_id", "delivery_type", "timestamp", "type",
        "name", "data",
    }  # fmt: skip
    # The workspace's listing holds the same, with the same identifiers.
    assert _activities(app, "/v1/activities?limit=100") == found


def test_a_bounce_on_another_channel_is_named_as_customerio_names_it(app, track, ws, at, settle):
    track.put("/api/v1/customers/ann", {"phone": "+15555550100"})
    settle()
    delivery_id = campaign(ws, "ann", channel="sms")
    settle()
    at["t"] += 1
    track.post("/api/v1/metrics", {"delivery_id": delivery_id, "metric": "bounced"})
    settle()

    found = _activities(app, "/v1/customers/ann/activities")

    assert [a["type"] for a in found][:2] == ["bounced_twilio", "sent_twilio"]
    assert {a["delivery_type"] for a in found[:2]} == {"twilio"}


def test_pages_lose_nothing_across_sources_and_ties(app, track, ws, at, pump):
    track.put("/api/v1/customers/ann", {"n": 0})
    for i in range(1, 12):
        at["t"] = 1_700_000_000 + i // 3  # three a second: ties within and across the two sources
        if i % 2:
            track.post("/api/v1/customers/ann/events", {"name": f"e{i}"})
        else:
            track.put("/api/v1/customers/ann", {"n": i})
    assert pump.wait_idle(timeout=20)

    pages, person = _walk(app, "/v1/customers/ann/activities", limit=4)
    _, workspace = _walk(app, "/v1/activities", limit=3)

    assert [len(p) for p in pages] == [4, 4, 3]
    names = sorted((a["name"], a["data"].get("to")) for a in person)
    assert names == sorted([(f"e{i}", None) for i in range(1, 12, 2)] + [("n", i) for i in range(2, 12, 2)])
    assert len({a["id"] for a in person}) == 11
    assert [a["timestamp"] for a in person] == sorted((a["timestamp"] for a in person), reverse=True)
    assert workspace == person


def test_type_and_name_filter_both_listings(app, track, at, pump):
    track.put("/api/v1/customers/ann", {"plan": "free"})
    track.put("/api/v1/customers/bob", {"plan": "free"})
    for person in ("ann", "bob"):
        at["t"] += 1
        track.post(f"/api/v1/customers/{person}/events", {"name": "purchase"})
        track.post(f"/api/v1/customers/{person}/events", {"name": "signup"})
        track.put(f"/api/v1/customers/{person}", {"plan": "pro", "seats": 3})
    assert pump.wait_idle(timeout=20)

    purchases = _activities(app, "/v1/activities?name=purchase")
    plan_changes = _activities(app, "/v1/activities?type=attribute_change&name=plan")
    anns = _activities(app, "/v1/customers/ann/activities?type=attribute_change")

    assert [(a["customer_id"], a["type"]) for a in purchases] == [("bob", "event"), ("ann", "event")]
    assert [(a["customer_id"], a["data"]["to"]) for a in plan_changes] == [("bob", "pro"), ("ann", "pro")]
    assert sorted(a["name"] for a in anns) == ["plan", "seats"]
    assert _activities(app, "/v1/activities?type=page") == []


def test_filtered_pages_go_on_with_next(app, track, at, pump):
    track.put("/api/v1/customers/ann", {})
    for i in range(7):
        at["t"] += 1
        track.post("/api/v1/customers/ann/events", {"name": "purchase" if i % 2 else "view"})
    assert pump.wait_idle(timeout=20)

    pages, found = _walk(app, "/v1/customers/ann/activities?name=purchase", limit=2)

    assert [len(p) for p in pages] == [2, 1]
    assert {a["name"] for a in found} == {"purchase"}


def test_identity_and_subscription_changes_are_attribute_changes(app, track, at, pump):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    at["t"] += 1
    track.put("/api/v1/customers/ann", {"email": "ann@example.org", "unsubscribed": True})
    assert pump.wait_idle(timeout=20)

    found = _activities(app, "/v1/customers/ann/activities?type=attribute_change")

    assert sorted((a["name"], a["data"]["from"], a["data"]["to"]) for a in found) == [
        ("email", "ann@example.com", "ann@example.org"),
        ("unsubscribed", False, True),
    ]


def test_a_deleted_persons_activities_go_with_them(app, track, ws, at, pump):
    for person in ("ann", "bob"):
        track.put(f"/api/v1/customers/{person}", {"plan": "free"})
        track.post(f"/api/v1/customers/{person}/events", {"name": "purchase"})
        at["t"] += 1
        track.put(f"/api/v1/customers/{person}", {"plan": "pro"})
    assert pump.wait_idle(timeout=20)
    ann = cio_id(ws, "ann")
    assert ActivityItem.count(activity_pk(ws, ann)) == 1

    assert track.delete("/api/v1/customers/ann").status == 200
    assert pump.wait_idle(timeout=20)

    assert app.get("/v1/customers/ann/activities").status == 404
    assert {a["customer_id"] for a in _activities(app, "/v1/activities")} == {"bob"}
    assert ActivityItem.count(activity_pk(ws, ann)) == 0


def test_anonymous_events_are_listed_once_merged_into_a_person(app, track):
    track.post("/api/v1/events", {"name": "viewed_pricing", "anonymous_id": "anon-1"})
    track.post("/api/v1/events", {"name": "someone_else", "anonymous_id": "anon-2"})
    assert _activities(app, "/v1/activities") == []  # nobody's yet

    track.put("/api/v1/customers/ann", {"anonymous_id": "anon-1"})

    listed = _activities(app, "/v1/activities")
    assert [(a["customer_id"], a["name"]) for a in listed] == [("ann", "viewed_pricing")]
    assert _activities(app, "/v1/customers/ann/activities") == listed


def test_a_person_is_found_by_email_or_cio_id(app, track, ws, pump):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    track.post("/api/v1/customers/ann/events", {"name": "purchase"})
    assert pump.wait_idle(timeout=20)

    by_email = _activities(app, "/v1/customers/ann@example.com/activities?id_type=email")
    by_cio = _activities(app, f"/v1/customers/cio_{cio_id(ws, 'ann')}/activities?id_type=cio_id")

    assert [a["name"] for a in by_email] == [a["name"] for a in by_cio] == ["purchase"]


def test_another_workspaces_person_is_a_404_and_its_activities_are_not_listed(app, track, pump):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs = TrackClient(other.site_id, other.track_api_key)
    theirs.put("/api/v1/customers/zed", {"plan": "free"})
    theirs.post("/api/v1/customers/zed/events", {"name": "purchase"})
    theirs.put("/api/v1/customers/zed", {"plan": "pro"})
    assert pump.wait_idle(timeout=20)

    answer = app.get("/v1/customers/zed/activities")

    assert answer.status == 404
    assert _activities(app, "/v1/activities") == []
    assert len(_activities(AppClient(other.app_api_key), "/v1/activities")) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=sent_fax", "type"),
        ("type=queued_email", "type"),  # Nudge's in-flight states are not activities
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("start=not-a-token", "start"),
        ("name=" + "x" * 256, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(app, track, query, field):
    track.put("/api/v1/customers/ann", {})

    for path in ("/v1/activities", "/v1/customers/ann/activities"):
        refused(app.get(f"{path}?{query}"), field)


def test_an_unknown_type_names_the_allowed_values(app):
    answer = app.get("/v1/activities?type=sent_fax")

    detail = answer.json["errors"][0]["detail"]
    assert answer.status == 400
    for named in ("event", "page", "attribute_change", "entered_segment", "exited_segment", "twilio"):
        assert named in detail


def test_an_unknown_id_type_is_a_400(app, track):
    track.put("/api/v1/customers/ann", {})

    refused(app.get("/v1/customers/ann/activities?id_type=phone_number"), "customer_id")


def test_an_activity_recorded_twice_is_listed_once(app, track, ws, at, channels):
    """A stream record delivered again (after a failure later in its batch) writes the same activity."""
    track.put("/api/v1/customers/ann", {})
    record = _sent_record(ws, campaign(ws, "ann"), "301", at["t"])

    for _ in range(2):
        assert _send_batch(record) == {"batchItemFailures": []}

    assert [a["type"] for a in _activities(app, "/v1/customers/ann/activities")] == ["sent_email"]


def test_a_batch_whose_activities_cannot_be_written_reports_their_records(
    app, ws, track, at, channels, monkeypatch
):
    track.put("/api/v1/customers/ann", {})
    batch = [_sent_record(ws, campaign(ws, "ann"), number, at["t"]) for number in ("401", "402")]
    batch.append(_sent_record(ws, campaign(ws, "ann"), "403", at["t"]))
    batch[2]["dynamodb"]["NewImage"]["metrics"] = {"M": {}}  # nothing reached: nothing to record

    def refuse(self: Any) -> None:
        raise PutError("throttled")

    monkeypatch.setattr(ActivityItem.batch_write().__class__, "commit", refuse)

    answer = _send_batch(*batch)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "401"}, {"itemIdentifier": "402"}]}
    assert _activities(app, "/v1/customers/ann/activities") == []


def test_a_record_the_activity_log_cannot_read_is_sent_and_logged_and_the_others_recorded(
    app, ws, track, at, channels, caplog
):
    """The send never depends on the activity log: a queued delivery whose image the log cannot read
    (here its metrics) is sent, the record is not failed (a retry would read the same image), the failure
    is logged with the record's sequence number, and the batch's other activities are written."""
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    queued = _queued_record(ws, campaign(ws, "ann"), "501")
    queued["dynamodb"]["NewImage"]["metrics"] = {"S": "not a map"}
    sent = _sent_record(ws, campaign(ws, "ann"), "502", at["t"])

    answer = _send_batch(queued, sent)

    assert answer == {"batchItemFailures": []}
    assert len(channels.email.sent) == 1
    assert records.load(ws, queued["dynamodb"]["NewImage"]["delivery_id"]["S"]).state == states.SENT
    assert [a["type"] for a in _activities(app, "/v1/customers/ann/activities")] == ["sent_email"]
    [logged] = [r for r in caplog.records if r.getMessage() == "activities of a delivery record not recorded"]
    assert logged.sequence_number == "501" and logged.exc_info is not None
    assert isinstance(logged.exc_info[1], activity_log.UnreadableRecord)


def test_a_person_deleted_later_in_the_batch_that_changed_them_keeps_no_activity(app, track, ws, streams):
    """Identify, then delete, in one stream batch: the change recorded first is not written after the
    deletion."""
    track.put("/api/v1/customers/ann", {"plan": "free"})
    track.put("/api/v1/customers/bob", {"plan": "free"})
    streams.consume_all()
    ann = cio_id(ws, "ann")
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.put("/api/v1/customers/bob", {"plan": "pro"})
    assert track.delete("/api/v1/customers/ann").status == 200
    batch = streams.new("people")
    assert [r["eventName"] for r in batch].count("REMOVE") >= 1

    assert run_evaluate(batch) == {"batchItemFailures": []}

    assert ActivityItem.count(activity_pk(ws, ann)) == 0
    assert [(a["customer_id"], a["name"]) for a in _activities(app, "/v1/activities")] == [("bob", "plan")]


def test_an_events_table_from_before_the_index_gains_it_when_tables_are_created(app, track, pump):
    """A local state directory keeps its tables across versions: the index is added, not missing."""
    client: Any = EventItem._get_connection().connection.client
    table = EventItem.Meta.table_name
    client.update_table(
        TableName=table, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by_workspace"}}]
    )
    indexes = client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    assert "by_workspace" not in {i["IndexName"] for i in indexes}

    create_tables()
    track.put("/api/v1/customers/ann", {})
    track.post("/api/v1/customers/ann/events", {"name": "purchase"})
    assert pump.wait_idle(timeout=20)

    assert [a["name"] for a in _activities(app, "/v1/activities")] == ["purchase"]


def test_every_message_type_is_customerios_metric_and_channel():
    assert "sent_email" in kinds.MESSAGE_TYPES and "delivered_twilio" in kinds.MESSAGE_TYPES
    assert "opened_in_app" in kinds.MESSAGE_TYPES and "clicked_push" in kinds.MESSAGE_TYPES
    assert not any(t.startswith(("queued_", "scheduled_", "attempted_")) for t in kinds.MESSAGE_TYPES)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every DynamoDB call PynamoDB makes, by operation."""
    counted: Counter[str] = Counter()
    original = Connection._make_api_call

    def counting(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        counted[operation] += 1
        return original(self, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return counted


def _update(n: int) -> dict[str, Any]:
    return {
        "type": "person",
        "action": "identify",
        "identifiers": {"id": f"p{n}"},
        "attributes": {"plan": "pro"},
    }


@pytest.fixture
def streams(account: None) -> Streams:
    return Streams()


def test_a_batch_of_attribute_changes_is_written_25_to_a_call(app, track, streams, calls):
    people = 60
    assert (
        track.post(
            "/api/v2/batch", {"batch": [_update(n) | {"attributes": {}} for n in range(people)]}
        ).status
        == 200
    )
    streams.consume_all()
    assert track.post("/api/v2/batch", {"batch": [_update(n) for n in range(people)]}).status == 200
    records = streams.new("people")
    calls.clear()
    assert run_evaluate(records) == {"batchItemFailures": []}
    assert calls["BatchWriteItem"] == -(-people // 25)  # the activities, and nothing else batched
    found = _activities(app, "/v1/activities?type=attribute_change&limit=100")
    assert len(found) == people and {a["data"]["to"] for a in found} == {"pro"}


def test_a_page_reads_a_bounded_number_of_index_entries_whatever_the_workspace_size(
    app, track, at, pump, calls
):
    for n in range(40):
        at["t"] += 1
        track.post(f"/api/v1/customers/p{n % 8}/events", {"name": "purchase"})
        track.put(f"/api/v1/customers/p{n % 8}", {"n": n})
    assert pump.wait_idle(timeout=30)

    calls.clear()
    answer = app.get("/v1/activities?limit=5")
    everything = Counter(calls)
    calls.clear()
    app.get("/v1/activities?limit=5&type=event")
    events_only = Counter(calls)

    assert len(answer.json["activities"]) == 5 and answer.json["next"]
    # One Query per index key of each source (8 + 8), one BatchGetItem of the page's people (and the
    # app key's look-up): nothing in proportion to the 80 activities stored.
    assert everything["Query"] == 16
    assert everything["BatchGetItem"] == 1
    assert events_only["Query"] == 8
