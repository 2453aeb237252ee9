"""Secondary-index queries read their partition (``moto_speedups``' index maps) and answer exactly as
moto's own query, which reads every item, whatever writes came before: puts new and replacing, updates
adding, changing and removing index keys, deletes, transactions applied, cancelled and rolled back, batch
writes, a table restored from the local runtime's state, and writers on other threads."""

from __future__ import annotations

import pickle
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.table import Table

from nudge_tools.local import moto_speedups, persistence

REGION = "us-east-1"
SEED = 20261203
STEPS = 700
Outcome = Any


def _create(client: Any) -> None:
    client.create_table(
        TableName="ix",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (("pk", "S"), ("sk", "S"), ("g", "S"), ("n", "N"), ("h", "N"), ("t", "S"))
        ],
        GlobalSecondaryIndexes=[
            {  # sparse in both keys; ties in n are ordered by the table's key
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {  # the same partitions as by_g, another order and projection
                "IndexName": "by_g_sk",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]},
            },
            {  # no range key: moto orders by the table's keys
                "IndexName": "by_h",
                "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by_t",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "t", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    _create_flat(client)


class Workload:
    """A seeded sequence of writes and index queries; ``run`` returns every outcome, in order."""

    def __init__(self, client: Any, seed: int = SEED) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.outcomes: list[Outcome] = []

    # --- items and keys -----------------------------------------------------------------------------

    def key(self, table: str) -> dict[str, Any]:
        pk = {"S": f"p{self.rng.randrange(6)}"}
        return {"pk": pk} if table == "flat" else {"pk": pk, "sk": {"S": f"s{self.rng.randrange(8)}"}}

    def item(self, table: str, key: dict[str, Any] | None = None) -> dict[str, Any]:
        rng = self.rng
        item = dict(key or self.key(table))
        if rng.random() < 0.8:
            item["g"] = {"S": rng.choice("abc")}
        if rng.random() < 0.85:
            item["n"] = {"N": str(rng.randrange(12))}
        if table == "ix":
            if rng.random() < 0.6:
                item["h"] = {"N": str(rng.randrange(1, 3))}
            if rng.random() < 0.7:
                item["t"] = {"S": f"t{rng.randrange(5)}"}
        if rng.random() < 0.3:
            item["x"] = {"S": "payload" * rng.randrange(1, 4)}
        return item

    def update(self, table: str, key: dict[str, Any], *, conditional: bool = True) -> dict[str, Any]:
        rng = self.rng
        choices: list[tuple[str, dict[str, Any]]] = [
            ("SET g = :g", {":g": {"S": rng.choice("abcd")}}),
            ("REMOVE g", {}),
            ("SET n = :n", {":n": {"N": str(rng.randrange(12))}}),
            ("ADD n :d", {":d": {"N": str(rng.randrange(-3, 4))}}),
            ("SET x = :x", {":x": {"S": "changed"}}),
            ("SET g = :g REMOVE n", {":g": {"S": rng.choice("abc")}}),
        ]
        if table == "ix":
            choices += [
                ("REMOVE h, t", {}),
                (
                    "SET h = :h, t = :t",
                    {":h": {"N": str(rng.randrange(1, 4))}, ":t": {"S": f"t{rng.randrange(5)}"}},
                ),
            ]
        expression, values = rng.choice(choices)
        request: dict[str, Any] = {"TableName": table, "Key": key, "UpdateExpression": expression}
        if values:
            request["ExpressionAttributeValues"] = values
        if conditional and rng.random() < 0.2:
            request["ConditionExpression"] = "attribute_exists(pk)"
        return request

    # --- the steps ----------------------------------------------------------------------------------

    def attempt(self, call: Callable[..., Any], **request: Any) -> None:
        try:
            call(**request)
            self.outcomes.append("ok")
        except ClientError as error:
            reasons = error.response.get("CancellationReasons")
            self.outcomes.append((error.response["Error"]["Code"], [r["Code"] for r in reasons or []]))

    def put(self, table: str) -> None:
        request: dict[str, Any] = {"TableName": table, "Item": self.item(table)}
        if self.rng.random() < 0.25:
            request["ConditionExpression"] = "attribute_not_exists(pk)"
        self.attempt(self.client.put_item, **request)

    def delete(self, table: str) -> None:
        request: dict[str, Any] = {"TableName": table, "Key": self.key(table)}
        if self.rng.random() < 0.3:
            request["ConditionExpression"] = "g = :g"
            request["ExpressionAttributeValues"] = {":g": {"S": "a"}}
        self.attempt(self.client.delete_item, **request)

    def distinct_keys(self, table: str, count: int) -> list[dict[str, Any]]:
        keys: dict[str, dict[str, Any]] = {}
        while len(keys) < count:
            key = self.key(table)
            keys[repr(sorted((k, v["S"]) for k, v in key.items()))] = key
        return list(keys.values())

    def transaction(self, table: str) -> None:
        rng = self.rng
        operations: list[dict[str, Any]] = []
        for key in self.distinct_keys(table, rng.randrange(2, 5)):
            kind = rng.choice(["Put", "Update", "Delete", "Update"])
            if kind == "Put":
                operations.append({"Put": {"TableName": table, "Item": self.item(table, key)}})
            elif kind == "Delete":
                operations.append({"Delete": {"TableName": table, "Key": key}})
            else:
                # One reason at most to cancel (the last operation's, below): moto's own transaction and the
                # speed-ups' report two at once differently, which is not what this test is about.
                operations.append({"Update": self.update(table, key, conditional=False)})
        ending = rng.random()
        if ending < 0.25:  # a condition that fails: nothing applies
            operations[-1] = {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": _key_of(table, operations[-1]),
                    "ConditionExpression": "g = :never",
                    "ExpressionAttributeValues": {":never": {"S": "never"}},
                }
            }
        elif ending < 0.4:  # an update that fails while applying: what was applied is rolled back
            operations[-1] = {
                "Update": {
                    "TableName": table,
                    "Key": _key_of(table, operations[-1]),
                    "UpdateExpression": "SET g = :g, n = n + :s",
                    "ExpressionAttributeValues": {":g": {"S": "z"}, ":s": {"S": "text"}},
                }
            }
        self.attempt(self.client.transact_write_items, TransactItems=operations)

    def batch(self, table: str) -> None:
        requests = [
            {"DeleteRequest": {"Key": key}}
            if self.rng.random() < 0.3
            else {"PutRequest": {"Item": self.item(table, key)}}
            for key in self.distinct_keys(table, self.rng.randrange(2, 7))
        ]
        self.attempt(self.client.batch_write_item, RequestItems={table: requests})

    def query(self) -> None:
        rng = self.rng
        table, index = rng.choice(
            [("ix", "by_g"), ("ix", "by_g_sk"), ("ix", "by_h"), ("ix", "by_t"), ("flat", "by_g")]
        )
        values: dict[str, Any] = {}
        if index in ("by_g", "by_g_sk"):
            values[":k"] = {"S": rng.choice("abcdz")}
            condition = "g = :k"
        elif index == "by_h":
            values[":k"] = {"N": str(rng.randrange(1, 4))}
            condition = "h = :k"
        else:
            values[":k"] = {"S": f"p{rng.randrange(7)}"}
            condition = "pk = :k"
        shape = rng.random()
        if index == "by_g" and shape < 0.3:
            condition += " AND n BETWEEN :lo AND :hi"
            values.update({":lo": {"N": "2"}, ":hi": {"N": "8"}})
        elif index == "by_g_sk" and shape < 0.3:
            condition += " AND begins_with(sk, :s)"
            values[":s"] = {"S": "s"}
        elif index == "by_t" and shape < 0.3:
            condition += " AND t > :t"
            values[":t"] = {"S": "t1"}
        request: dict[str, Any] = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": rng.random() < 0.5,
        }
        if rng.random() < 0.25 and index not in ("by_h",):
            request["FilterExpression"] = "attribute_exists(x)"
        if rng.random() < 0.15:
            request["Select"] = "COUNT"
        limit = rng.choice([None, 1, 2, 3, 5])
        if limit is not None:
            request["Limit"] = limit
        request["ExpressionAttributeValues"] = values
        pages = []
        while True:
            try:
                answer = self.client.query(**request)
            except ClientError as error:
                pages.append(error.response["Error"]["Code"])
                break
            pages.append(
                (answer.get("Items"), answer["Count"], answer["ScannedCount"], answer.get("LastEvaluatedKey"))
            )
            if "LastEvaluatedKey" not in answer:
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        self.outcomes.append((table, index, pages))

    def run(self, steps: int = STEPS, restore: Callable[[], None] | None = None) -> list[Outcome]:
        for step in range(steps):
            if restore is not None and step == steps // 2:
                restore()
                self.outcomes.append("restored")
            roll = self.rng.random()
            table = "ix" if self.rng.random() < 0.75 else "flat"
            if roll < 0.25:
                self.put(table)
            elif roll < 0.45:
                key = self.key(table)
                self.attempt(self.client.update_item, **self.update(table, key))
            elif roll < 0.52:
                self.delete(table)
            elif roll < 0.62:
                self.transaction(table)
            elif roll < 0.70:
                self.batch(table)
            else:
                self.query()
        return self.outcomes


