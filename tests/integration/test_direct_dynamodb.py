"""The local runtime's direct path into moto (``nudge_tools.local.direct_dynamodb``) answers exactly as the
full botocore path does: the same workload of PynamoDB operations, run once each way on a fresh moto, gives
the same results, the same pages and the same errors, and the direct path really is the one taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws
from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection.base import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from nudge_tools.local import direct_dynamodb, moto_speedups


class ByColour(GlobalSecondaryIndex["Thing"]):
    class Meta:
        index_name = "by_colour"
        projection = AllProjection()

    colour = UnicodeAttribute(hash_key=True)
    n = NumberAttribute(range_key=True)


class Thing(Model):
    class Meta:
        table_name = "things"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    n = NumberAttribute(default=0)
    colour = UnicodeAttribute(default="red")
    tags = UnicodeSetAttribute(null=True)
    doc = MapAttribute(null=True)  # type: ignore[var-annotated]
    history = ListAttribute(null=True)  # type: ignore[var-annotated]
    by_colour = ByColour()


def _error(call: Callable[[], Any]) -> tuple[str, str, list[Any]]:
    """An operation DynamoDB refuses: PynamoDB's exception type, DynamoDB's error code and, for a
    transaction, the cancellation reasons."""
    with pytest.raises(PynamoDBException) as info:
        call()
    reasons = [r and (r.code, r.message) for r in getattr(info.value, "cancellation_reasons", None) or []]
    return type(info.value).__name__, str(info.value.cause_response_code), reasons


def _found(pk: str, sk: str) -> dict[str, Any] | None:
    try:
        return Thing.get(pk, sk).serialize()
    except Thing.DoesNotExist:
        return None


def _workload() -> list[Any]:
    """Every kind of item operation the platform makes, with the answers it reads back."""
    seen: list[Any] = []
    for i in range(12):
        Thing(
            pk="p",
            sk=f"s{i:02d}",
            n=i,
            colour="blue" if i % 3 else "red",
            tags={"a", f"t{i}"},
            doc={"name": f"thing {i}", "nested": {"deep": [1, "two", {"three": 3}]}},
            history=[i, "x"],
        ).save()
    seen.append(Thing.get("p", "s03").serialize())
    seen.append(_found("p", "missing"))
    thing = Thing.get("p", "s04")
    thing.update(actions=[Thing.n.add(5), Thing.doc["name"].set("renamed"), Thing.history.remove()])
    seen.append(Thing.get("p", "s04").serialize())
    seen.append(_error(lambda: Thing(pk="p", sk="s04").save(condition=Thing.pk.does_not_exist())))
    seen.append(
        _error(lambda: Thing.get("p", "s05").update(actions=[Thing.n.set(1)], condition=Thing.n == 99))
    )
    Thing.get("p", "s05").delete()
    # A page boundary, a range condition, a filter, descending order, the last key carried over.
    first = Thing.query(
        "p", Thing.sk >= "s02", filter_condition=Thing.n < 10, limit=3, scan_index_forward=False
    )
    seen.append([t.sk for t in first])
    pages = Thing.query("p", page_size=4)
    seen.append([t.sk for t in pages])
    seen.append(pages.last_evaluated_key)
    seen.append(Thing.count("p", Thing.sk.startswith("s1")))
    seen.append([(t.sk, t.n) for t in Thing.by_colour.query("blue", Thing.n > 3)])
    seen.append(sorted(t.sk for t in Thing.scan(Thing.colour == "red")))
    seen.append(sorted(t.sk for t in Thing.batch_get([("p", "s01"), ("p", "s02"), ("p", "nope")])))
    with Thing.batch_write() as batch:
        for i in range(30):
            batch.save(Thing(pk="q", sk=f"b{i:02d}", n=i))
        batch.delete(Thing(pk="p", sk="s06"))
    seen.append(Thing.count("q"))
    connection = Thing._get_connection().connection
    with TransactWrite(connection=connection) as tx:
        tx.save(Thing(pk="t", sk="one"), condition=Thing.pk.does_not_exist())
        tx.update(Thing(pk="p", sk="s07"), actions=[Thing.n.add(1)])
    seen.append(Thing.get("p", "s07").n)

    def cancelled() -> None:
        with TransactWrite(connection=connection) as tx:
            tx.save(Thing(pk="t", sk="two"))
            tx.save(Thing(pk="t", sk="one"), condition=Thing.pk.does_not_exist())

    seen.append(_error(cancelled))
    assert isinstance(_failure(cancelled), TransactWriteError)
    seen.append(_found("t", "two"))  # nothing of a cancelled transaction was applied
    with TransactGet(connection=connection) as get:
        models = [get.get(Thing, "p", "s08"), get.get(Thing, "t", "one")]
    seen.append([m.get().serialize() for m in models])
    seen.append(_error(lambda: Thing(pk="", sk="x").save()))  # an empty key
    seen.append(_error(lambda: Thing(pk="big", sk="x", doc={"blob": "x" * 410_000}).save()))  # over 400 KB
    seen.append(sorted((t.pk, t.sk, t.n) for t in Thing.scan()))
    return seen


def _failure(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(PynamoDBException) as info:
        call()
    return info.value


def _run(direct: bool) -> list[Any]:
    if direct:
        direct_dynamodb.install()
    try:
        with mock_aws():
            Thing._connection = None
            Thing.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            return _workload()
    finally:
        direct_dynamodb.uninstall()
        Thing._connection = None


def test_the_direct_path_answers_as_botocore_does() -> None:
    moto_speedups.install()
    assert _run(direct=True) == _run(direct=False)


def test_answers_come_from_the_direct_path_and_only_errors_go_through_botocore(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    through_botocore: list[str] = []
    botocore_path = direct_dynamodb._BOTOCORE_PATH

    def counted(self: Connection, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        through_botocore.append(operation)
        return botocore_path(self, operation, params)

    monkeypatch.setattr(direct_dynamodb, "_BOTOCORE_PATH", counted)
    moto_speedups.install()
    direct_dynamodb.install()
    try:
        with mock_aws():
            Thing._connection = None
            Thing.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            through_botocore.clear()  # creating the table is table management: botocore's
            Thing(pk="p", sk="a").save()
            Thing.get("p", "a")
            list(Thing.query("p"))
            assert through_botocore == []
            _error(lambda: Thing(pk="p", sk="a").save(condition=Thing.pk.does_not_exist()))
            assert through_botocore == ["PutItem"]
    finally:
        direct_dynamodb.uninstall()
        Thing._connection = None
