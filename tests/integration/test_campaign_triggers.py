"""Campaign triggers from real data changes: the Track API writes, the stream pump hands the real stream
records to the real evaluate handler (its campaigns consumer included), and a fake Workflows port records
which executions would start. Replayed records, the 72-hour rule, filters, frequency, attribute values
and date triggers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config

from nudge import clock
from nudge.campaigns import executions, journeys, lifecycle, metrics, steps, store, triggers
from nudge.model.tables import streamed_tables
from nudge_tools.local.apigw import LocalContext
from nudge_tools.local.streams import MappingSettings, StreamPump
from tests.support.people import profile
from tests.support.workflows import FakeWorkflows, fake_workflows

EXIT_ONLY = {"start": "b1", "blocks": {"b1": {"type": "exit"}}}
PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}


@dataclass
class Stream:
    """The stream pump on the real evaluate handler, keeping every record it delivered (for replays)."""

    pump: StreamPump
    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def idle(self) -> None:
        assert self.pump.wait_idle()

    def matching(self, table_suffix: str, event_name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                r
                for r in self.records
                if r["eventSourceARN"].split("/stream/")[0].endswith(table_suffix)
                and r["eventName"] == event_name
            ]

    def replay(self, record: dict[str, Any]) -> None:
        from functions.evaluate import handler as evaluate

        assert evaluate.handler({"Records": [record]}, LocalContext()) == {"batchItemFailures": []}


@pytest.fixture
def fake() -> Iterator[FakeWorkflows]:
    with fake_workflows() as recorded:
        yield recorded


@pytest.fixture
def stream(account: None, fake: FakeWorkflows) -> Iterator[Stream]:
    from functions.evaluate import handler as evaluate

    streams = {
        name: model.describe_table()["LatestStreamArn"] for name, model in streamed_tables("evaluate").items()
    }
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    holder: list[Stream] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        with holder[0].lock:
            holder[0].records.extend(event["Records"])
        return evaluate.handler(event, context)

    pump = StreamPump(
        client,
        streams,
        handler,
        region="us-east-1",
        mapping=MappingSettings(max_retries=2, poll_seconds=0.02),
    )
    holder.append(Stream(pump))
    pump.start()
    yield holder[0]
    pump.stop()
    assert pump.status()["dead_letters"] == []


def campaign(ws: str, trigger: dict[str, Any], **extra: Any) -> dict[str, Any]:
    created = store.create(ws, {"name": "C", "trigger": trigger, "workflow": EXIT_ONLY, **extra})
    return lifecycle.activate(ws, created["id"])


def cio(ws: str, identifier: str) -> str:
    found = profile(ws, identifier)
    assert found is not None
    return str(found["cio_id"])


def started_for(fake: FakeWorkflows, campaign_id: str) -> list[Any]:
    return [s for s in fake.journeys() if s.payload["campaign_id"] == campaign_id]


# --- events --------------------------------------------------------------------------------------------


def test_an_event_starts_one_execution_and_its_replayed_record_none(ws, track, stream, fake):
    welcome = campaign(ws, {"type": "event", "name": "signed_up"})
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.post("/api/v1/customers/ann/events", {"name": "signed_up", "id": "01EVT", "data": {"via": "ads"}})
    stream.idle()
    [start] = started_for(fake, welcome["id"])
    person = cio(ws, "ann")
    assert start.target_arn == welcome["version_arn"]
    assert start.name == executions.execution_name(welcome["id"], person, "01EVT")
    payload = start.payload
    assert payload["workspace_id"] == ws and payload["cio_id"] == person and payload["version"] == 1
    assert payload["trigger"]["type"] == "event" and payload["trigger"]["id"] == "01EVT"
    assert payload["trigger"]["name"] == "signed_up" and payload["trigger"]["data"] == {"via": "ads"}
    assert abs(payload["entered_at"] - clock.now()) < 60

    [record] = stream.matching("events", "INSERT")
    stream.replay(record)
    assert len(started_for(fake, welcome["id"])) == 1


def test_only_events_of_the_last_72_hours_trigger(ws, track, stream, fake):
    welcome = campaign(
        ws, {"type": "event", "name": "signed_up"}, settings={"frequency": {"type": "every_match"}}
    )
    now = clock.now()
    track.post(
        "/api/v1/customers/ann/events", {"name": "signed_up", "id": "old", "timestamp": now - 72 * 3600 - 60}
    )
    track.post(
        "/api/v1/customers/bob/events", {"name": "signed_up", "id": "recent", "timestamp": now - 71 * 3600}
    )
    track.post("/api/v1/customers/bob/events", {"name": "page_viewed", "id": "other"})
    stream.idle()
    assert [s.payload["trigger"]["id"] for s in started_for(fake, welcome["id"])] == ["recent"]


def test_event_data_filters_and_audience_filters(ws, track, stream, fake):
    big = campaign(
        ws,
        {
            "type": "event",
            "name": "purchased",
            "filters": {"attribute": {"field": "total", "operator": "gte", "value": 100}},
        },
        filters=PRO,
        settings={"frequency": {"type": "every_match"}},
    )
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.put("/api/v1/customers/bob", {"plan": "free"})
    track.post("/api/v1/customers/ann/events", {"name": "purchased", "id": "a-small", "data": {"total": 20}})
    track.post("/api/v1/customers/ann/events", {"name": "purchased", "id": "a-big", "data": {"total": "150"}})
    track.post("/api/v1/customers/bob/events", {"name": "purchased", "id": "b-big", "data": {"total": 500}})
    stream.idle()
    assert [s.payload["trigger"]["id"] for s in started_for(fake, big["id"])] == ["a-big"]


def test_a_paused_campaign_starts_nothing(ws, track, stream, fake):
    welcome = campaign(ws, {"type": "event", "name": "signed_up"})
    store.pause(ws, welcome["id"])
    track.post("/api/v1/customers/ann/events", {"name": "signed_up"})
    stream.idle()
    assert fake.journeys() == []


# --- frequency -----------------------------------------------------------------------------------------


def test_once_enters_a_single_time_even_before_the_journey_is_written(ws, track, stream, fake):
    welcome = campaign(ws, {"type": "event", "name": "signed_up"})
    for n in range(3):
        track.post("/api/v1/customers/ann/events", {"name": "signed_up", "id": f"e{n}"})
    stream.idle()
    assert [s.payload["trigger"]["id"] for s in started_for(fake, welcome["id"])] == ["e0"]
    # Its first Task ran and the journey ended: still never again.
    [start] = started_for(fake, welcome["id"])
    person = cio(ws, "ann")
    assert journeys.entered(ws, welcome["id"], person, start.name, clock.now())
    assert journeys.finished(ws, welcome["id"], person, start.name, "completed")
    track.post("/api/v1/customers/ann/events", {"name": "signed_up", "id": "e9"})
    stream.idle()
    assert len(started_for(fake, welcome["id"])) == 1


def _step(start: Any, **fields: Any) -> dict[str, Any]:
    """A Task's payload for the journey ``start`` began, as the compiled state machine builds it."""
    return {**start.payload, "execution": start.name, "block": None, **fields}