def _key_of(table: str, operation: dict[str, Any]) -> dict[str, Any]:
    (body,) = operation.values()
    source = body.get("Key") or body["Item"]
    return {k: source[k] for k in (("pk",) if table == "flat" else ("pk", "sk"))}


def _restore_from_state() -> None:
    """What a restart of the local runtime does to moto's tables: its snapshot's tables (pickled, then
    loaded) put in place of the live ones (``persistence.restore_tables``)."""
    backend = persistence.dynamodb(REGION)
    # Our own bytes, just written: safe to load.
    tables = {name: pickle.loads(pickle.dumps(table)) for name, table in backend.tables.items()}  # noqa: S301
    persistence.restore_tables(REGION, tables)


@pytest.fixture
def speedups() -> Iterator[None]:
    moto_speedups.install()
    yield
    moto_speedups.install()


def _workload(seed: int, restore: Callable[[], None] | None = None) -> list[Outcome]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _create(client)
        return Workload(client, seed).run(restore=restore)


@pytest.mark.parametrize("seed", [SEED, SEED + 1])
def test_index_queries_answer_as_moto_reading_every_item(speedups, seed):
    faster = _workload(seed, restore=_restore_from_state)
    moto_speedups.uninstall()
    try:
        original = _workload(seed, restore=_restore_from_state)
    finally:
        moto_speedups.install()
    assert faster == original
    queries = [o for o in faster if isinstance(o, tuple) and len(o) == 3]
    answered = [pages for _, _, pages in queries if pages and isinstance(pages[0], tuple)]
    assert len(queries) > 150 and len(answered) == len(queries)
    assert sum(len(pages) > 2 for pages in answered) > 20  # pagination was exercised
    assert sum(1 for _, _, pages in queries if pages[0][1] == 0) > 5  # so were empty partitions
    kinds = {o if isinstance(o, str) else o[0] for o in faster}
    assert {"ok", "restored", "ConditionalCheckFailedException", "TransactionCanceledException"} <= kinds
    assert "ValidationException" in kinds  # a transaction rolled back


