"""Dynamic segments end to end in-process: App API definitions, stream-driven evaluation through the real
evaluate handler (fed by the local runtime's stream pump), backfill, time re-checks."""

import pytest

from nudge import clock
from nudge.segments import evaluation
from tests.support.people import profile

PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}


def create(app, name, conditions=None):
    body = {"name": name} if conditions is None else {"name": name, "conditions": conditions}
    answer = app.post("/v1/segments", {"segment": body})
    assert answer.status == 200, answer.raw
    return str(answer.json["segment"]["id"])


def members(app, segment_id):
    answer = app.get(f"/v1/segments/{segment_id}/membership")
    assert answer.status == 200, answer.raw
    return sorted(i["id"] for i in answer.json["identifiers"])


def test_a_person_enters_and_leaves_as_their_data_changes(app, track, pump):
    segment_id = create(app, "Pro", PRO)
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.put("/api/v1/customers/bob", {"plan": "free"})
    assert pump.wait_idle()
    assert members(app, segment_id) == ["ann"]
    assert app.get(f"/v1/segments/{segment_id}/customer_count").json == {"count": 1}
    track.put("/api/v1/customers/ann", {"plan": "free"})
    track.put("/api/v1/customers/bob", {"plan": "pro"})
    assert pump.wait_idle()
    assert members(app, segment_id) == ["bob"]


def test_event_counts_within_a_window(app, track, pump):
    buyers = create(
        app,
        "Repeat buyers",
        {
            "event": {
                "name": "purchase",
                "count": {"operator": "at_least", "value": 2},
                "timeframe": {"type": "within", "amount": 7, "unit": "days"},
            }
        },
    )
    track.post("/api/v1/customers/ann/events", {"name": "purchase"})
    assert pump.wait_idle()
    assert members(app, buyers) == []
    track.post("/api/v1/customers/ann/events", {"name": "purchase"})
    assert pump.wait_idle()
    assert members(app, buyers) == ["ann"]


def test_segments_built_on_segments_follow_along(app, track, pump):
    pro = create(app, "Pro", PRO)
    not_pro = create(app, "Everyone but pro", {"segment": {"id": pro, "operator": "not_in"}})
    pro_in_oslo = create(
        app,
        "Pro in Oslo",
        {
            "and": [
                {"segment": {"id": pro, "operator": "in"}},
                {"attribute": {"field": "city", "operator": "eq", "value": "Oslo"}},
            ]
        },
    )
    track.put("/api/v1/customers/ann", {"plan": "pro", "city": "Oslo"})
    assert pump.wait_idle()
    assert members(app, pro_in_oslo) == ["ann"]
    assert members(app, not_pro) == []
    track.put("/api/v1/customers/ann", {"plan": "free"})
    assert pump.wait_idle()
    assert members(app, pro_in_oslo) == []
    assert members(app, not_pro) == ["ann"]


def test_a_new_segment_backfills_existing_people(app, track, pump, monkeypatch):
    from nudge.segments import backfill

    monkeypatch.setattr(backfill, "PAGE_SIZE", 2)  # several pages, so resuming from a cursor is exercised
    for i in range(7):
        track.put(f"/api/v1/customers/p{i}", {"plan": "pro" if i % 2 == 0 else "free"})
    assert pump.wait_idle()
    segment_id = create(app, "Pro", PRO)
    assert app.get(f"/v1/segments/{segment_id}").json["segment"]["state"] == "building"
    assert pump.wait_idle()
    segment = app.get(f"/v1/segments/{segment_id}").json["segment"]
    assert (segment["state"], segment["progress"]) == ("finished", 100)
    assert members(app, segment_id) == ["p0", "p2", "p4", "p6"]


def test_a_new_person_matching_a_negative_condition_enters(app, track, pump):
    no_plan = create(app, "No plan yet", {"attribute": {"field": "plan", "operator": "not_exists"}})
    track.put("/api/v1/customers/newbie", {"city": "Oslo"})
    assert pump.wait_idle()
    assert members(app, no_plan) == ["newbie"]


def recently_logged_in(app, track, pump, start):
    """A segment of people who logged in within 10 minutes, and ann logging in at ``start``."""
    recent = create(
        app,
        "Active in the last 10 minutes",
        {"event": {"name": "login", "timeframe": {"type": "within", "amount": 10, "unit": "minutes"}}},
    )
    track.post("/api/v1/customers/ann/events", {"name": "login", "timestamp": start})
    assert pump.wait_idle()
    return recent


def test_leaving_a_time_window_with_no_new_data(app, track, pump, monkeypatch):
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    recent = recently_logged_in(app, track, pump, start)
    assert members(app, recent) == ["ann"]
    assert evaluation.sweep_rechecks(now=start + 9 * 60) == 0  # nothing due yet
    later = start + 10 * 60 + 1
    monkeypatch.setattr(clock, "now", lambda: later)
    assert evaluation.sweep_rechecks(now=later) == 1
    assert pump.wait_idle()
    assert members(app, recent) == []


def test_customer_look_ups(app, track, pump):
    segment_id = create(app, "Pro", PRO)
    track.put("/api/v1/customers/ann", {"plan": "pro", "email": "ann@example.com"})
    track.put("/api/v1/customers/ann/devices", {"device": {"id": "tok", "platform": "ios"}})
    assert pump.wait_idle()
    segments = app.get("/v1/customers/ann/segments").json["segments"]
    assert [str(s["id"]) for s in segments] == [segment_id]
    customer = app.get("/v1/customers/ann@example.com/attributes?id_type=email").json["customer"]
    assert customer["attributes"]["plan"] == "pro"
    assert customer["devices"][0]["id"] == "tok"
    found = app.get("/v1/customers?email=ANN@example.com").json["results"]
    assert found == [
        {"id": "ann", "email": "ann@example.com", "cio_id": profile(track_ws(app), "ann")["cio_id"]}
    ]