def test_every_event_starts_a_journey_even_while_earlier_ones_run(ws, track, stream, fake):
    # Customer.io: an event campaign that lets people in more than once starts a journey per event,
    # side by side with the person's running ones (an order confirmation per order).
    orders = campaign(
        ws, {"type": "event", "name": "ordered"}, settings={"frequency": {"type": "every_match"}}
    )
    for n in (1, 2):
        track.post("/api/v1/customers/ann/events", {"name": "ordered", "id": f"o{n}"})
        stream.idle()
    first, second = started_for(fake, orders["id"])
    assert [first.payload["trigger"]["id"], second.payload["trigger"]["id"]] == ["o1", "o2"]

    for start in (first, second):
        assert steps.enter(_step(start, action="enter"))["entered"]
    steps.end(_step(first, action="end", outcome="completed"))  # the first ends, the second still runs

    person = cio(ws, "ann")
    ended, running = (
        journeys.load(ws, orders["id"], person, start.payload["trigger"]["journey"])
        for start in (first, second)
    )
    assert ended is not None and running is not None
    assert (ended.execution, ended.running) == (first.name, False)
    assert (running.execution, running.running) == (second.name, True)
    counted = metrics.read(ws, orders["id"])["campaign"]
    assert (counted["entered"], counted["completed"], counted["in_progress"]) == (2, 1, 1)
    for record in stream.matching("events", "INSERT"):
        stream.replay(record)  # redelivered: the same two journeys, nothing more
    assert len(started_for(fake, orders["id"])) == 2