def test_an_index_query_reads_only_its_partition(speedups, monkeypatch):
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _create(client)
        for i in range(60):
            item = {"pk": {"S": f"p{i}"}, "sk": {"S": "s"}, "g": {"S": "abc"[i % 3]}, "n": {"N": str(i)}}
            client.put_item(TableName="ix", Item=item)
        query = {"TableName": "ix", "IndexName": "by_g", "KeyConditionExpression": "g = :g"}
        client.query(**query, ExpressionAttributeValues={":g": {"S": "a"}})  # builds the map
        client.update_item(  # moves p0 from "a" to "b"
            TableName="ix",
            Key={"pk": {"S": "p0"}, "sk": {"S": "s"}},
            UpdateExpression="SET g = :g",
            ExpressionAttributeValues={":g": {"S": "b"}},
        )
        read: list[int] = []
        all_items = Table.all_items

        def counted(table: Table) -> list[Any]:
            items = all_items(table)
            read.append(len(items))
            return items

        monkeypatch.setattr(Table, "all_items", counted)
        answer = client.query(**query, ExpressionAttributeValues={":g": {"S": "b"}})
        assert read == [21] and answer["Count"] == 21
        assert answer["Items"][0]["pk"] == {"S": "p0"}  # n = 0: first


def test_writers_on_other_threads_keep_the_partitions_exact(speedups):
    """Writers move items between partitions while a reader queries them; afterwards the map kept up
    answers as one built afresh from the items."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _create(client)
        errors: list[Exception] = []

        def write(worker: int) -> None:
            rng = random.Random(worker)
            try:
                for i in range(120):
                    key = {"pk": {"S": f"w{worker}-{i % 15}"}, "sk": {"S": "s"}}
                    if rng.random() < 0.5:
                        item = {**key, "g": {"S": rng.choice("ab")}, "n": {"N": str(rng.randrange(9))}}
                        client.put_item(TableName="ix", Item=item)
                    else:
                        client.update_item(
                            TableName="ix",
                            Key=key,
                            UpdateExpression="SET g = :g, n = :n",
                            ExpressionAttributeValues={":g": {"S": rng.choice("ab")}, ":n": {"N": "4"}},
                        )
            except ClientError as error:
                errors.append(error)

        def read() -> None:
            try:
                for i in range(60):
                    client.query(
                        TableName="ix",
                        IndexName="by_g",
                        KeyConditionExpression="g = :g",
                        ExpressionAttributeValues={":g": {"S": "ab"[i % 2]}},
                    )
            except ClientError as error:
                errors.append(error)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(3)] + [
            threading.Thread(target=read)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

        def both_partitions() -> list[Any]:
            return [
                client.query(
                    TableName="ix",
                    IndexName="by_g",
                    KeyConditionExpression="g = :g",
                    ExpressionAttributeValues={":g": {"S": g}},
                )["Items"]
                for g in "ab"
            ]

        kept = both_partitions()
        moto_speedups._INDEX_PARTITIONS.clear()  # built again, from the items, on the next query
        assert both_partitions() == kept
        assert sum(len(items) for items in kept) == 45


def test_a_table_deleted_and_created_again_starts_with_no_partitions(speedups):
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        _create(client)
        query = {
            "TableName": "flat",
            "IndexName": "by_g",
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": {"S": "a"}},
        }
        client.put_item(TableName="flat", Item={"pk": {"S": "old"}, "g": {"S": "a"}, "n": {"N": "1"}})
        assert [i["pk"]["S"] for i in client.query(**query)["Items"]] == ["old"]
        gone = persistence.dynamodb(REGION).tables["flat"]
        assert gone in moto_speedups._INDEX_PARTITIONS
        client.delete_table(TableName="flat")
        client.get_waiter("table_not_exists").wait(TableName="flat")
        _create_flat(client)
        client.put_item(TableName="flat", Item={"pk": {"S": "new"}, "g": {"S": "a"}, "n": {"N": "2"}})
        assert [i["pk"]["S"] for i in client.query(**query)["Items"]] == ["new"]
        assert persistence.dynamodb(REGION).tables["flat"] is not gone


def _create_flat(client: Any) -> None:
    """A table with no range key of its own."""
    client.create_table(
        TableName="flat",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
