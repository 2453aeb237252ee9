"""The DynamoDB calls the evaluate handler makes for a batch of stream records, counted, so that a read
every record repeats, or a metering write per person, cannot creep back in unnoticed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pynamodb.connection.base import Connection

from functions.evaluate import handler as evaluate
from nudge.billing import metering
from nudge.model.tables import streamed_tables
from nudge.segments.evaluation import membership_count
from nudge_tools.local.apigw import LocalContext
from nudge_tools.local.streams import lambda_record

PEOPLE = 60  # more than one metering transaction's worth (metering.MAX_GROUP)


class Streams:
    """The evaluate function's streams, read by hand: each ``new(table)`` returns the records written
    since the last call, as Lambda would deliver them."""

    def __init__(self) -> None:
        self.client = boto3.client(
            "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
        )
        self.arns = {n: m.describe_table()["LatestStreamArn"] for n, m in streamed_tables("evaluate").items()}
        self.read: Counter[str] = Counter()

    def _all(self, table: str) -> list[dict[str, Any]]:
        arn, records = self.arns[table], []
        for shard in self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = self.client.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                answer = self.client.get_records(ShardIterator=iterator, Limit=1000)
                if not answer["Records"]:
                    break
                records += [lambda_record(r, arn, "us-east-1") for r in answer["Records"]]
                iterator = answer.get("NextShardIterator")
        return records

    def new(self, table: str) -> list[dict[str, Any]]:
        records = self._all(table)[self.read[table] :]
        self.read[table] += len(records)
        return records

    def consume_all(self) -> None:
        """Until nothing is left: a segment's backfill writes records of its own as it goes."""
        while batches := [records for table in self.arns if (records := self.new(table))]:
            for records in batches:  # Lambda never invokes with an empty batch (Powertools refuses one)
                run(records)


def run(records: list[dict[str, Any]]) -> dict[str, Any]:
    return evaluate.handler({"Records": records}, LocalContext(function_name="evaluate"))


@pytest.fixture
def streams(account: None) -> Streams:
    return Streams()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Every DynamoDB call PynamoDB makes, by operation (one connection hook all models go through)."""
    counted: Counter[str] = Counter()
    original: Callable[..., Any] = Connection._make_api_call

    def counting(self: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        counted[operation] += 1
        return original(self, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    yield counted


def identify(n: int) -> dict[str, Any]:
    attributes = {"email": f"imp-{n}@example.com", "plan": "free"}
    identifiers = {"id": f"imp-{n}"}
    return {"type": "person", "action": "identify", "identifiers": identifiers, "attributes": attributes}


@pytest.fixture
def segments(app, streams: Streams) -> dict[str, str]:
    """Two dynamic segments: one every new person is evaluated for (an attribute), one on an event."""
    pro = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
    made = {
        name: app.post("/v1/segments", {"segment": {"name": name, "conditions": conditions}}).json
        for name, conditions in (("pro", pro), ("buyers", {"event": {"name": "purchase"}}))
    }
    streams.consume_all()
    return {name: str(answer["segment"]["id"]) for name, answer in made.items()}


def test_a_batch_of_new_people_costs_one_write_each_and_a_few_calls_in_all(
    track, ws, streams, segments, calls
):
    assert track.post("/api/v2/batch", {"batch": [identify(n) for n in range(PEOPLE)]}).status == 200
    records = streams.new("people")
    calls.clear()
    assert run(records) == {"batchItemFailures": []}
    # Per person: one conditional membership write (the "pro" segment, not matched: an exit, a no-op).
    assert calls["DeleteItem"] == PEOPLE
    # Per person too: the definitions of the segments that depend on what changed (one BatchGetItem; not
    # cached for the batch, see nudge.batch_reads). Per batch, not per person: the dependency index (one
    # BatchGetItem), the identities of each metering group (one BatchGetItem and one transaction per
    # group), the trigger index (one Query) and the workspace's billing anchor.
    groups = -(-PEOPLE // metering.MAX_GROUP)
    assert calls["BatchGetItem"] == PEOPLE + 1 + groups
    assert calls["TransactWriteItems"] == groups
    assert calls["Query"] <= 1 and calls["GetItem"] <= 1
    assert sum(calls.values()) <= 2 * PEOPLE + 1 + 2 * groups + 2
    used = metering.read_usage(ws, _period(ws))
    assert (used.people_created, used.people_new) == (PEOPLE, PEOPLE)


def test_redelivered_records_are_metered_once_and_a_partial_repeat_meters_the_rest(
    track, ws, streams, segments
):
    assert track.post("/api/v2/batch", {"batch": [identify(n) for n in range(10)]}).status == 200
    first = streams.new("people")
    run(first)
    assert track.post("/api/v2/batch", {"batch": [identify(n) for n in range(10, 15)]}).status == 200
    # The mapping redelivers the first batch together with new records: the group's transaction is
    # cancelled by the repeats, and each creation is then metered one by one, the new ones once.
    assert run(first + streams.new("people")) == {"batchItemFailures": []}
    assert run(first) == {"batchItemFailures": []}
    used = metering.read_usage(ws, _period(ws))
    assert (used.people_created, used.people_new) == (15, 15)


def test_a_person_created_deleted_and_created_again_in_one_batch_is_metered_in_order(
    track, ws, streams, segments
):
    track.put("/api/v1/customers/ann", {"plan": "free"})
    track.delete("/api/v1/customers/ann")
    track.put("/api/v1/customers/ann", {"plan": "free"})
    assert run(streams.new("people")) == {"batchItemFailures": []}
    used = metering.read_usage(ws, _period(ws))
    assert (used.people_created, used.people_deleted, used.people_new) == (2, 1, 1)


def test_a_batch_of_events_reads_the_segment_index_and_the_trigger_index_once(
    track, ws, streams, segments, calls
):
    assert track.post("/api/v2/batch", {"batch": [identify(n) for n in range(10)]}).status == 200
    run(streams.new("people"))
    for n in range(10):
        assert track.post(f"/api/v1/customers/imp-{n}/events", {"name": "purchase"}).status == 200
    records = streams.new("events")
    calls.clear()
    assert run(records) == {"batchItemFailures": []}
    # Per event: the profile (GetItem), the events the condition reads (Query), the membership (PutItem),
    # the definitions (BatchGetItem).
    assert (calls["GetItem"], calls["PutItem"]) == (10, 10)
    # Per batch: the dependency index, and the campaigns listening to the event.
    assert calls["BatchGetItem"] == 10 + 1
    assert calls["Query"] == 10 + 1
    assert membership_count(ws, segments["buyers"]) == 10
    # The entries' own records: one read of the index for the batch, one of the trigger index.
    calls.clear()
    run(streams.new("segments"))
    assert (calls["BatchGetItem"], calls["Query"]) == (1, 1)


def _period(workspace_id: str) -> str:
    from nudge import clock

    return metering._period_of(workspace_id, clock.now())[0]