def test_a_trigger_that_starts_nothing_is_counted_with_its_reason(ws, track, stream, fake):
    once = campaign(ws, {"type": "event", "name": "signed_up"})
    pros = campaign(
        ws,
        {"type": "event", "name": "signed_up"},
        filters={"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
    )
    track.put("/api/v1/customers/ann", {"plan": "free"})
    for n in range(3):
        track.post("/api/v1/customers/ann/events", {"name": "signed_up", "id": f"s{n}"})
    stream.idle()

    assert len(started_for(fake, once["id"])) == 1
    assert metrics.read(ws, once["id"])["not_entered"] == {"frequency_once": 2}
    assert started_for(fake, pros["id"]) == []
    assert metrics.read(ws, pros["id"])["not_entered"] == {"filters": 3}


def test_a_segment_trigger_waits_for_the_running_journey_and_says_so(
    ws, app, track, stream, fake, monkeypatch
):
    segment = app.post("/v1/segments", {"segment": {"name": "Pro", "conditions": PRO}}).json["segment"]
    every = {"frequency": {"type": "every_match"}}
    entry = campaign(ws, {"type": "segment_entry", "segment_id": str(segment["id"])}, settings=every)
    start = clock.now()
    for minute, plan in enumerate(("pro", "free", "pro")):  # in, out, in again while the first journey runs
        # A minute apart: an entry is identified by the second it happened, so two entries within one
        # second are one trigger (a redelivered record), not a second entry to refuse.
        monkeypatch.setattr(clock, "now", lambda minute=minute: start + 60 * minute)
        track.put("/api/v1/customers/ann", {"plan": plan})
        stream.idle()
    [only] = started_for(fake, entry["id"])
    assert steps.enter(_step(only, action="enter"))["entered"]
    assert metrics.read(ws, entry["id"])["not_entered"] == {"journey_running": 1}


def test_interval_re_enters_after_its_seconds(ws, track, fake, monkeypatch):
    c = campaign(
        ws, {"type": "event", "name": "ping"}, settings={"frequency": {"type": "interval", "seconds": 3600}}
    )
    track.put("/api/v1/customers/ann", {})
    person = cio(ws, "ann")
    now = clock.now()

    def ping(n: int, at: int) -> bool:
        return executions.enter(ws, c, person, {"type": "event", "id": str(n)}, str(n), at).started

    assert ping(1, now)
    first = fake.journeys()[0].name
    journeys.entered(ws, c["id"], person, first, now)
    journeys.finished(ws, c["id"], person, first, "completed")
    assert not ping(2, now + 3599)
    assert ping(3, now + 3600)


def test_a_failed_start_gives_the_claim_back(ws, track, fake):
    c = campaign(ws, {"type": "event", "name": "ping"})
    track.put("/api/v1/customers/ann", {})
    person = cio(ws, "ann")
    fake.fail_next.append(RuntimeError("throttled"))
    with pytest.raises(RuntimeError):
        executions.enter(ws, c, person, {"type": "event"}, "e1", clock.now())
    # Not claimed: a later trigger of a "once" campaign still enters.
    assert executions.enter(ws, c, person, {"type": "event"}, "e2", clock.now()).started


def test_a_claim_left_by_a_crash_is_retried_by_the_same_trigger(ws, track, fake, monkeypatch):
    c = campaign(ws, {"type": "event", "name": "ping"})
    track.put("/api/v1/customers/ann", {})
    person = cio(ws, "ann")
    crash = RuntimeError("the Lambda timed out")

    def crashing_release(*args: Any) -> None:
        raise crash

    monkeypatch.setattr(executions, "_release", crashing_release)
    fake.fail_next.append(RuntimeError("network"))
    with pytest.raises(RuntimeError):
        executions.enter(ws, c, person, {"type": "event"}, "e1", clock.now())
    monkeypatch.undo()
    # Another trigger is kept out by the pending claim; the crashed one's replay starts its journey.
    assert executions.enter(ws, c, person, {"type": "event"}, "e2", clock.now()) == executions.Entry(
        False, executions.SKIP_ONCE
    )
    assert executions.enter(ws, c, person, {"type": "event"}, "e1", clock.now()).started
    assert [s.name for s in fake.journeys()] == [executions.execution_name(c["id"], person, "e1")]


# --- segments ------------------------------------------------------------------------------------------


def test_segment_entry_and_exit(ws, app, track, stream, fake):
    segment = app.post("/v1/segments", {"segment": {"name": "Pro", "conditions": PRO}}).json["segment"]
    segment_id = str(segment["id"])
    every = {"frequency": {"type": "every_match"}}
    entry = campaign(ws, {"type": "segment_entry", "segment_id": segment_id}, settings=every)
    leaving = campaign(ws, {"type": "segment_exit", "segment_id": segment_id}, settings=every)
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.put("/api/v1/customers/bob", {"plan": "free"})
    stream.idle()
    person = cio(ws, "ann")
    [entered] = started_for(fake, entry["id"])
    assert entered.payload["cio_id"] == person
    assert entered.payload["trigger"]["type"] == "segment_entry"
    assert entered.payload["trigger"]["segment_id"] == segment_id
    assert started_for(fake, leaving["id"]) == []

    track.put("/api/v1/customers/ann", {"plan": "free"})
    stream.idle()
    [left] = started_for(fake, leaving["id"])
    assert left.payload["trigger"]["type"] == "segment_exit"
    assert left.payload["trigger"]["entered_at"] == entered.payload["trigger"]["entered_at"]

    for record in stream.matching("segments", "INSERT") + stream.matching("segments", "REMOVE"):
        stream.replay(record)
    assert len(fake.journeys()) == 2


def test_a_deleted_persons_exits_start_nothing(ws, app, track, stream, fake):
    segment = app.post("/v1/segments", {"segment": {"name": "Pro", "conditions": PRO}}).json["segment"]
    leaving = campaign(ws, {"type": "segment_exit", "segment_id": str(segment["id"])})
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    stream.idle()
    track.delete("/api/v1/customers/ann")
    stream.idle()
    assert started_for(fake, leaving["id"]) == []


# --- attributes ----------------------------------------------------------------------------------------


def test_attribute_change_any_value_or_a_given_one(ws, track, stream, fake):
    every = {"frequency": {"type": "every_match"}}
    anything = campaign(ws, {"type": "attribute_change", "attribute": "plan"}, settings=every)
    to_pro = campaign(ws, {"type": "attribute_change", "attribute": "plan", "to": "pro"}, settings=every)
    track.put("/api/v1/customers/ann", {"plan": "free", "name": "Ann"})
    stream.idle()
    assert [s.payload["trigger"]["value"] for s in started_for(fake, anything["id"])] == ["free"]
    assert started_for(fake, to_pro["id"]) == []
    person = cio(ws, "ann")
    journeys.entered(ws, anything["id"], person, started_for(fake, anything["id"])[0].name, clock.now())
    journeys.finished(ws, anything["id"], person, started_for(fake, anything["id"])[0].name, "completed")

    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.put("/api/v1/customers/ann", {"name": "Ann B."})  # another attribute: nothing
    stream.idle()
    [pro] = started_for(fake, to_pro["id"])
    assert pro.payload["trigger"] == {
        "type": "attribute_change",
        "attribute": "plan",
        "previous": "free",
        "value": "pro",
    }
    assert [s.payload["trigger"]["value"] for s in started_for(fake, anything["id"])] == ["free", "pro"]

    for record in stream.matching("people", "MODIFY"):
        stream.replay(record)
    assert len(fake.journeys()) == 3


def test_a_profile_change_no_campaign_listens_to_costs_one_index_query(ws, track, stream, fake, monkeypatch):
    campaign(ws, {"type": "attribute_change", "attribute": "plan"})
    looked_up: list[str] = []
    original = store.active_for
    monkeypatch.setattr(store, "active_for", lambda w, key: looked_up.append(key) or original(w, key))

    track.put("/api/v1/customers/ann", {"name": "Ann", "city": "Oslo", "age": 41})  # none of them is plan
    stream.idle()
    assert looked_up == []
    track.put("/api/v1/customers/ann", {"plan": "pro", "city": "Bergen"})
    stream.idle()
    assert looked_up == ["attribute#plan", "date#plan"]


# --- date attributes -----------------------------------------------------------------------------------


def test_a_date_trigger_is_scheduled_moved_removed_and_fired_by_the_sweep(ws, track, stream, fake):
    three_days = 3 * 86400
    trial = campaign(ws, {"type": "date_attribute", "attribute": "trial_end", "offset_seconds": -three_days})
    now = clock.now()
    track.put("/api/v1/customers/ann", {"trial_end": now + 10 * 86400})
    stream.idle()
    person = cio(ws, "ann")
    assert triggers.scheduled(ws, trial["id"], person) == now + 7 * 86400

    track.put("/api/v1/customers/ann", {"trial_end": now + 20 * 86400})
    stream.idle()
    assert triggers.scheduled(ws, trial["id"], person) == now + 17 * 86400

    track.put("/api/v1/customers/ann", {"trial_end": None})  # removed
    stream.idle()
    assert triggers.scheduled(ws, trial["id"], person) is None

    track.put("/api/v1/customers/ann", {"trial_end": now + 2 * 86400})  # three days before: passed
    stream.idle()
    assert triggers.scheduled(ws, trial["id"], person) is None

    due = now + 120
    track.put("/api/v1/customers/ann", {"trial_end": due + three_days})
    stream.idle()
    assert triggers.scheduled(ws, trial["id"], person) == due
    assert triggers.sweep_dates(now=due - 30) == 0  # not yet
    assert fake.journeys() == []
    assert triggers.sweep_dates(now=due + 1) == 1
    [fired] = fake.journeys()
    assert fired.payload["trigger"] == {"type": "date_attribute", "attribute": "trial_end", "at": due}
    assert fired.name == executions.execution_name(trial["id"], person, str(due))
    assert triggers.scheduled(ws, trial["id"], person) is None  # consumed
    assert triggers.sweep_dates(now=due + 61) == 0


def test_a_moved_date_is_not_fired_at_its_old_time(ws, track, fake):
    trial = campaign(ws, {"type": "date_attribute", "attribute": "renews_at"})
    track.put("/api/v1/customers/ann", {})
    person = cio(ws, "ann")
    now = clock.now()
    # Scheduled for a time the attribute no longer says (its change not yet processed): skipped.
    triggers.reschedule(ws, trial["id"], person, now + 60, now)
    assert triggers.sweep_dates(now=now + 61) == 0
    assert triggers.scheduled(ws, trial["id"], person) is None
    assert fake.journeys() == []


def test_the_sweep_entry_point_reports_both_counts(ws, track, fake):
    from functions.evaluate import handler as evaluate

    trial = campaign(ws, {"type": "date_attribute", "attribute": "renews_at"})
    now = clock.now()
    track.put("/api/v1/customers/ann", {"renews_at": now + 1})
    triggers.reschedule(ws, trial["id"], cio(ws, "ann"), now + 1, now)
    result = evaluate.sweep({}, LocalContext())
    assert set(result) == {"rechecks", "date_triggers"}


@pytest.mark.direct_moto  # a day of minute-by-minute sweeps: volume, not the AWS wire
def test_a_date_trigger_due_during_a_sweep_outage_longer_than_a_day_still_fires(ws, track, fake):
    trial = campaign(ws, {"type": "date_attribute", "attribute": "renews_at"})
    now = clock.now()
    due = now + 120
    track.put("/api/v1/customers/ann", {"renews_at": due})
    triggers.reschedule(ws, trial["id"], cio(ws, "ann"), due, now)
    assert triggers.sweep_dates(now=now) == 0  # the bookmark is now
    later = now + 30 * 3600  # no sweep for 30 hours
    assert sum(triggers.sweep_dates(now=later) for _ in range(6)) == 1
    assert len(fake.journeys()) == 1


def test_a_date_trigger_that_cannot_start_is_retried_without_holding_up_the_others(
    ws, track, fake, monkeypatch
):
    renewal = campaign(ws, {"type": "date_attribute", "attribute": "renews_at"})
    now = clock.now()
    for person in ("ann", "bob"):
        track.put(f"/api/v1/customers/{person}", {"renews_at": now + 60})
        triggers.reschedule(ws, renewal["id"], cio(ws, person), now + 60, now)
    ann = cio(ws, "ann")
    real_fire = triggers._fire
    broken = {ann}

    def fire(due, campaign, at):
        if due.cio_id in broken:
            raise RuntimeError("Step Functions throttled")
        return real_fire(due, campaign, at)

    monkeypatch.setattr(triggers, "_fire", fire)
    assert triggers.sweep_dates(now=now + 61) == 1  # bob's started; ann's failed
    assert triggers.scheduled(ws, renewal["id"], ann) == now + 60  # kept for another try
    assert triggers.sweep_dates(now=now + 62) == 0  # moved to the next minute, not yet swept again
    broken.clear()
    assert triggers.sweep_dates(now=now + 125) == 1  # the next minute: ann's starts
    assert sorted(j.name for j in fake.journeys()) == sorted(
        executions.execution_name(renewal["id"], cio(ws, p), str(now + 60)) for p in ("ann", "bob")
    )


@pytest.mark.direct_moto  # a day of minute-by-minute sweeps: volume, not the AWS wire
def test_a_date_trigger_that_keeps_failing_is_given_up_after_a_day(ws, track, fake, monkeypatch):
    renewal = campaign(ws, {"type": "date_attribute", "attribute": "renews_at"})
    now = clock.now()
    track.put("/api/v1/customers/ann", {"renews_at": now + 60})
    ann = cio(ws, "ann")
    triggers.reschedule(ws, renewal["id"], ann, now + 60, now)

    def fire(*_args):
        raise RuntimeError("the campaign cannot start")

    monkeypatch.setattr(triggers, "_fire", fire)
    assert triggers.sweep_dates(now=now + 61) == 0
    assert triggers.scheduled(ws, renewal["id"], ann) == now + 60
    # Swept late (the bookmark is behind), more than a day after it was due: given up.
    late = now + 60 + triggers.MAX_RETRY_SECONDS + 60
    for _ in range(6):
        triggers.sweep_dates(now=late)
    assert triggers.scheduled(ws, renewal["id"], ann) is None
    assert fake.journeys() == []
