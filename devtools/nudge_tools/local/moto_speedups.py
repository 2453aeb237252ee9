"""A faster, equally faithful ``TransactWriteItems`` for moto, item operations that are safe across
threads, and request routing that does not re-read moto's package directory per request (local runtime
and tests only).

moto 5.2 backs up every table a transaction touches with ``copy.deepcopy`` before applying it, so each
transaction costs time proportional to the tables' size, and a workload of N transactions costs N².
Billing metering is a transaction per profile change: 7,000 people took minutes. This version does what
DynamoDB specifies instead: evaluate every condition first, and apply nothing if any fails; then apply
all the operations, keeping copies of only the items it is about to change, so an error while applying
(a validation error in an update expression) still rolls everything back. Cancellation reasons keep
moto's shape and order. A lock makes the whole transaction atomic to other requests, as DynamoDB's are.

moto's server answers requests on many threads but its tables are plain dicts: a query iterating a
partition while another thread writes to it can fail ("dictionary changed size during iteration"),
which surfaced as an occasional 503 in the local runtime under load. The same lock now serializes the
item operations; moto runs under the GIL anyway, so nothing is lost but the crashes.

moto's server finds each request's backend by listing its own package directory (``os.listdir`` and an
``isdir`` per entry) and trying every service's URL patterns, under a global lock, on every request: about
a tenth of the local runtime's CPU during a broadcast (py-spy). Both answers depend only on the host name,
so they are kept per host.

moto answers a Query on a table's own key by listing and sorting every item of the table, then keeping
the partition asked for: a query costs time proportional to the table, and importing N people, whose
writes query their own partitions, costs N². Such a query now sees only its partition (the same items,
in the same order, so the same answer).

moto answers a Query on a secondary index the same way, reading every item: a page of people at 100,000
people took 17 s (``bench/people_page.py``). Each table's items are now filed by each queried index's
hash key value (``_IndexPartitions``: references to moto's ``Item`` objects, built on a table's first
index query and kept up to date by every write), and an index query reads only its partition; a local
index, or any index on the table's own hash key, reads the table's partition. moto's own query then
runs on those items, so the filters, limits, ``ExclusiveStartKey``, direction, ``Select``, projections
and ``LastEvaluatedKey`` are moto's. Its sort ends with the table's key, so no two items tie, and the
order of the matches is the partition's order restricted to them: each partition keeps its items sorted
by moto's own sort until a write touches it. Exactness rests on every change to an item re-filing it:
``Table.put_item`` and ``Table.delete_item`` (what puts, deletes, batch writes, transactions and their
rollback, and PartiQL all end in) and the backend's ``update_item`` (which changes the ``Item`` in
place, after the state journal may have swapped in a copy) re-file the key they wrote, from the table as
it is after the write, under the same lock as moto's item operations. The maps live beside moto's
tables, in a weak-keyed dict, not on the ``Table`` objects: those are pickled into the local runtime's
state and deep-copied into moto's backups, and the maps would go along; and a table deleted, or
replaced by a restore from the state (``persistence.restore_tables`` puts new ``Table`` objects in
moto), drops its maps with it, the new one building them again on its first index query.

moto checks an item's size as each attribute is added, measuring every attribute already there again (a
nested map from scratch each time): quadratic in an item's attributes. The size is now summed once. It
parses every condition and update expression anew on every request, though the platform writes a few
dozen distinct ones: a quarter of an update's time. Each distinct one is now parsed once (see
``_condition_parse`` and ``_update_make`` for why sharing the trees is safe). Validating an update
then took most of its time (a newsletter's send handler spent 45% of its time in moto's UpdateItem): moto
deep-copies the tree and walks it ten times, rebuilding each walker's table of node types at every
node. The copy is now unpickled from the tree pickled once, each walker's table is built once, and the
three checks that read only the expression, its names and the table's key (one clause of each kind, no
overlapping paths, no key attribute updated) run once per distinct combination that passed them
(``_validator_init``, ``_validate``): the walks that read the item and the values run every time.

Stream records are counted as moto appends them (``STREAM_WRITES``), so that the local stream pumps wait
for a write instead of polling every shard on a timer: a record reaches its consumer as soon as it is
written, and an idle runtime polls nothing. ``InProcessStreams`` reads moto's shards directly, as the
pumps' ``dynamodbstreams`` client: through boto3, moto serialized every record to JSON and botocore parsed
it back (a tenth of the runtime's CPU while importing people), and each read left a new shard iterator
in moto's memory for good.
"""

