"""The evaluate handler on real stream records, delivered by the local runtime's stream pump."""

import threading
import time

import boto3
import pytest

from functions.evaluate import handler as evaluate
from nudge.model import Person
from nudge.settings import get_settings
from nudge.stream_changes import consumers
from nudge.stream_changes.changes import Change
from tests.support.stream_records import event_insert


@pytest.fixture
def seen(monkeypatch):
    """A consumer that records what reaches it (the real consumers arrive with later issues)."""
    changes: list[Change] = []
    lock = threading.Lock()

    def record(change: Change) -> None:
        with lock:
            changes.append(change)

    monkeypatch.setattr(consumers, "CONSUMERS", [record])
    return changes


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_track_writes_reach_the_evaluate_handler_as_typed_changes(track, ws, pump, seen):
    track.put("/api/v1/customers/u1", {"plan": "pro"})
    track.post("/api/v1/customers/u1/events", {"name": "purchase", "id": "e1"})
    assert wait_for(lambda: any(c.table == "events" for c in seen))
    profile = next(c for c in seen if c.table == "people" and isinstance(c.new, Person))
    assert profile.event_name == "INSERT" and profile.workspace_id == ws
    assert profile.new.attributes.as_dict() == {"plan": "pro"}
    event = next(c for c in seen if c.table == "events")
    assert event.new.name == "purchase"


def test_a_poison_record_is_dead_lettered_and_the_rest_of_its_batch_is_processed(track, ws, pump, seen):
    table = get_settings().table_name("people")
    raw = boto3.client("dynamodb", region_name="us-east-1")
    # Written behind the API's back: a profile with no workspace scope can never be evaluated.
    raw.put_item(
        TableName=table, Item={"pk": {"S": "rogue"}, "sk": {"S": "profile"}, "kind": {"S": "person"}}
    )
    track.put("/api/v1/customers/after-the-poison", {"plan": "pro"})
    assert wait_for(lambda: pump.status()["dead_letters"])
    assert wait_for(
        lambda: any(isinstance(c.new, Person) and c.new.person_id == "after-the-poison" for c in seen)
    )
    [dead] = pump.status()["dead_letters"]
    assert dead["table"] == "people" and dead["keys"]["pk"] == {"S": "rogue"}
    assert dead["attempts"] == 3
    assert pump.status()["tables"]["people"]["dead_letters"] == 1


def test_redelivered_records_are_reported_failed_only_for_the_bad_one(account, seen):
    good = event_insert(get_settings().table_name("events"), "100")
    bad = event_insert("somebody-else", "101")
    from nudge_tools.local.apigw import LocalContext

    result = evaluate.handler({"Records": [good, bad]}, LocalContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "101"}]}
    assert [c.new.name for c in seen] == ["x"]
