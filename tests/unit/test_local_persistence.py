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
from moto.dynamodb.models.dynamo_type import LimitedSizeDict

from nudge.campaigns import compiler
from nudge_tools.local import persistence
from nudge_tools.local.persistence import (
    RunningExecution,
    RuntimeParts,
    Saver,
    Snapshot,
    SnapshotUnreadable,
    StreamProgress,
    TableChanges,
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


class Saved:
    """A Saver over the mocked moto, its other parts fixed."""

    def __init__(self, state_dir: Path, restored: Snapshot | None = None) -> None:
        self.trim: dict[str, int] = {}
        self.saver = Saver(
            state_dir,
            TableChanges(REGION, restored.tables if restored else ()),
            sequence=restored.sequence if restored else 0,
            parts=RuntimeParts(
                meta=lambda: ({"workspace_id": "w"}, "secret", {}),
                executions=list,
                trim_points=lambda: dict(self.trim),
                local_clock=lambda real: real,
            ),
        )


def _live(client: Any, table: str) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=table)["Items"], key=json.dumps)


def _loaded(state_dir: Path, table: str) -> list[dict[str, Any]]:
    snapshot = persistence.load(state_dir)
    assert snapshot is not None
    return sorted(
        (item.to_json()["Attributes"] for item in snapshot.tables[table].all_items()), key=json.dumps
    )