from __future__ import annotations

import copy
import json
import pickle
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto import backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.comparisons import ConditionExpressionParser, get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.validators import (
    ActionCountValidator,
    OverlappingPathsValidator,
    UpdateExpressionValidator,
    UpdateHashRangeKeyValidator,
    Validator,
)
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_LOCK = threading.RLock()
_ORIGINAL = DynamoDBBackend.transact_write_items
_ITEM_OPERATIONS = ("get_item", "put_item", "update_item", "delete_item", "query", "scan")
_ORIGINAL_OPERATIONS = {name: getattr(DynamoDBBackend, name) for name in _ITEM_OPERATIONS}


def _serialized(operation: Any) -> Any:
    def run(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return operation(self, *args, **kwargs)

    run.__wrapped__ = operation  # type: ignore[attr-defined]
    return run


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _LOCK:
        ops: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        seen: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            key = _key_of(self, op_type, op)
            marker = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if marker in seen:
                raise MultipleTransactionsException()
            seen.add(marker)
            ops.append((op_type, op, key))
            errors.append(_check(self, op, key))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        backups = [
            (op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))) for _, op, key in ops
        ]
        try:
            for op_type, op, key in ops:
                _apply(self, op_type, op, key)
        except (MockValidationException, ValueError):
            for table_name, key, before in backups:
                _restore(self, table_name, key, before)
            raise


def _check(backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]) -> tuple[Any, Any, Any]:
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    current = backend.get_item(op["TableName"], key)
    expression = get_filter_expression(
        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    )
    if expression.expr(current):
        return (None, None, None)
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", str(ConditionalCheckFailed(item=old).message), old)


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names = op.get("ExpressionAttributeNames") or {}
    values = op.get("ExpressionAttributeValues") or {}
    if op_type == "Put":
        backend.put_item(
            op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
        )
    elif op_type == "Delete":
        backend.delete_item(
            op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values
        )
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _restore(backend: DynamoDBBackend, table_name: str, key: dict[str, Any], before: Any) -> None:
    if before is None:
        backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, before.to_json()["Attributes"])


_ORIGINAL_ALL_ITEMS = Table.all_items
_ORIGINAL_QUERY = Table.query
_ORIGINAL_SORTED_ITEMS = Table.sorted_items
_ORIGINAL_TABLE_PUT = Table.put_item
_ORIGINAL_TABLE_DELETE = Table.delete_item
_INDEX_NAME_ARG = 6  # in Table.query's arguments after hash_key
_ANY_PARTITION = object()  # an index query moto's way: every item, in no particular order
_PARTITION = threading.local()  # (table, what a query on this thread reads: see _query)
_INDEXABLE = frozenset({"S", "N", "B"})  # the types a key attribute can have in DynamoDB

PrimaryKey = tuple[DynamoType, DynamoType | None]  # (hash, range or None): where an item is in its table
# An index's hash key values, in the index's schema order, as (type, value) pairs: what moto's equality of
# two ``DynamoType`` compares (and hashes), held apart from the item's own, mutable, attribute objects.
GroupKey = tuple[tuple[str, Any], ...]


