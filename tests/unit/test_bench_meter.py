"""The benchmark's DynamoDB item sizing and request-unit arithmetic (pure functions, no AWS)."""

from __future__ import annotations

import base64

import pytest

from bench.meter import _shape
from bench.sizing import Item, item_size, number_size, value_size
from bench.units import (
    Index,
    Table,
    failed_write_units,
    item_read_units,
    query_read_units,
    read_units_for,
    write_units,
    write_units_for,
)


def sized(total: int, **extra: str) -> Item:
    """An item of exactly ``total`` bytes: ``pk`` = "k" (3 bytes), ``blob`` padding, plus ``extra``."""
    item: Item = {"pk": {"S": "k"}, **{name: {"S": value} for name, value in extra.items()}}
    padding = total - item_size(item) - len("blob")
    assert padding >= 0
    item["blob"] = {"S": "x" * padding}
    assert item_size(item) == total
    return item


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 1), ("7", 2), ("10", 2), ("123", 3), ("1.50", 2), ("0.001", 2), ("-5", 3), ("12345678", 5)],
)
def test_numbers_take_a_byte_per_two_significant_digits_plus_one(text: str, size: int) -> None:
    assert number_size(text) == size


def test_scalars() -> None:
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes, not characters
    assert value_size({"B": b"\x00\x01\x02"}) == 3
    assert value_size({"B": base64.b64encode(b"\x00\x01\x02").decode()}) == 3  # as in a request body
    assert value_size({"BOOL": True}) == 1
    assert value_size({"NULL": True}) == 1


def test_sets_are_the_sum_of_their_members() -> None:
    assert value_size({"SS": ["a", "bc"]}) == 3
    assert value_size({"NS": ["1", "123"]}) == 5


def test_lists_and_maps_have_three_bytes_of_overhead_and_one_per_element() -> None:
    assert value_size({"L": []}) == 3
    assert value_size({"M": {}}) == 3
    assert value_size({"L": [{"S": "ab"}, {"BOOL": False}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"amount": {"N": "10"}}}) == 3 + 1 + len("amount") + 2
    assert value_size({"M": {"m": {"L": [{"N": "1"}]}}}) == 3 + 1 + 1 + (3 + 1 + 2)


def test_an_item_counts_attribute_names() -> None:
    assert item_size({"pk": {"S": "abc"}, "n": {"N": "42"}}) == 2 + 3 + 1 + 2
    assert item_size(None) == 0


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        value_size({"X": "1"})


def test_unit_rounding() -> None:
    assert [write_units_for(n) for n in (0, 1, 1024, 1025, 3000)] == [1, 1, 1, 2, 3]
    assert read_units_for(0, consistent=True) == 1
    assert read_units_for(4096, consistent=True) == 1
    assert read_units_for(4097, consistent=True) == 2
    assert read_units_for(4097, consistent=False) == 1
    assert read_units_for(10, consistent=False) == 0.5


PLAIN = Table("plain", ("pk",))
BY_TIME = Index("by_time", ("pk", "ts"))
INDEXED = Table("events", ("pk",), (BY_TIME,))


def test_a_write_is_billed_on_the_larger_image() -> None:
    small, big = sized(500), sized(1500)
    assert write_units(PLAIN, None, small) == 1
    assert write_units(PLAIN, small, big) == 2
    assert write_units(PLAIN, big, small) == 2
    assert write_units(PLAIN, big, None) == 2  # a delete
    assert write_units(PLAIN, None, None) == 1  # deleting nothing still costs a unit


def test_an_index_write_when_the_item_has_the_index_keys() -> None:
    without_key = sized(500)
    assert write_units(INDEXED, None, without_key) == 1  # sparse: not in the index
    event = sized(500, ts="001")
    assert write_units(INDEXED, None, event) == 2  # table put + index put
    changed = sized(600, ts="001")
    assert write_units(INDEXED, event, changed) == 2  # index key unchanged: one index update
    moved = sized(600, ts="002")
    assert write_units(INDEXED, event, moved) == 3  # index key changed: index delete + put
    assert write_units(INDEXED, event, None) == 2  # table delete + index delete
    assert write_units(INDEXED, event, without_key) == 2  # leaves the index
    assert write_units(INDEXED, event, dict(event)) == 1  # nothing changed: the index is not written


def test_index_entries_are_sized_by_projection() -> None:
    keys_only = Table("t", ("pk",), (Index("i", ("pk", "ts"), non_key=()),))
    item = sized(3000, ts="1")
    entry = keys_only.indexes[0].entry(item, keys_only.keys)
    assert set(entry) == {"pk", "ts"}
    assert write_units(keys_only, None, item) == 3 + 1
    include = Index("i", ("pk", "ts"), non_key=("blob",))
    assert set(include.entry(item, ("pk",))) == {"pk", "ts", "blob"}


def test_changing_only_unprojected_attributes_does_not_write_a_keys_only_index() -> None:
    keys_only = Table("t", ("pk",), (Index("i", ("pk", "ts"), non_key=()),))
    before = sized(500, ts="1")
    after = sized(700, ts="1")  # a bigger blob, same index entry
    assert write_units(keys_only, before, after) == 1


def test_transactions_double_the_table_write_not_the_index_write() -> None:
    event = sized(500, ts="001")
    assert write_units(INDEXED, None, event, transactional=True) == 2 + 1
    assert write_units(PLAIN, None, sized(1500), transactional=True) == 4


def test_a_failed_condition_is_billed_on_the_existing_item() -> None:
    assert failed_write_units(None) == 1
    assert failed_write_units(sized(2100)) == 3
    assert failed_write_units(sized(100), transactional=True) == 2


def test_reads() -> None:
    assert item_read_units(sized(100), consistent=True) == 1
    assert item_read_units(sized(100), consistent=False) == 0.5
    assert item_read_units(None, consistent=False) == 0.5  # a miss still costs
    assert item_read_units(sized(5000), consistent=False) == 1
    assert item_read_units(sized(100), consistent=False, transactional=True) == 2


def test_a_query_rounds_the_total_once() -> None:
    items = [sized(1500) for _ in range(3)]  # 4500 bytes
    assert query_read_units(items, consistent=True) == 2
    assert query_read_units(items, consistent=False) == 1
    assert query_read_units([], consistent=False) == 0.5


def test_table_shape_from_describe_table() -> None:
    described = {
        "TableName": "events",
        "KeySchema": [
            {"AttributeName": "sk", "KeyType": "RANGE"},
            {"AttributeName": "pk", "KeyType": "HASH"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by_time",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "ts", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_name",
                "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["data"]},
            }
        ],
    }
    table = _shape(described)
    assert table.keys == ("pk", "sk")
    assert table.indexes == (Index("by_time", ("pk", "ts")), Index("by_name", ("name",), ("data",)))
    assert table.key_of({"pk": {"S": "a"}, "sk": {"S": "b"}, "x": {"N": "1"}}) == {
        "pk": {"S": "a"},
        "sk": {"S": "b"},
    }
