"""The local runtime's snapshot, in process: moto's tables pickled and loaded back with only the stream
records not yet delivered, writes tracked per table, the streams' progress as the handlers report it,
the local clock continued, the resume input, the file, and ``compiler.resumable``."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from nudge.campaigns import compiler
from nudge.local import persistence
from nudge.local.persistence import (
    RunningExecution,
    Snapshot,
    SnapshotUnreadable,
    StreamProgress,
    TableImages,
)
from tests.support.campaign_workflows import asl_problems, definition

REGION = "us-east-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        persistence.TRACKER.install()
        try:
            yield boto3.client("dynamodb", region_name=REGION)
        finally:
            persistence.TRACKER.uninstall()


def _table(client: Any, name: str, *, stream: bool) -> None:
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def _put(client: Any, table: str, *keys: str) -> None:
    for key in keys:
        client.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}})


def _shard(table: str) -> Any:
    return persistence.dynamodb(REGION).tables[table].stream_shard


def test_tables_load_back_with_only_the_undelivered_stream_records(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=True)
    _put(dynamodb, "people", "a", "b", "c")
    first = _shard("people").starting_sequence_number
    images, changed = TableImages(REGION).capture({"people": first + 1})  # a and b delivered
    assert changed

    persistence.dynamodb(REGION).tables.clear()  # what a new process starts with
    persistence.restore_tables(REGION, images)

    keys = {item["pk"]["S"] for item in dynamodb.scan(TableName="people")["Items"]}
    assert keys == {"a", "b", "c"}
    shard = _shard("people")
    assert shard.starting_sequence_number == first + 2
    [record] = [item.to_json() for item in shard.items]
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "c"}}
    assert int(record["dynamodb"]["SequenceNumber"]) == first + 2  # its number kept
    # New records go on from there, and the live stream of the snapshotted runtime was left whole.
    _put(dynamodb, "people", "d")
    assert int(shard.items[-1].to_json()["dynamodb"]["SequenceNumber"]) == first + 3


def test_the_live_stream_keeps_its_records(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=True)
    _put(dynamodb, "people", "a", "b")
    first = _shard("people").starting_sequence_number
    TableImages(REGION).capture({"people": first + 1})
    assert len(_shard("people").items) == 2 and _shard("people").starting_sequence_number == first


def test_only_tables_written_since_are_pickled_again(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=False)
    _table(dynamodb, "events", stream=False)
    images = TableImages(REGION)
    before, _ = images.capture({})
    assert images.capture({}) == (before, False)  # nothing written: nothing to save

    _put(dynamodb, "events", "e1")
    after, changed = images.capture({})
    assert changed
    assert after["people"] is before["people"]  # not pickled again
    assert after["events"] != before["events"]


def test_a_stream_consumed_further_is_pickled_again(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=True)
    _put(dynamodb, "people", "a", "b")
    first = _shard("people").starting_sequence_number
    images = TableImages(REGION)
    images.capture({"people": first - 1})
    _, changed = images.capture({"people": first})
    assert changed


def test_a_deleted_table_leaves_the_snapshot(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=False)
    images = TableImages(REGION)
    assert set(images.capture({})[0]) == {"people"}
    dynamodb.delete_table(TableName="people")
    assert images.capture({})[0] == {}


@pytest.mark.parametrize("range_key", [False, True])
def test_writes_while_a_snapshot_is_pickled_do_not_reach_it(dynamodb: Any, range_key: bool) -> None:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    key = {"pk": {"S": "a"}}
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "sk", "AttributeType": "S"})
        key["sk"] = {"S": "1"}
    dynamodb.create_table(
        TableName="people", KeySchema=schema, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST"
    )
    dynamodb.put_item(TableName="people", Item={**key, "v": {"N": "1"}})
    images = TableImages(REGION)
    detached = images.detach({})
    assert detached is not None

    # The snapshot was taken: what follows belongs to the next one.
    dynamodb.update_item(
        TableName="people",
        Key=key,
        UpdateExpression="SET v = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    dynamodb.put_item(
        TableName="people", Item={"pk": {"S": "b"}, **({"sk": {"S": "1"}} if range_key else {})}
    )
    pickled = images.pickle(detached)

    restored = pickle.loads(pickled["people"])  # noqa: S301 - our own bytes
    assert [item.to_json()["Attributes"]["v"] for item in restored.all_items()] == [{"N": "1"}]
    live = dynamodb.get_item(TableName="people", Key=key)["Item"]
    assert live["v"] == {"N": "2"}


def test_an_image_holds_its_table_once(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=True)
    _put(dynamodb, "people", *(f"p{n}" for n in range(200)))
    images, _ = TableImages(REGION).capture({})
    whole = pickle.dumps(persistence.dynamodb(REGION).tables["people"], protocol=pickle.HIGHEST_PROTOCOL)
    assert len(images["people"]) <= len(whole) * 1.05  # the copy drags in no second copy of the table


def _records(table: str, *sequences: int) -> dict[str, Any]:
    arn = f"arn:aws:dynamodb:{REGION}:123456789012:table/{table}/stream/2026-01-01T00:00:00.000"
    return {"Records": [{"eventSourceARN": arn, "dynamodb": {"SequenceNumber": str(s)}} for s in sequences]}


def test_progress_is_the_records_before_the_first_failure_and_the_slowest_consumer_decides() -> None:
    progress = StreamProgress()
    answers: list[Any] = [{"batchItemFailures": [{"itemIdentifier": "12"}]}, None]
    evaluate = progress.consumer("evaluate", {"people": 10}, lambda event, context: answers.pop(0))
    send = progress.consumer("send", {"people": 10}, lambda event, context: None)
    assert progress.trim_points() == {"people": 9}  # nothing delivered yet

    evaluate(_records("people", 10, 11, 12, 13), None)
    send(_records("people", 10, 11, 12, 13), None)
    assert progress.trim_points() == {"people": 11}  # evaluate must get 12 and 13 again

    evaluate(_records("people", 12, 13), None)
    assert progress.trim_points() == {"people": 13}


def test_a_handler_that_raises_delivers_nothing() -> None:
    progress = StreamProgress()

    def failing(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    wrapped = progress.consumer("evaluate", {"people": 5}, failing)
    with pytest.raises(RuntimeError):
        wrapped(_records("people", 5, 6), None)
    assert progress.trim_points() == {"people": 4}


def _snapshot(**changes: Any) -> Snapshot:
    fields: dict[str, Any] = {
        "saved_at": 1000.0,
        "local_now": 50_000.0,
        "workspace": {"workspace_id": "w"},
        "link_secret": "s",
        "tables": {},
        "machines": {},
    }
    fields.update(changes)
    return Snapshot(**fields)


def test_the_local_clock_continues_with_the_downtime_at_the_wall_clock_s_pace() -> None:
    snapshot = _snapshot()
    epoch = persistence.continued_epoch(60.0, snapshot, now=1010.0)
    assert epoch is not None
    assert persistence.local_time(60.0, epoch, 1010.0) == pytest.approx(50_010.0)
    assert persistence.local_time(60.0, epoch, 1011.0) == pytest.approx(50_070.0)
    assert persistence.continued_epoch(1.0, snapshot, now=1010.0) is None  # the wall clock itself
    assert persistence.continued_epoch(60.0, None, now=1010.0) is None


def test_a_wait_resumes_with_what_was_left_in_real_seconds_rounded_up() -> None:
    waiting = RunningExecution("m", "e", {"x": 1}, "block.b2", until=1_000.0)
    assert persistence.resume_input(waiting, 60.0, local_now=700.0) == {
        "x": 1,
        "resume": {"state": "block.b2", "seconds": 5},
    }
    assert persistence.resume_input(waiting, 60.0, local_now=2_000.0)["resume"]["seconds"] == 0
    busy = RunningExecution("m", "e", {"x": 1}, "block.b1")
    assert persistence.resume_input(busy, 60.0, 0.0)["resume"] == {"state": "block.b1", "seconds": 0}
    starting = RunningExecution("m", "e", {"x": 1}, None)
    assert persistence.resume_input(starting, 60.0, 0.0) == {"x": 1}


def test_the_file_is_replaced_whole_and_another_format_is_refused(tmp_path: Path) -> None:
    assert persistence.load(tmp_path) is None
    persistence.save(tmp_path, _snapshot())
    assert persistence.load(tmp_path) == _snapshot()
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["snapshot.pickle"]

    persistence.save(tmp_path, _snapshot(format=persistence.FORMAT + 1))
    with pytest.raises(SnapshotUnreadable, match="--reset"):
        persistence.load(tmp_path)
    persistence.snapshot_path(tmp_path).write_bytes(pickle.dumps(_snapshot())[:20])
    with pytest.raises(SnapshotUnreadable, match="--reset"):
        persistence.load(tmp_path)


def test_reset_forgets_the_state_the_outbox_and_the_contract_but_keeps_the_certificate(
    tmp_path: Path,
) -> None:
    persistence.save(tmp_path, _snapshot())
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "m.eml").write_text("x")
    (tmp_path / "local.json").write_text("{}")
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "cert.pem").write_text("cert")
    persistence.reset(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tls"]


# --- compiler.resumable ------------------------------------------------------------------------------

JOURNEY = definition(
    {
        "b1": {"type": "send", "channel": "email", "template_id": "t1", "next": "b2"},
        "b2": {"type": "delay", "seconds": 3600, "next": "b3"},
        "b3": {"type": "wait_until", "condition": {"attribute": {"field": "plan", "operator": "exists"}}},
    }
)


def test_a_resumable_machine_starts_as_before_without_resume() -> None:
    asl = compiler.compile_workflow("c1", 1, JOURNEY)
    original = json.dumps(asl)
    resumable = compiler.resumable(asl)
    assert json.dumps(asl) == original  # the caller's definition is left alone
    assert asl_problems(resumable) == []
    entry = resumable["States"][resumable["StartAt"]]
    assert entry["Default"] == asl["StartAt"]
    assert entry["Choices"] == [{"Variable": "$.resume", "IsPresent": True, "Next": compiler.RESUME_ROUTE}]
    for name, state in asl["States"].items():
        assert resumable["States"][name] == state


def test_every_state_can_be_resumed_and_a_wait_through_a_twin_with_what_was_left() -> None:
    asl = compiler.compile_workflow("c1", 1, JOURNEY)
    states = compiler.resumable(asl)["States"]
    route = {rule["StringEquals"]: rule["Next"] for rule in states[compiler.RESUME_ROUTE]["Choices"]}
    assert set(asl["States"]) <= set(route)
    delay = compiler.block_state("b2")
    twin = states[route[delay]]
    assert twin == {"Type": "Wait", "SecondsPath": "$.resume.seconds", "Next": asl["States"][delay]["Next"]}
    assert route[route[delay]] == route[delay]  # lost again while in the twin: resumed in the twin
    poll_wait = f"{compiler.block_state('b3')}.wait"
    assert states[route[poll_wait]]["Next"] == asl["States"][poll_wait]["Next"]
    assert route["journey.enter"] == "journey.enter"
    assert states[compiler.RESUME_ROUTE]["Default"] == compiler.RESUME_UNKNOWN
    assert states[compiler.RESUME_UNKNOWN]["Type"] == "Fail"


def test_a_machine_is_made_resumable_once() -> None:
    resumable = compiler.resumable(compiler.compile_workflow("c1", 1, JOURNEY))
    with pytest.raises(compiler.CompileError, match="already resumable"):
        compiler.resumable(resumable)
