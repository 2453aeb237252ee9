"""Meter every DynamoDB request made in this process, in on-demand request units.

PynamoDB builds its botocore client lazily, one per table connection, from a fresh
``botocore.session.get_session()`` (``pynamodb.connection.base.Connection.session`` / ``.client``).
Every new botocore session registers the handlers listed in ``botocore.handlers.BUILTIN_HANDLERS``, which
is also how moto intercepts requests; the meter adds its ``before-call.dynamodb`` and
``after-call.dynamodb`` hooks there, so any DynamoDB client created while it is installed (PynamoDB's or
boto3's) is metered without touching the code under test.

``before-call`` sees the serialized request body (what goes over the wire); ``after-call`` the parsed
answer. Billing needs item sizes the request does not carry (the item an update or delete replaces, the
whole item behind a projected read), so the meter reads them with its own client, which it never meters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore import handlers
from pynamodb import signals

from bench.sizing import Item
from bench.units import (
    Index,
    Table,
    failed_write_units,
    item_read_units,
    query_read_units,
    write_units,
)

# Errors DynamoDB still bills: the condition was evaluated against the stored item.
_BILLED_FAILURES = ("ConditionalCheckFailedException", "TransactionCanceledException")
_PROJECTIONS = ("ProjectionExpression", "AttributesToGet")


@dataclass(frozen=True)
class Call:
    operation: str
    write_units: float
    read_units: float
    failed: bool = False
    # False when a read's billed bytes could not all be seen (a filter or COUNT hid items).
    exact: bool = True


@dataclass(frozen=True)
class _Write:
    """One item a request writes (or, for a ConditionCheck, only tests)."""

    table: str
    key: Item
    action: str  # Put, Update, Delete or ConditionCheck


class Meter:
    def __init__(self, region: str) -> None:
        self._probing = False
        self._tables: dict[str, Table] = {}
        self.calls: list[Call] = []
        self.metered = 0  # every call ever recorded, taken or not
        # Its own session, older than the hooks; its calls are skipped while probing in any case.
        self._probe = boto3.session.Session(region_name=region).client("dynamodb")

    @contextmanager
    def installed(self) -> Iterator[Meter]:
        hooks: list[tuple[str, Callable[..., None]]] = [
            ("before-call.dynamodb", self._before_call),
            ("after-call.dynamodb", self._after_call),
        ]
        handlers.BUILTIN_HANDLERS.extend(hooks)
        try:
            yield self
        finally:
            for hook in hooks:
                handlers.BUILTIN_HANDLERS.remove(hook)

    def take(self) -> list[Call]:
        """The calls recorded since the last take, and start counting afresh."""
        calls, self.calls = self.calls, []
        return calls

    # --- hooks -----------------------------------------------------------------------------------

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self._probing:
            return
        request = json.loads(params.get("body") or b"{}")
        writes = self._writes(model.name, request)
        context["bench.request"] = request
        context["bench.writes"] = [(w, self._read(w.table, w.key)) for w in writes]

    def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self._probing or "bench.request" not in context:
            return
        self.metered += 1
        request = context["bench.request"]
        error = parsed.get("Error", {}).get("Code")
        befores: list[tuple[_Write, Item | None]] = context["bench.writes"]
        operation = model.name
        if error is not None:
            units = 0
            if error in _BILLED_FAILURES:
                transactional = operation == "TransactWriteItems"
                units = sum(failed_write_units(before, transactional=transactional) for _, before in befores)
            self.calls.append(Call(operation, units, 0.0, failed=True))
            return
        if befores:
            self.calls.append(Call(operation, self._write_units(operation, befores, parsed), 0.0))
            return
        read_units, exact = self._read_units(operation, request, parsed)
        self.calls.append(Call(operation, 0.0, read_units, exact=exact))

    # --- writes ----------------------------------------------------------------------------------

    def _writes(self, operation: str, request: dict[str, Any]) -> list[_Write]:
        if operation == "PutItem":
            table = request["TableName"]
            return [_Write(table, self.table(table).key_of(request["Item"]), "Put")]
        if operation in ("UpdateItem", "DeleteItem"):
            return [_Write(request["TableName"], request["Key"], operation.removesuffix("Item"))]
        if operation == "BatchWriteItem":
            writes = []
            for table, entries in request["RequestItems"].items():
                for entry in entries:
                    if "PutRequest" in entry:
                        item = entry["PutRequest"]["Item"]
                        writes.append(_Write(table, self.table(table).key_of(item), "Put"))
                    else:
                        writes.append(_Write(table, entry["DeleteRequest"]["Key"], "Delete"))
            return writes
        if operation == "TransactWriteItems":
            writes = []
            for entry in request["TransactItems"]:
                ((action, spec),) = entry.items()
                table = spec["TableName"]
                key = self.table(table).key_of(spec["Item"]) if action == "Put" else spec["Key"]
                writes.append(_Write(table, key, action))
            return writes
        return []

    def _write_units(
        self, operation: str, befores: list[tuple[_Write, Item | None]], parsed: dict[str, Any]
    ) -> float:
        if parsed.get("UnprocessedItems"):
            raise RuntimeError("BatchWriteItem left items unprocessed: the meter does not model retries")
        total = 0
        for write, before in befores:
            # The stored item is read back rather than taken from the request, so both images come
            # from the same parser (binaries, number formatting) and compare equal when unchanged.
            if write.action == "Delete":
                after = None
            elif write.action == "ConditionCheck":
                after = before
            else:
                after = self._read(write.table, write.key)
            total += write_units(
                self.table(write.table), before, after, transactional=operation == "TransactWriteItems"
            )
        return float(total)

    # --- reads -----------------------------------------------------------------------------------

    def _read_units(
        self, operation: str, request: dict[str, Any], parsed: dict[str, Any]
    ) -> tuple[float, bool]:
        if operation == "GetItem":
            item = self._read(request["TableName"], request["Key"])
            return item_read_units(item, consistent=bool(request.get("ConsistentRead"))), True
        if operation == "BatchGetItem":
            if parsed.get("UnprocessedKeys"):
                raise RuntimeError("BatchGetItem left keys unprocessed: the meter does not model retries")
            units = 0.0
            for table, spec in request["RequestItems"].items():
                for key in spec["Keys"]:
                    units += item_read_units(
                        self._read(table, key), consistent=bool(spec.get("ConsistentRead"))
                    )
            return units, True
        if operation == "TransactGetItems":
            gets = [entry["Get"] for entry in request["TransactItems"]]
            units = sum(
                item_read_units(self._read(g["TableName"], g["Key"]), consistent=True, transactional=True)
                for g in gets
            )
            return units, True
        if operation in ("Query", "Scan"):
            return self._scan_units(request, parsed)
        return 0.0, True  # control plane (DescribeTable and the like): not billed per request

    def _scan_units(self, request: dict[str, Any], parsed: dict[str, Any]) -> tuple[float, bool]:
        table = self.table(request["TableName"])
        returned: list[Item] = parsed.get("Items", [])
        # Billed on what was read, before any filter or projection applies.
        exact = "Items" in parsed and parsed.get("ScannedCount", 0) == parsed.get("Count", 0)
        if any(p in request for p in _PROJECTIONS):
            whole = []
            for item in returned:
                if all(k in item for k in table.keys):
                    whole.append(self._read(table.name, table.key_of(item)) or item)
                else:
                    whole.append(item)
                    exact = False
            returned = whole
        index = next((i for i in table.indexes if i.name == request.get("IndexName")), None)
        if index is not None:
            returned = [index.entry(item, table.keys) for item in returned]
        return query_read_units(returned, consistent=bool(request.get("ConsistentRead"))), exact

    # --- the meter's own look-ups, never metered --------------------------------------------------

    @contextmanager
    def _unmetered(self) -> Iterator[None]:
        self._probing = True
        try:
            yield
        finally:
            self._probing = False

    def _read(self, table: str, key: Item) -> Item | None:
        with self._unmetered():
            found: Item | None = self._probe.get_item(TableName=table, Key=key, ConsistentRead=True).get(
                "Item"
            )
        return found

    def table(self, name: str) -> Table:
        """Key schema and indexes, described once per table."""
        if name not in self._tables:
            with self._unmetered():
                described = self._probe.describe_table(TableName=name)["Table"]
            self._tables[name] = _shape(described)
        return self._tables[name]


def _keys(schema: list[dict[str, str]]) -> tuple[str, ...]:
    ordered = sorted(schema, key=lambda k: k["KeyType"] != "HASH")
    return tuple(k["AttributeName"] for k in ordered)


def _shape(described: Mapping[str, Any]) -> Table:
    indexes = []
    for spec in [*described.get("LocalSecondaryIndexes", []), *described.get("GlobalSecondaryIndexes", [])]:
        projection = spec.get("Projection", {})
        kind = projection.get("ProjectionType", "ALL")
        non_key = None if kind == "ALL" else tuple(projection.get("NonKeyAttributes", []))
        indexes.append(Index(spec["IndexName"], _keys(spec["KeySchema"]), non_key))
    return Table(described["TableName"], _keys(described["KeySchema"]), tuple(indexes))


class SwitchedMeter(Meter):
    """A meter that counts only inside ``counting()``: loading a workload goes unmetered (the meter reads
    every item it bills, which would triple the load), and PynamoDB's own send signal must agree with
    what was counted."""

    def __init__(self, region: str) -> None:
        super().__init__(region)
        self.on = False
        self.sent = 0

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **kw: Any) -> None:
        if self.on:  # after-call only acts on calls its before-call saw
            super()._before_call(model, params, context, **kw)

    def count_send(self, _sender: Any, **_: Any) -> None:
        if self.on:
            self.sent += 1

    def _start_counting(self) -> None:
        """Subclasses reset what they note per counting window here."""

    @contextmanager
    def counting(self) -> Iterator[list[Call]]:
        calls: list[Call] = []
        self.take()
        self._start_counting()
        sent = self.sent
        self.on = True
        try:
            yield calls
        finally:
            self.on = False
        calls.extend(self.take())
        if signals.signals_available and self.sent - sent != len(calls):
            raise RuntimeError(f"the meter saw {len(calls)} calls but PynamoDB sent {self.sent - sent}")