def track_ws(app):
    from nudge import workspaces

    return workspaces.authenticate_app(app.api_key)


def test_membership_pages(app, track, pump):
    segment_id = create(app, "Pro", PRO)
    for i in range(5):
        track.put(f"/api/v1/customers/p{i}", {"plan": "pro"})
    assert pump.wait_idle()
    first = app.get(f"/v1/segments/{segment_id}/membership?limit=2").json
    second = app.get(f"/v1/segments/{segment_id}/membership?limit=2&start={first['next']}").json
    third = app.get(f"/v1/segments/{segment_id}/membership?limit=2&start={second['next']}").json
    seen = first["ids"] + second["ids"] + third["ids"]
    assert sorted(seen) == [f"p{i}" for i in range(5)]
    assert third["next"] == ""


@pytest.mark.parametrize(
    ("conditions", "pointer", "fragment"),
    [
        (
            {"attribute": {"field": "plan", "operator": "like", "value": "x"}},
            "/conditions/attribute/operator",
            "operator",
        ),
        ({"segment": {"id": "404", "operator": "in"}}, "/conditions", "unknown segment 404"),
        (
            {"event": {"name": "x", "count": {"operator": "at_least", "value": "two"}}},
            "/conditions/event/count/value",
            "",
        ),
        ({"not": {"not": {"not": {"not": {"not": {"not": {"not": PRO}}}}}}}, "/conditions", "deep"),
    ],
)
def test_bad_definitions_are_400_naming_path_and_rule(app, conditions, pointer, fragment):
    answer = app.post("/v1/segments", {"segment": {"name": "bad", "conditions": conditions}})
    assert answer.status == 400, answer.raw
    [error] = answer.json["errors"]
    assert error["source"]["pointer"].startswith(pointer)
    assert fragment in error["detail"]


def test_a_cycle_is_refused(app):
    a = create(app, "A", PRO)
    b = create(app, "B", {"segment": {"id": a, "operator": "in"}})
    answer = app.put(
        f"/v1/segments/{a}", {"segment": {"conditions": {"segment": {"id": b, "operator": "in"}}}}
    )
    assert answer.status == 400
    assert "cycle" in answer.json["errors"][0]["detail"]


def test_delete(app, track, pump):
    a = create(app, "A", PRO)
    b = create(app, "B", {"segment": {"id": a, "operator": "in"}})
    assert app.delete(f"/v1/segments/{a}").status == 409
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    assert pump.wait_idle()
    assert app.delete(f"/v1/segments/{b}").status == 204
    assert app.get(f"/v1/segments/{b}").status == 404
    assert [s["id"] for s in app.get("/v1/segments").json["segments"]] == [int(a)]


def test_app_api_authentication_and_isolation(app, account):
    from nudge import workspaces
    from tests.support.track import AppClient

    assert app.get("/v1/segments", auth="").status == 401
    assert app.get("/v1/segments", auth="Bearer wrong").status == 401
    mine = create(app, "Mine", PRO)
    theirs = AppClient(workspaces.create_workspace("Other", "essentials").app_api_key)
    assert theirs.get(f"/v1/segments/{mine}").status == 404
    assert theirs.get("/v1/segments").json == {"segments": []}


def test_manual_segments_through_the_app_api(app, track, pump):
    manual = create(app, "Hand-picked")
    track.put("/api/v1/customers/ann", {})
    assert app.post(f"/v1/segments/{manual}/add_customers", {"ids": ["ann"]}).status == 200
    assert members(app, manual) == ["ann"]
    segment = app.get(f"/v1/segments/{manual}").json["segment"]
    assert (segment["type"], segment["progress"]) == ("manual", None)


def _stream_records(table_model):
    import boto3
    from botocore.config import Config

    from nudge_tools.local.streams import lambda_record

    arn = table_model.describe_table()["LatestStreamArn"]
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    records = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        records += [
            lambda_record(r, arn, "us-east-1")
            for r in client.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        ]
    return records


def test_a_redelivered_batch_changes_nothing_and_each_transition_happens_once(app, track):
    from functions.evaluate import handler as evaluate
    from nudge.model import PeopleItem, SegmentsItem
    from nudge_tools.local.apigw import LocalContext

    create(app, "Pro", PRO)
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    batch = {"Records": _stream_records(PeopleItem)}
    assert evaluate.handler(batch, LocalContext()) == {"batchItemFailures": []}
    assert evaluate.handler(batch, LocalContext()) == {"batchItemFailures": []}  # Lambda redelivers it
    entries = [
        r
        for r in _stream_records(SegmentsItem)
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["sk"]["S"].startswith("m#")
    ]
    assert len(entries) == 1


@pytest.mark.direct_moto  # a day of minute-by-minute sweeps: volume, not the AWS wire
def test_a_recheck_due_during_a_sweep_outage_longer_than_a_day_still_runs(app, track, pump, monkeypatch):
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    recent = recently_logged_in(app, track, pump, start)
    assert evaluation.sweep_rechecks(now=start) == 0  # the sweep ran once: its bookmark is this minute
    # Then no sweep for 30 hours; the re-check came due 10 minutes into the outage.
    later = start + 30 * 3600
    monkeypatch.setattr(clock, "now", lambda: later)
    ran = 0
    for _ in range(6):  # each run catches up a bounded number of minutes
        ran += evaluation.sweep_rechecks(now=later)
    assert ran == 1
    assert pump.wait_idle()
    assert members(app, recent) == []