class _IndexPartitions:
    """One table's items filed by the values of an index's hash key attributes: an index's partitions.

    ``groups`` holds, per hash key value, the items that have it, as references to moto's own ``Item``
    objects (no copies: the memory is a few dict entries per item). ``filed`` says where each item's key
    is filed, so that a write re-files an item from what this map recorded, whatever the write did to the
    item (moto's update changes the ``Item`` in place, and may add, change or remove any non-key
    attribute). Items without every hash key attribute, or with a value of a type no key can have, are
    in no group: the index is sparse, as DynamoDB's is, and moto's own query would not match them.

    ``ordered`` keeps, per group and per sort order (the attributes moto sorts an index query by), the
    group's items in moto's order, until a write touches the group."""

    def __init__(self, attributes: tuple[str, ...], table: Table) -> None:
        self.attributes = attributes
        self.groups: dict[GroupKey, dict[PrimaryKey, Item]] = {}
        self.filed: dict[PrimaryKey, GroupKey] = {}
        self.ordered: dict[GroupKey, dict[tuple[str, ...], list[Item]]] = {}
        for stored in table.items.values():
            for item in stored.values() if table.range_key_attr is not None else (stored,):
                if isinstance(item, Item):  # moto's defaultdict can hold an empty dict: no item
                    self.file((item.hash_key, item.range_key), item)

    def value(self, item: Item) -> GroupKey | None:
        return _group_key([item.attrs.get(name) for name in self.attributes])

    def file(self, key: PrimaryKey, item: Item | None) -> None:
        """File ``key`` as ``item`` now is (None: the table no longer has it)."""
        before = self.filed.pop(key, None)
        if before is not None:
            group = self.groups[before]
            del group[key]
            if not group:
                del self.groups[before]
            self.ordered.pop(before, None)
        now = None if item is None else self.value(item)
        if now is not None:
            self.groups.setdefault(now, {})[key] = item  # type: ignore[assignment]
            self.filed[key] = now
            self.ordered.pop(now, None)


# Table -> (index hash key attributes -> partitions). Beside moto's tables, not on them: a table is
# pickled into the local runtime's state (``persistence``) and deep-copied into moto's backups, and the
# map would go along, doubling what is written and copied for something rebuilt in one pass over the
# items. Weak keys: a deleted or replaced table (a restore puts new Table objects in moto) takes its
# map with it, and a new table's map is built on its first index query.
_INDEX_PARTITIONS: weakref.WeakKeyDictionary[Table, dict[tuple[str, ...], _IndexPartitions]] = (
    weakref.WeakKeyDictionary()
)


def _group_key(values: list[Any]) -> GroupKey | None:
    """The group of these hash key values; None if one is missing or of a type no key can have (no
    query's key matches it)."""
    if any(not isinstance(v, DynamoType) or v.type not in _INDEXABLE for v in values):
        return None
    return tuple((v.type, v.cast_value) for v in values)


def _refile(table: Table, key: PrimaryKey | None) -> None:
    """After a write to ``key``: file the item as it now is in every index map of ``table``."""
    maps = _INDEX_PARTITIONS.get(table)
    if not maps or key is None or any(k is not None and k.type not in _INDEXABLE for k in key):
        return  # nothing to file, or a key moto refuses (and cannot have stored)
    hash_value, range_value = key
    if table.range_key_attr is None:
        current = table.items.get(hash_value)
    else:
        # .get: items is a defaultdict, indexing would add the key
        current = None if range_value is None else table.items.get(hash_value, {}).get(range_value)
    for partitions in maps.values():
        partitions.file(key, current if isinstance(current, Item) else None)


def _key_in(table: Table, attributes: Any) -> PrimaryKey | None:
    """The key an item (or a request's key) of ``table`` is stored under; None where moto refuses the
    write (no key, a key of another shape or type), so that nothing here raises in its place."""
    names = (
        (table.hash_key_attr,)
        if table.range_key_attr is None
        else (table.hash_key_attr, table.range_key_attr)
    )
    if not isinstance(attributes, dict):
        return None
    values = [attributes.get(name) for name in names]
    if any(not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in _INDEXABLE for v in values):
        return None
    typed = [DynamoType(v) for v in values if v is not None]  # none is: checked above
    return (typed[0], typed[1] if len(typed) > 1 else None)


def _table_put_item(self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Item:
    with _LOCK:
        try:
            return _ORIGINAL_TABLE_PUT(self, item_attrs, *args, **kwargs)
        finally:  # a refused put changed nothing; re-filing an unchanged item leaves it where it is
            if _INDEX_PARTITIONS.get(self):
                _refile(self, _key_in(self, item_attrs))


def _table_delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None = None) -> Any:
    with _LOCK:
        try:
            return _ORIGINAL_TABLE_DELETE(self, hash_key, range_key)
        finally:
            _refile(self, (hash_key, range_key if self.range_key_attr is not None else None))