def _range_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_the_journal_replays_puts_updates_and_deletes_onto_the_snapshot(
    dynamodb: Any, tmp_path: Path
) -> None:
    _table(dynamodb, "people", stream=True)
    _range_table(dynamodb, "events")
    _put(dynamodb, "people", "a", "b")
    saved = Saved(tmp_path)
    saved.saver.start(restored=False)  # the snapshot
    _put(dynamodb, "people", "c")
    dynamodb.delete_item(TableName="people", Key={"pk": {"S": "a"}})
    dynamodb.update_item(
        TableName="people",
        Key={"pk": {"S": "b"}},
        UpdateExpression="SET v = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    for sk in ("1", "2"):
        dynamodb.put_item(TableName="events", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    assert saved.saver.save()  # a journal entry
    dynamodb.delete_item(TableName="events", Key={"pk": {"S": "p"}, "sk": {"S": "1"}})
    assert saved.saver.save()
    assert not saved.saver.save()  # nothing changed since
    assert persistence.journal_path(tmp_path).stat().st_size > 0

    assert _loaded(tmp_path, "people") == _live(dynamodb, "people")
    assert _loaded(tmp_path, "events") == _live(dynamodb, "events") == [{"pk": {"S": "p"}, "sk": {"S": "2"}}]
    snapshot = persistence.load(tmp_path)
    assert snapshot is not None and snapshot.sequence == 3
    # Every stream record is still there (nothing delivered): five writes to people.
    assert len(snapshot.tables["people"].stream_shard.items) == 5


def test_a_journal_entry_cut_short_is_ignored_and_older_entries_never_apply(
    dynamodb: Any, tmp_path: Path
) -> None:
    _table(dynamodb, "people", stream=False)
    saved = Saved(tmp_path)
    saved.saver.start(restored=False)
    _put(dynamodb, "people", "a")
    saved.saver.save()
    journal = persistence.journal_path(tmp_path)
    complete = journal.read_bytes()
    _put(dynamodb, "people", "b")
    saved.saver.save()
    journal.write_bytes(journal.read_bytes()[:-3])  # killed while writing the second entry
    assert [i["pk"]["S"] for i in _loaded(tmp_path, "people")] == ["a"]

    saved.saver.save(snapshot=True)  # a new snapshot, with b; then a crash leaves the old journal behind
    journal.write_bytes(complete)
    dynamodb.delete_item(TableName="people", Key={"pk": {"S": "a"}})  # not saved: no effect on disk
    assert [i["pk"]["S"] for i in _loaded(tmp_path, "people")] == ["a", "b"]


def test_a_new_snapshot_replaces_the_journal_once_it_has_outgrown_the_last(
    dynamodb: Any, tmp_path: Path
) -> None:
    _table(dynamodb, "people", stream=False)
    saved = Saved(tmp_path)
    saved.saver.start(restored=False)
    for n in range(40):
        dynamodb.put_item(TableName="people", Item={"pk": {"S": f"p{n}"}, "blob": {"S": "x" * 40_000}})
        saved.saver.save()
    status = saved.saver.status()
    assert status["journal_bytes"] < 1 << 20 < status["snapshot_bytes"]
    assert len(_loaded(tmp_path, "people")) == 40


def test_a_journal_grown_over_several_runs_is_replaced_once_it_has_outgrown_the_snapshot(
    dynamodb: Any, tmp_path: Path
) -> None:
    _table(dynamodb, "people", stream=False)
    first = Saved(tmp_path)
    first.saver.save(snapshot=True)  # saved by hand (no saving thread): one run that journals 1.2 MB
    for n in range(30):
        dynamodb.put_item(TableName="people", Item={"pk": {"S": f"p{n}"}, "blob": {"S": "x" * 40_000}})
    first.saver.save()
    on_disk = persistence.journal_path(tmp_path).stat().st_size
    assert on_disk > 1 << 20
    restored = persistence.load(tmp_path)
    assert restored is not None

    second = Saved(tmp_path, restored)  # the next run counts what the last one left: its first save
    second.saver.start(restored=True)  # finds the journal bigger than the snapshot and replaces both
    assert persistence.journal_path(tmp_path).stat().st_size == 0
    _put(dynamodb, "people", "one more")
    second.saver.save()

    status = second.saver.status()
    second.saver.stop()
    assert 0 < status["journal_bytes"] == persistence.journal_path(tmp_path).stat().st_size < on_disk
    assert status["snapshot_bytes"] == persistence.snapshot_path(tmp_path).stat().st_size > 1 << 20
    assert len(_loaded(tmp_path, "people")) == 31


def test_a_restored_state_journals_on_where_it_was(dynamodb: Any, tmp_path: Path) -> None:
    _table(dynamodb, "people", stream=True)
    first = Saved(tmp_path)
    first.saver.start(restored=False)
    _put(dynamodb, "people", "a")
    first.saver.stop()  # a journal entry
    restored = persistence.load(tmp_path)
    assert restored is not None and restored.sequence == 2

    persistence.dynamodb(REGION).tables.clear()  # a new process
    persistence.restore_tables(REGION, restored.tables)
    dynamodb.update_time_to_live(  # settings applied again at every start are no change
        TableName="people", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    _table(dynamodb, "events", stream=False)  # a table this version adds
    second = Saved(tmp_path, restored)
    second.saver.start(restored=True)
    _put(dynamodb, "people", "b")
    second.saver.stop()

    loaded = persistence.load(tmp_path)
    assert loaded is not None and loaded.sequence == 4 and set(loaded.tables) == {"people", "events"}
    assert [i["pk"]["S"] for i in _loaded(tmp_path, "people")] == ["a", "b"]
    stream = [r.to_json()["dynamodb"]["Keys"]["pk"]["S"] for r in loaded.tables["people"].stream_shard.items]
    assert stream == ["a", "b"]  # each record once


def test_only_what_was_written_is_saved(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=False)
    _table(dynamodb, "events", stream=False)
    _put(dynamodb, "people", "a", "b")
    changes = TableChanges(REGION)
    assert set(changes.take({})) == {"people", "events"}  # new tables: whole
    changes.done()
    assert changes.take({}) == {}

    _put(dynamodb, "events", "e1")
    taken = changes.take({})
    changes.done()
    assert list(taken) == ["events"]
    [(hash_value, range_value, item)] = taken["events"].items
    assert (hash_value.value, range_value, item.to_json()["Attributes"]["pk"]) == ("e1", None, {"S": "e1"})


def test_stream_records_every_consumer_finished_with_are_left_out(dynamodb: Any, tmp_path: Path) -> None:
    _table(dynamodb, "people", stream=True)
    _put(dynamodb, "people", "a", "b", "c")
    first = _shard("people").starting_sequence_number
    saved = Saved(tmp_path)
    saved.trim = {"people": first + 1}  # a and b delivered
    saved.saver.start(restored=False)
    assert len(_shard("people").items) == 3  # the live stream is left alone

    snapshot = persistence.load(tmp_path)
    assert snapshot is not None
    shard = snapshot.tables["people"].stream_shard
    assert shard.starting_sequence_number == first + 2
    [record] = [item.to_json() for item in shard.items]
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "c"}}
    assert int(record["dynamodb"]["SequenceNumber"]) == first + 2  # its number kept

    _put(dynamodb, "people", "d", "e")
    saved.trim = {"people": first + 2}  # c delivered too
    assert saved.saver.save()  # a journal entry: the new records, and where the stream starts now
    saved.trim = {"people": first + 3}  # and d: saved although no table was written
    assert saved.saver.save()
    loaded = persistence.load(tmp_path)
    assert loaded is not None
    kept = [item.to_json()["dynamodb"] for item in loaded.tables["people"].stream_shard.items]
    assert [(r["Keys"]["pk"]["S"], int(r["SequenceNumber"])) for r in kept] == [("e", first + 4)]
    assert loaded.tables["people"].stream_shard.starting_sequence_number == first + 4

    persistence.restore_tables(REGION, loaded.tables)  # as a new process would
    _put(dynamodb, "people", "f")
    assert int(_shard("people").items[-1].to_json()["dynamodb"]["SequenceNumber"]) == first + 5


def test_a_deleted_table_leaves_the_state(dynamodb: Any, tmp_path: Path) -> None:
    _table(dynamodb, "people", stream=False)
    _table(dynamodb, "events", stream=False)
    saved = Saved(tmp_path)
    saved.saver.start(restored=False)
    dynamodb.delete_table(TableName="people")
    saved.saver.save()
    snapshot = persistence.load(tmp_path)
    assert snapshot is not None and set(snapshot.tables) == {"events"}


@pytest.mark.parametrize("range_key", [False, True])
def test_writes_while_a_save_is_pickled_do_not_reach_it(dynamodb: Any, range_key: bool) -> None:
    key = {"pk": {"S": "a"}}
    if range_key:
        _range_table(dynamodb, "people")
        key["sk"] = {"S": "1"}
    else:
        _table(dynamodb, "people", stream=False)
    dynamodb.put_item(TableName="people", Item={**key, "v": {"N": "1"}})
    changes = TableChanges(REGION)
    taken = changes.take({}, whole=True)

    # Taken: what follows belongs to the next save.
    dynamodb.update_item(
        TableName="people",
        Key=key,
        UpdateExpression="SET v = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    dynamodb.put_item(
        TableName="people", Item={"pk": {"S": "b"}, **({"sk": {"S": "1"}} if range_key else {})}
    )
    pickled = pickle.dumps(taken)
    changes.done()

    restored = pickle.loads(pickled)["people"].table  # noqa: S301 - our own bytes
    assert [item.to_json()["Attributes"]["v"] for item in restored.all_items()] == [{"N": "1"}]
    assert dynamodb.get_item(TableName="people", Key=key)["Item"]["v"] == {"N": "2"}


def test_loading_items_skips_moto_s_size_check_on_every_attribute(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _table(dynamodb, "people", stream=False)
    dynamodb.put_item(TableName="people", Item={"pk": {"S": "a"}, "plan": {"S": "pro"}, "n": {"N": "3"}})
    taken = pickle.dumps(TableChanges(REGION).take({}, whole=True)["people"].table)

    def checked(self: Any, key: str, value: Any) -> None:
        raise AssertionError("the size check ran while loading")

    monkeypatch.setattr(LimitedSizeDict, "__setitem__", checked)
    table = pickle.loads(taken)  # noqa: S301 - our own bytes
    [item] = list(table.all_items())
    assert isinstance(item.attrs, LimitedSizeDict)
    assert item.to_json()["Attributes"] == {"pk": {"S": "a"}, "plan": {"S": "pro"}, "n": {"N": "3"}}


def test_a_saved_table_holds_its_items_once(dynamodb: Any) -> None:
    _table(dynamodb, "people", stream=True)
    _put(dynamodb, "people", *(f"p{n}" for n in range(200)))
    taken = TableChanges(REGION).take({}, whole=True)
    whole = pickle.dumps(persistence.dynamodb(REGION).tables["people"], protocol=pickle.HIGHEST_PROTOCOL)
    assert len(pickle.dumps(taken["people"].table)) <= len(whole) * 1.05  # no second copy dragged in


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
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["journal", "snapshot.pickle"]

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
