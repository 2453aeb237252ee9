"""DynamoDB on-demand request units, from item sizes (see ``bench.sizing``).

Writes are billed in 1 KB units, reads in 4 KB units; the rules below are AWS's for on-demand tables
("Read/write capacity mode" and "Secondary indexes: provisioned throughput considerations"):

- A write is billed on the larger of the item before and after it (a replaced or updated item costs
  what the bigger version weighs), at least one unit; a failed conditional write on the existing item.
- Each secondary index whose key attributes the item has is written too: one put when the item
  enters the index, one delete when it leaves, both when its index key changes, an update when it
  stays, and nothing when the item did not change at all.
- A transactional write is billed twice on the table (prepare and commit); index maintenance is an
  ordinary write, since it happens after the commit.
- A read is billed on the whole item even if a projection returns less, at least one unit even when
  the item is missing; half when eventually consistent; twice in a transaction. A query sums the
  bytes of every item it returns, then rounds once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.sizing import Item, item_size

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
TRANSACTION_FACTOR = 2


@dataclass(frozen=True)
class Index:
    """A secondary index. ``non_key`` is None when every attribute is projected (``ALL``)."""

    name: str
    keys: tuple[str, ...]
    non_key: tuple[str, ...] | None = None

    def holds(self, item: Item | None) -> bool:
        """Indexes are sparse: an item is in the index only if it has every index key attribute."""
        return item is not None and all(name in item for name in self.keys)

    def entry(self, item: Item, table_keys: tuple[str, ...]) -> Item:
        if self.non_key is None:
            return item
        kept = {*table_keys, *self.keys, *self.non_key}
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class Table:
    name: str
    keys: tuple[str, ...]  # hash key, then range key if any
    indexes: tuple[Index, ...] = ()

    def key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self.keys}


def write_units_for(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units_for(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def table_write_units(before: Item | None, after: Item | None) -> int:
    return write_units_for(max(item_size(before), item_size(after)))


def index_write_units(table: Table, before: Item | None, after: Item | None) -> int:
    if before == after:
        return 0
    total = 0
    for index in table.indexes:
        was, now = index.holds(before), index.holds(after)
        old = index.entry(before, table.keys) if was and before is not None else None
        new = index.entry(after, table.keys) if now and after is not None else None
        if old is not None and new is not None:
            if old == new:
                continue  # nothing the index holds changed (a keys-only or include index): no index write
            if all(old[k] == new[k] for k in index.keys):
                total += write_units_for(max(item_size(old), item_size(new)))
            else:
                total += write_units_for(item_size(old)) + write_units_for(item_size(new))
        elif new is not None:
            total += write_units_for(item_size(new))
        elif old is not None:
            total += write_units_for(item_size(old))
    return total


def write_units(table: Table, before: Item | None, after: Item | None, *, transactional: bool = False) -> int:
    """A successful write of one item, from its images before and after (None: no item)."""
    factor = TRANSACTION_FACTOR if transactional else 1
    return factor * table_write_units(before, after) + index_write_units(table, before, after)


def failed_write_units(before: Item | None, *, transactional: bool = False) -> int:
    """A write refused by its condition still reads the existing item's size in write units."""
    factor = TRANSACTION_FACTOR if transactional else 1
    return factor * write_units_for(item_size(before))


def item_read_units(item: Item | None, *, consistent: bool, transactional: bool = False) -> float:
    units = read_units_for(item_size(item), consistent=consistent or transactional)
    return TRANSACTION_FACTOR * units if transactional else units


def query_read_units(items: list[Item], *, consistent: bool) -> float:
    return read_units_for(sum(item_size(item) for item in items), consistent=consistent)