def _update_item(
    self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
) -> Any:
    """moto's update changes the ``Item`` in place (a new item is put first, which files it): it can add,
    change or remove an index key attribute, so the item is filed again afterwards, even if the update
    failed part way (moto validates before it changes anything, but a failure is re-filed all the same)."""
    with _LOCK:
        try:
            return _ORIGINAL_OPERATIONS["update_item"](self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if table is not None and _INDEX_PARTITIONS.get(table):
                _refile(table, _key_in(table, key))


def _index_partitions(table: Table, attributes: tuple[str, ...]) -> _IndexPartitions:
    maps = _INDEX_PARTITIONS.setdefault(table, {})
    partitions = maps.get(attributes)
    if partitions is None:
        partitions = maps[attributes] = _IndexPartitions(attributes, table)
    return partitions


@dataclass(frozen=True)
class _IndexRead:
    """An index query's partition: the items filed under ``value``."""

    partitions: _IndexPartitions
    value: GroupKey


def _all_items(self: Table) -> list[Any]:
    restricted = getattr(_PARTITION, "query", None)
    if restricted is None or restricted[0] is not self:
        return _ORIGINAL_ALL_ITEMS(self)
    source = restricted[1]
    if isinstance(source, _IndexRead):
        # moto keeps the items whose hash key attributes match the query's and sorts them (below).
        return list(source.partitions.groups.get(source.value, {}).values())
    if source is _ANY_PARTITION:
        # moto filters every item, then sorts what matched by the index's keys: sorting the whole table
        # first (N log N comparisons of moto's types) only cost time.
        partitions = self.items.values()
        return [i for p in partitions for i in p.values()] if self.range_key_attr else list(partitions)
    found = self.items.get(source)  # .get: items is a defaultdict, indexing would add the key
    if found is None:
        return []
    items = list(found.values()) if self.range_key_attr else [found]
    # moto's order (hash, then range); a partition shares its hash key.
    return sorted(items, key=lambda x: x.range_key) if self.range_key_attr else items


def _sorted_items(
    self: Table, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Item]
) -> list[Item]:
    """moto's sort of an index query's matches, from the partition's items kept in moto's order.

    moto sorts the matches by a key that ends with the table's own key, so no two items tie: the order
    of any subset of the partition is the partition's order, restricted. The partition is sorted once
    (by moto's own sort, over the items that have every attribute sorted by) and again only after a
    write touches it. If any match is not in that order, or the partition cannot be sorted (values of
    different types, which moto's sort of the matches alone might not meet), moto sorts the matches."""
    restricted = getattr(_PARTITION, "query", None)
    source = restricted[1] if restricted is not None and restricted[0] is self else None
    if not isinstance(source, _IndexRead):
        return _ORIGINAL_SORTED_ITEMS(self, hash_key_attrs, range_key_attrs, items)
    by = tuple(self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs))
    orders = source.partitions.ordered.setdefault(source.value, {})
    order = orders.get(by)
    if order is None:
        group = source.partitions.groups.get(source.value, {}).values()
        try:
            order = _ORIGINAL_SORTED_ITEMS(
                self, hash_key_attrs, range_key_attrs, [i for i in group if all(a in i.attrs for a in by)]
            )
        except TypeError:
            return _ORIGINAL_SORTED_ITEMS(self, hash_key_attrs, range_key_attrs, items)
        orders[by] = order
    matched = {id(item) for item in items}
    in_order = [item for item in order if id(item) in matched]
    if len(in_order) != len(matched) or len(matched) != len(items):
        return _ORIGINAL_SORTED_ITEMS(self, hash_key_attrs, range_key_attrs, items)
    items[:] = in_order  # moto sorts in place and uses the list it passed
    return items


