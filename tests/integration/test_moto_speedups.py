"""The faster TransactWriteItems keeps DynamoDB's all-or-nothing semantics."""

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from nudge_tools.local import moto_speedups


@pytest.fixture
def table():
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="t", Item={"pk": {"S": "existing"}, "n": {"N": "1"}})
        client.put_item(TableName="t", Item={"pk": {"S": "other"}})
        yield client


def items(client):
    return {i["pk"]["S"]: i for i in client.scan(TableName="t")["Items"]}


def test_all_operations_apply_together(table):
    table.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": "t",
                    "Item": {"pk": {"S": "new"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": "t",
                    "Key": {"pk": {"S": "existing"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert items(table)["existing"]["n"] == {"N": "2"}
    assert "new" in items(table)


def test_one_failed_condition_applies_nothing_and_names_each_operation(table):
    with pytest.raises(ClientError) as info:
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "existing"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": {"S": "other"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in info.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert set(items(table)) == {"existing", "other"} and items(table)["existing"]["n"] == {"N": "1"}


def test_an_error_while_applying_rolls_back_what_was_applied(table):
    with pytest.raises(ClientError):
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "existing"}},
                        "UpdateExpression": "SET n = n + :s",
                        "ExpressionAttributeValues": {":s": {"S": "text"}},
                    }
                },
            ]
        )
    assert set(items(table)) == {"existing", "other"}


def test_two_operations_on_one_item_are_refused(table):
    with pytest.raises(ClientError, match="ValidationException"):
        table.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "x"}}}},
                {"Delete": {"TableName": "t", "Key": {"pk": {"S": "x"}}}},
            ]
        )


def test_queries_and_writes_from_many_threads_do_not_trip_over_each_other(table):
    import threading

    errors = []

    def write(worker):
        try:
            for i in range(150):
                table.put_item(TableName="t", Item={"pk": {"S": f"w{worker}-{i}"}})
        except ClientError as exc:
            errors.append(exc)

    def read():
        try:
            for _ in range(60):
                table.scan(TableName="t")
        except ClientError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(3)] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(items(table)) == 2 + 3 * 150


@pytest.fixture
def partitioned():
    moto_speedups.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="p",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_g",
                    "KeySchema": [
                        {"AttributeName": "g", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for p in range(30):
            for s in range(12):
                item = {
                    "pk": {"S": f"p{p}"},
                    "sk": {"S": f"s{s:02d}"},
                    "g": {"S": f"g{s % 3}"},
                    "n": {"N": str(s)},
                }
                client.put_item(TableName="p", Item=item)
        yield client


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p7"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
    {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "p3"}, ":a": {"S": "s02"}, ":b": {"S": "s09"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "FilterExpression": "n > :n",
        "ExpressionAttributeValues": {":p": {"S": "p5"}, ":s": {"S": "s0"}, ":n": {"N": "4"}},
    },
    {
        "IndexName": "by_g",
        "KeyConditionExpression": "g = :g AND sk > :s",
        "ExpressionAttributeValues": {":g": {"S": "g1"}, ":s": {"S": "s03"}},
    },
]


def _pages(client, query, limit):
    items, start = [], {}
    while True:
        answer = client.query(TableName="p", Limit=limit, **query, **start)
        items.append(answer["Items"])
        if "LastEvaluatedKey" not in answer:
            return items
        start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}


def test_queries_answer_as_moto_does_reading_a_partition_or_the_unsorted_table(partitioned, monkeypatch):
    faster = [_pages(partitioned, q, limit) for q in QUERIES for limit in (100, 5)]
    moto_speedups.uninstall()
    try:
        original = [_pages(partitioned, q, limit) for q in QUERIES for limit in (100, 5)]
    finally:
        moto_speedups.install()
    assert faster == original
    assert [len(pages[0]) for pages in faster[::2]] == [12, 0, 8, 5, 90]

    def whole_table(table):
        raise AssertionError("a query on the table's key listed the whole table")

    monkeypatch.setattr(moto_speedups, "_ORIGINAL_ALL_ITEMS", whole_table)
    assert len(partitioned.query(TableName="p", **QUERIES[0])["Items"]) == 12
    assert len(partitioned.query(TableName="p", **QUERIES[4])["Items"]) == 90  # an index: unsorted read


def _stored(client, attributes: dict) -> bool:
    """Whether moto takes an item of these attributes (the size check), as a ValidationException says."""
    try:
        client.put_item(TableName="t", Item={"pk": {"S": "sized"}, **attributes})
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ValidationException", error.response
        return False
    return True