def _index_source(table: Table, index_name: str, kwargs: dict[str, Any]) -> Any:
    """What an index query reads: the table's own partition (an index on the table's hash key, as a
    local index is), the index's partition, or, for anything else (an index moto will refuse, a key
    condition not naming exactly the index's hash key), every item, as moto does."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return _ANY_PARTITION
    attributes = tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
    conditions = dict(kwargs.get("hash_key_conditions") or ())
    if not attributes or set(conditions) != set(attributes) or len(conditions) != len(attributes):
        return _ANY_PARTITION
    values = [conditions[name] for name in attributes]
    value = _group_key(values)
    if value is None:
        return _ANY_PARTITION
    if attributes == (table.hash_key_attr,):
        return values[0]
    return _IndexRead(_index_partitions(table, attributes), value)


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # moto's backend passes index_name as the eighth positional argument.
    index_name = args[_INDEX_NAME_ARG] if len(args) > _INDEX_NAME_ARG else kwargs.get("index_name")
    with _LOCK:  # the index maps change with every write
        _PARTITION.query = (self, _index_source(self, index_name, kwargs) if index_name else hash_key)
        try:
            return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
        finally:
            _PARTITION.query = None


class StreamWrites:
    """How many stream records moto has appended in this process; waiters wake on the next one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.count = 0

    def written(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_after(self, seen: int, timeout: float, stopped: threading.Event) -> int:
        """Return once ``count`` differs from ``seen`` (at once if it already does), ``stopped`` is set
        (see ``wake``), or ``timeout`` passed."""
        with self._changed:
            self._changed.wait_for(lambda: self.count != seen or stopped.is_set(), timeout)
            return self.count

    def wake(self) -> None:
        """Make every waiter check its ``stopped`` event now."""
        with self._changed:
            self._changed.notify_all()


STREAM_WRITES = StreamWrites()
_ORIGINAL_STREAM_ADD = StreamShard.add


def _stream_add(self: StreamShard, old: Any, new: Any) -> None:
    _ORIGINAL_STREAM_ADD(self, old, new)
    STREAM_WRITES.written()


class InProcessStreams:
    """The three ``dynamodbstreams`` calls the stream pump makes, answered from moto's backend in this
    process, with boto3's argument names and shapes (``ApproximateCreationDateTime`` an aware datetime).
    An iterator is ``<stream arn>|<shard id>|<next sequence number>``; records are copies, as each read
    in AWS is."""

    def __init__(self, region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self._region = region
        self._account_id = account_id

    def _shard(self, arn: str) -> StreamShard:
        from moto.dynamodbstreams.models import dynamodbstreams_backends

        backend = dynamodbstreams_backends[self._account_id][self._region]
        shard: StreamShard | None = backend._get_table_from_arn(arn).stream_shard
        if shard is None:
            raise ValueError(f"{arn} has no stream")
        return shard

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:
        return {"StreamDescription": {"StreamArn": StreamArn, "Shards": [self._shard(StreamArn).to_json()]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str) -> dict[str, Any]:
        shard = self._shard(StreamArn)
        if ShardIteratorType == "TRIM_HORIZON":
            start = shard.starting_sequence_number
        elif ShardIteratorType == "LATEST":
            start = shard.starting_sequence_number + len(shard.items)
        else:
            raise ValueError(f"unsupported ShardIteratorType {ShardIteratorType}")
        return {"ShardIterator": f"{StreamArn}|{ShardId}|{start}"}

    def get_records(self, ShardIterator: str, Limit: int = 1000) -> dict[str, Any]:
        arn, shard_id, position = ShardIterator.rsplit("|", 2)
        shard = self._shard(arn)
        first = int(position) - shard.starting_sequence_number
        with _LOCK:  # moto appends under this lock (item operations are serialized)
            records = [_copy(r.to_json()) for r in shard.items[first : first + Limit]]
        for record in records:
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if isinstance(created, datetime) and created.tzinfo is None:  # moto's utcnow() is naive
                record["dynamodb"]["ApproximateCreationDateTime"] = created.replace(tzinfo=UTC)
        return {"Records": records, "NextShardIterator": f"{arn}|{shard_id}|{int(position) + len(records)}"}


def _copy(value: Any) -> Any:
    """A copy of a record's plain dicts and lists (much cheaper than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


_ORIGINAL_MODULES = backends.list_of_moto_modules
_ORIGINAL_BACKEND_FOR_HOST = DomainDispatcherApplication.get_backend_for_host
_MODULES: tuple[str, ...] = tuple(_ORIGINAL_MODULES())


def _moto_modules() -> tuple[str, ...]:
    return _MODULES


def _backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
    cache: dict[str | None, Any] = self.__dict__.setdefault("_nudge_backend_cache", {})
    if host not in cache:
        cache[host] = _ORIGINAL_BACKEND_FOR_HOST(self, host)
    return cache[host]


_ORIGINAL_ITEM_INIT = Item.__init__
# moto's bound on an item's size (``LimitedSizeDict``): DynamoDB's 400 KB, as moto measures it.
_ITEM_SIZE_LIMIT = 405_000


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """moto's ``Item``, its size checked once. moto's ``LimitedSizeDict`` measures every attribute already
    set each time one more is set, a nested map again each time: quadratic in an item's attributes, a tenth
    of a transaction's time while importing people. Sizes only add up, so one check of the total refuses
    exactly the items moto's checks refuse."""
    self.hash_key = hash_key
    self.range_key = range_key
    typed = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in typed.items()) > _ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, typed)  # dict's own update: not LimitedSizeDict's per-key check


_ORIGINAL_CONDITION_PARSE = ConditionExpressionParser.parse
_ORIGINAL_UPDATE_MAKE = UpdateExpressionParser.__dict__["make"]
_PARSED_LIMIT = 4096  # distinct expressions kept; the platform writes a few dozen
_conditions: dict[str, tuple[Any, list[str], list[str]]] = {}
_updates: dict[str, Any] = {}


def _condition_parse(self: ConditionExpressionParser) -> Any:
    """moto's condition parser, each distinct (expression, names, values) parsed once. The tree is only
    read afterwards (evaluated against items); the names and values the parse found are restored too, for
    moto's checks of unused ones. An expression that fails to parse is not kept: it fails again."""
    key = json.dumps(
        [self.condition_expression, self.expression_attribute_names, self.expression_attribute_values],
        sort_keys=True,
    )
    hit = _conditions.get(key)
    if hit is None:
        tree = _ORIGINAL_CONDITION_PARSE(self)
        if len(_conditions) >= _PARSED_LIMIT:
            _conditions.clear()
        hit = _conditions[key] = (tree, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
    self.expr_attr_names_found, self.expr_attr_values_found = list(hit[1]), list(hit[2])
    return hit[0]


def _update_make(cls: type[UpdateExpressionParser], expression: str) -> Any:
    """moto's update-expression parser, each distinct expression parsed once: the syntax tree holds only
    placeholders, and moto's validator deep-copies it before filling them in for one item."""
    tree = _updates.get(expression)
    if tree is None:
        tree = _ORIGINAL_UPDATE_MAKE.__func__(cls, expression)
        if len(_updates) >= _PARSED_LIMIT:
            _updates.clear()
        _updates[expression] = tree
    return tree


_ORIGINAL_VALIDATOR_INIT = Validator.__init__
_ORIGINAL_VALIDATE = Validator.validate
_ORIGINAL_NODE_TYPES = DepthFirstTraverser.nodes_to_be_processed
_ORIGINAL_PROCESS = DepthFirstTraverser.process
# The checks that read only the expression, its names and the table's key schema: they change nothing.
_STRUCTURAL = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)
_pickled: dict[int, tuple[Any, bytes]] = {}  # id(tree) -> (tree, kept alive so the id stays its own; pickle)
_passed: set[tuple[int, str, str]] = set()  # (id(tree), names, key schema) that passed _STRUCTURAL


def _validator_init(
    self: Validator,
    expression: Any,
    expression_attribute_names: dict[str, str],
    expression_attribute_values: dict[str, dict[str, Any]],
    item: Item,
    table: Table,
) -> None:
    """moto's ``Validator.__init__``, the tree's deep copy made by unpickling a pickle of it made once: the
    same copy (a fresh graph of the same nodes, parents included), several times cheaper. The trees come
    from ``_update_make``'s cache, so the same tree object recurs; it is kept here with its pickle."""
    self.expression_attribute_names = expression_attribute_names
    self.expression_attribute_values = expression_attribute_values
    self.item = item
    self.table = table
    self.processors = self.get_ast_processors()
    hit = _pickled.get(id(expression))
    if hit is None or hit[0] is not expression:
        if len(_pickled) >= _PARSED_LIMIT:
            _pickled.clear()
            _passed.clear()  # its ids may now be reused by other trees
        hit = _pickled[id(expression)] = (expression, pickle.dumps(expression, pickle.HIGHEST_PROTOCOL))
    # S301: these bytes are our own pickle of moto's tree, made just above in this process; nothing else.
    self.node_to_validate = pickle.loads(hit[1])  # noqa: S301
    self._nudge_tree_id = id(expression)  # type: ignore[attr-defined]


def _validate(self: Validator) -> Any:
    """moto's ``validate``, skipping the structural checks for a combination of tree (``_pickled`` keeps it,
    so its id is its own), names and key schema that passed them before: they read nothing else, and
    return the node they were given."""
    if not isinstance(self, UpdateExpressionValidator):
        return _ORIGINAL_VALIDATE(self)
    key = (
        self.__dict__.get("_nudge_tree_id", 0),
        json.dumps(self.expression_attribute_names, sort_keys=True),
        json.dumps([self.table.table_key_attrs], sort_keys=True),
    )
    node = self.node_to_validate
    known = key[0] != 0 and key in _passed
    for processor in self.processors:
        if known and isinstance(processor, _STRUCTURAL):
            continue
        node = processor.traverse(node)
    if key[0] != 0:
        _passed.add(key)  # bounded by _pickled's trees: cleared with it
    return node


def _node_types(self: DepthFirstTraverser) -> tuple[type, ...]:
    """moto's node types a walker processes, built once per walker (moto builds its map at every node)."""
    types: tuple[type, ...] | None = self.__dict__.get("_nudge_node_types")
    if types is None:
        types = self.__dict__["_nudge_node_types"] = _ORIGINAL_NODE_TYPES(self)
    return types


def _process(self: DepthFirstTraverser, node: Any) -> Any:
    """moto's ``process``, the walker's map (constant: its own bound methods) built once per walker."""
    processing: dict[type, Any] | None = self.__dict__.get("_nudge_processing")
    if processing is None:
        processing = self.__dict__["_nudge_processing"] = self._processing_map()
    for class_key, processor in processing.items():
        if isinstance(node, class_key):
            return processor(node)
    return None


def install() -> None:
    backends.list_of_moto_modules = _moto_modules
    DomainDispatcherApplication.get_backend_for_host = _backend_for_host  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    for name, operation in _ORIGINAL_OPERATIONS.items():
        setattr(DynamoDBBackend, name, _serialized(operation))
    DynamoDBBackend.update_item = _serialized(_update_item)  # type: ignore[method-assign]
    StreamShard.add = _stream_add  # type: ignore[method-assign]
    _INDEX_PARTITIONS.clear()  # written while uninstalled, nothing kept is sure: built again when queried
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.sorted_items = _sorted_items  # type: ignore[method-assign]
    Table.put_item = _table_put_item  # type: ignore[method-assign]
    Table.delete_item = _table_delete_item  # type: ignore[method-assign]
    Item.__init__ = _item_init  # type: ignore[method-assign]
    ConditionExpressionParser.parse = _condition_parse  # type: ignore[method-assign]
    UpdateExpressionParser.make = classmethod(_update_make)
    Validator.__init__ = _validator_init  # type: ignore[method-assign]
    Validator.validate = _validate  # type: ignore[method-assign]
    DepthFirstTraverser.nodes_to_be_processed = _node_types
    DepthFirstTraverser.process = _process


def uninstall() -> None:
    backends.list_of_moto_modules = _ORIGINAL_MODULES
    DomainDispatcherApplication.get_backend_for_host = _ORIGINAL_BACKEND_FOR_HOST  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _ORIGINAL  # type: ignore[method-assign]
    for name, operation in _ORIGINAL_OPERATIONS.items():
        setattr(DynamoDBBackend, name, operation)
    StreamShard.add = _ORIGINAL_STREAM_ADD  # type: ignore[method-assign]
    Table.all_items = _ORIGINAL_ALL_ITEMS  # type: ignore[method-assign]
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
    Table.sorted_items = _ORIGINAL_SORTED_ITEMS  # type: ignore[method-assign]
    Table.put_item = _ORIGINAL_TABLE_PUT  # type: ignore[method-assign]
    Table.delete_item = _ORIGINAL_TABLE_DELETE  # type: ignore[method-assign]
    _INDEX_PARTITIONS.clear()  # no longer kept up to date
    Item.__init__ = _ORIGINAL_ITEM_INIT  # type: ignore[method-assign]
    ConditionExpressionParser.parse = _ORIGINAL_CONDITION_PARSE  # type: ignore[method-assign]
    UpdateExpressionParser.make = _ORIGINAL_UPDATE_MAKE
    Validator.__init__ = _ORIGINAL_VALIDATOR_INIT  # type: ignore[method-assign]
    Validator.validate = _ORIGINAL_VALIDATE  # type: ignore[method-assign]
    DepthFirstTraverser.nodes_to_be_processed = _ORIGINAL_NODE_TYPES
    DepthFirstTraverser.process = _ORIGINAL_PROCESS