@pytest.mark.parametrize("padding", [404_000, 404_960, 404_990, 405_000, 405_100])
def test_an_item_s_size_is_refused_exactly_where_moto_refuses_it(table, padding):
    # Many attributes, one of them a nested map: what moto's own per-attribute check measures.
    attributes = {f"a{i}": {"S": "x" * 10} for i in range(20)}
    attributes["m"] = {"M": {"n": {"N": "12"}, "l": {"L": [{"S": "y"}, {"BOOL": True}]}}}
    attributes["pad"] = {"S": "z" * (padding - 20 * 12 - 20)}
    faster = _stored(table, attributes)
    moto_speedups.uninstall()
    try:
        assert _stored(table, attributes) == faster
    finally:
        moto_speedups.install()


def _expression_workload(client) -> list:
    """Conditions and updates repeated with the same and with other values, some failing: what a cache of
    parsed expressions could get wrong if a tree kept anything of an earlier request."""
    outcomes = []

    def attempt(**request):
        try:
            client.update_item(TableName="t", **request) if "Key" in request else client.put_item(
                TableName="t", **request
            )
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    for i in range(4):
        for pk in ("a", "b", "a"):
            attempt(
                Item={"pk": {"S": pk}, "n": {"N": str(i)}}, ConditionExpression="attribute_not_exists(pk)"
            )
        attempt(
            Key={"pk": {"S": "a"}},
            UpdateExpression="ADD n :step SET #c = :colour",
            ConditionExpression="#c <> :colour OR attribute_not_exists(#c)",
            ExpressionAttributeNames={"#c": "colour"},
            ExpressionAttributeValues={
                ":step": {"N": str(i + 1)},
                ":colour": {"S": "red" if i % 2 else "blue"},
            },
        )
        attempt(  # an unused value is refused, on every request
            Key={"pk": {"S": "b"}},
            UpdateExpression="SET m = :m",
            ExpressionAttributeValues={":m": {"N": "1"}, ":unused": {"N": "2"}},
        )
        # Validation kept per expression, names and key: the same expression under names that do and do
        # not name the key, that overlap or not, and walks that read the item (paths on the right-hand
        # side, if_not_exists, list_append, arithmetic, a path the item lacks on some rounds).
        for name in ("colour", "pk", "colour"):
            attempt(
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET #x = :v",
                ExpressionAttributeNames={"#x": name},
                ExpressionAttributeValues={":v": {"S": f"v{i}"}},
            )
        for first, second in (("m", "m2"), ("m", "m"), ("m", "m2")):
            attempt(
                Key={"pk": {"S": "b"}},
                UpdateExpression="SET #a = :v, #b = :v",
                ExpressionAttributeNames={"#a": first, "#b": second},
                ExpressionAttributeValues={":v": {"N": str(i)}},
            )
        attempt(
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET since = if_not_exists(since, :now), sum_n = n + :step, "
            "seen = list_append(if_not_exists(seen, :empty), :one), dup = #c REMOVE gone",
            ExpressionAttributeNames={"#c": "colour"},
            ExpressionAttributeValues={
                ":now": {"N": str(100 + i)},
                ":step": {"N": "2"},
                ":empty": {"L": []},
                ":one": {"L": [{"N": str(i)}]},
            },
        )
        attempt(  # reads a path only some rounds' items have
            Key={"pk": {"S": "b"}},
            UpdateExpression="SET twice = base_n + :step",
            ExpressionAttributeValues={":step": {"N": "1"}},
        )
        attempt(  # a number added to a string: refused each time
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET wrong = #c + :step",
            ExpressionAttributeNames={"#c": "colour"},
            ExpressionAttributeValues={":step": {"N": "1"}},
        )
        if i == 1:
            attempt(
                Key={"pk": {"S": "b"}},
                UpdateExpression="SET base_n = :n",
                ExpressionAttributeValues={":n": {"N": "5"}},
            )
    outcomes.append(sorted((k, str(v)) for k, v in items(client).items()))
    return outcomes


def test_parsed_expressions_kept_answer_as_moto_parsing_each_time(table):
    table.delete_item(TableName="t", Key={"pk": {"S": "existing"}})
    table.delete_item(TableName="t", Key={"pk": {"S": "other"}})
    kept = _expression_workload(table)
    for pk in ("a", "b"):
        table.delete_item(TableName="t", Key={"pk": {"S": pk}})
    moto_speedups.uninstall()
    try:
        assert _expression_workload(table) == kept
    finally:
        moto_speedups.install()
    assert "ConditionalCheckFailedException" in kept and "ValidationException" in kept
