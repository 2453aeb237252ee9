"""The local runtime's state on disk, in ``<state-dir>/state``: a snapshot (``snapshot.pickle``) and a
journal of what changed since (``journal``), appended at most once a second while something changes and
on a clean stop; once the journal has grown past the snapshot, a new snapshot replaces both. Loaded
before anything starts.

What is saved:

- moto's DynamoDB tables, pickled as moto keeps them (items, indexes, TTL and stream settings, the stream
  records not yet delivered). Every table the platform has is there: workspaces and their keys, people,
  events, segments and memberships, campaigns and journeys, templates, deliveries, billing periods.
- The streams' progress. Records every consumer (the runtime's stream pumps) has finished with are left
  out of the pickled stream, its starting sequence number moved on by as many, so a restarted pump
  reading from ``TRIM_HORIZON`` gets exactly what was not delivered yet (delivery stays at least once, as
  Lambda's is). The live stream is left alone: the pumps read it without this module's lock.
- Step Functions: the state machines as the runtime deployed them (re-deployed at start, at the current
  ``--time-scale``), and each running execution's name, input and current state. Executions are threads
  in moto and cannot be pickled; a restart starts each again under the same name at the state it was in
  (``compiler.resumable``), a Wait with only what was left of it.
- The local clock, the workspace's keys and the link-signing secret, so keys and tracking links in old
  outbox messages keep working.
- The console's user pool (moto's Cognito: its users and their passwords, the app client), pickled
  whole while it changes: a handful of users, so a few kilobytes (``console_users.dump_pools``).

Why a snapshot of moto's backends, not moto's recorder: the recorder logs HTTP requests and replays them
all, so start-up grows with the history (every stream poll, every Lambda invoke), and replayed writes make
new stream records that the pumps would deliver again; a snapshot loads in time proportional to what is
stored and holds exactly the state (``bench/local_restart.py`` measures a restart with 10,000 people).

Consistency: table writes go through moto's backend methods, which hold ``WRITES`` here while they run;
a save takes what changed under the same lock (the items written since the last save, copied by
reference), so it never holds half a write or half a transaction, and pickles it after releasing the
lock (see ``_Tracker`` for why the items cannot change under it). A journal entry holds only the items
written since the previous one, so a second of writes costs what was written, not the size of the
tables. The snapshot is replaced atomically (temporary file, then rename); journal entries are
length-prefixed and checksummed, so one cut short by a ``kill -9`` is ignored: what is lost is at most
the last second. Entries are numbered, and a snapshot says which entries it already contains.
"""

from __future__ import annotations

import copy
import copyreg
import json
import logging
import math
import pickle
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
from moto.dynamodb.models.table import Table

log = logging.getLogger("nudge.local")

FORMAT = 1  # bumped when a snapshot's shape changes: an older file is refused, not misread
STATE_DIRECTORY = "state"
SNAPSHOT_FILE = "snapshot.pickle"
JOURNAL_FILE = "journal"
_FRAME = struct.Struct(">QI")  # a journal entry's length and CRC-32, before its pickled Delta
SAVE_INTERVAL_SECONDS = 1.0

Handler = Callable[[dict[str, Any], Any], Any]


class SnapshotUnreadable(RuntimeError):
    """The state directory holds a snapshot this version cannot load."""


@dataclass(frozen=True)
class RunningExecution:
    machine: str  # the state machine's name
    name: str
    input: dict[str, Any]  # the current state's input
    state: str | None  # the top-level state it was in; None: start it again as it started
    until: float | None = None  # a Wait state's end, on the local clock


@dataclass
class Snapshot:
    saved_at: float  # wall clock
    local_now: float  # the local clock at the same moment
    workspace: dict[str, str]  # workspace_id, site_id, track_api_key, app_api_key, cdp_api_key
    link_secret: str
    tables: dict[str, Table]  # table name -> moto's table
    machines: dict[str, dict[str, Any]]  # state machine name -> its ASL as deployed (before scaling)
    executions: list[RunningExecution] = field(default_factory=list)
    sequence: int = 0  # the last journal entry it contains
    format: int = FORMAT
    # moto's Cognito user pools, pickled (``console_users``); None in a state saved before the console.
    user_pools: bytes | None = None


@dataclass
class TableChange:
    """What happened to one table since the previous save."""

    table: Table | None = None  # the whole table: new, or its schema changed
    deleted: bool = False
    items: list[tuple[Any, Any, Any]] = field(default_factory=list)  # (hash key, range key, Item or None)
    # The stream's first sequence number still undelivered, and the records written since the last save.
    stream: tuple[int, list[Any]] | None = None


@dataclass
class Delta:
    """One journal entry: the changed tables, and everything else as it is now."""

    sequence: int
    saved_at: float
    local_now: float
    workspace: dict[str, str]
    link_secret: str
    machines: dict[str, dict[str, Any]]
    executions: list[RunningExecution]
    tables: dict[str, TableChange]
    user_pools: bytes | None = None  # as they are now (whole: they are small)


# --- the file ----------------------------------------------------------------------------------------


def snapshot_path(state_dir: Path) -> Path:
    return state_dir / STATE_DIRECTORY / SNAPSHOT_FILE


def journal_path(state_dir: Path) -> Path:
    return state_dir / STATE_DIRECTORY / JOURNAL_FILE


def load(state_dir: Path) -> Snapshot | None:
    """The state in ``state_dir`` (the snapshot with the journal applied), or None when there is none (a
    first start, or after a reset)."""
    path = snapshot_path(state_dir)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    snapshot = _unpickle(data, path)
    if not isinstance(snapshot, Snapshot) or snapshot.format != FORMAT:
        raise SnapshotUnreadable(
            f"{path} was written by another version of Nudge; start with --reset to begin empty"
        )
    for delta in _journal(journal_path(state_dir)):
        if delta.sequence > snapshot.sequence:  # older ones were written before the snapshot
            _apply(snapshot, delta)
    return snapshot


def _unpickle(data: bytes, path: Path) -> Any:
    try:
        # The state directory is the user's own, written by this runtime: pickle is safe to load from it.
        return pickle.loads(data)  # noqa: S301
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
        raise SnapshotUnreadable(f"{path} cannot be read ({exc}); start with --reset to begin empty") from exc


def _journal(path: Path) -> Iterator[Delta]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    offset = 0
    while offset + _FRAME.size <= len(data):
        length, checksum = _FRAME.unpack_from(data, offset)
        body = data[offset + _FRAME.size : offset + _FRAME.size + length]
        if len(body) < length or zlib.crc32(body) != checksum:
            log.warning("the state journal ends in an entry cut short (the runtime was killed): ignored")
            return
        delta = _unpickle(body, path)
        if not isinstance(delta, Delta):
            raise SnapshotUnreadable(f"{path} was written by another version of Nudge; start with --reset")
        yield delta
        offset += _FRAME.size + length


def _apply(snapshot: Snapshot, delta: Delta) -> None:
    for name, change in delta.tables.items():
        if change.deleted:
            snapshot.tables.pop(name, None)
            continue
        if change.table is not None:
            snapshot.tables[name] = change.table
        table = snapshot.tables[name]
        for hash_value, range_value, item in change.items:
            if range_value is None:
                if item is None:
                    table.items.pop(hash_value, None)
                else:
                    table.items[hash_value] = item
            elif item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item
        shard = table.stream_shard
        if change.stream is not None and shard is not None:
            first, written = change.stream
            # The saved records run on without a gap: drop the delivered ones, add the new ones.
            shard.items = shard.items[max(0, first - shard.starting_sequence_number) :] + written
            shard.starting_sequence_number = first
    snapshot.sequence = delta.sequence
    snapshot.saved_at, snapshot.local_now = delta.saved_at, delta.local_now
    snapshot.workspace, snapshot.link_secret = delta.workspace, delta.link_secret
    snapshot.machines, snapshot.executions = delta.machines, delta.executions
    snapshot.user_pools = delta.user_pools


def save(state_dir: Path, snapshot: Snapshot) -> int:
    """Write ``snapshot`` atomically, then empty the journal (every entry in it is in the snapshot, or
    older than it); its size in bytes."""
    path = snapshot_path(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)  # a reader (the next start) sees the old file or the new one, never half
    journal_path(state_dir).write_bytes(b"")
    return len(data)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def append(state_dir: Path, delta: Delta) -> int:
    """Add ``delta`` to the journal; the entry's size in bytes."""
    body = pickle.dumps(delta, protocol=pickle.HIGHEST_PROTOCOL)
    with journal_path(state_dir).open("ab") as journal:
        journal.write(_FRAME.pack(len(body), zlib.crc32(body)) + body)
    return _FRAME.size + len(body)


def reset(state_dir: Path) -> None:
    """Forget the stored state: the snapshot, the outbox and the contract (the TLS certificate stays,
    since a browser or client may have been told to trust it)."""
    shutil.rmtree(state_dir / STATE_DIRECTORY, ignore_errors=True)
    shutil.rmtree(state_dir / "outbox", ignore_errors=True)
    (state_dir / "local.json").unlink(missing_ok=True)


# --- the local clock ---------------------------------------------------------------------------------


def continued_epoch(scale: float, snapshot: Snapshot | None, now: float) -> float | None:
    """The epoch for ``clock.configure(scale, epoch)`` that continues the stopped run's local clock: it
    reads what it read at the last snapshot plus the real time since (the downtime passes at the wall
    clock's pace, whatever the scale). None: start from now (nothing to continue, or the scale is 1, where
    the local clock is the wall clock)."""
    if snapshot is None or scale == 1:
        return None
    local = snapshot.local_now + max(0.0, now - snapshot.saved_at)
    # clock.now() = epoch + (real - epoch) * scale; solved for the epoch that makes it read `local` now.
    return (local - now * scale) / (1 - scale)


def local_time(scale: float, epoch: float, real: float) -> float:
    """``clock.now()`` at wall-clock time ``real``, unrounded."""
    return real if scale == 1 else epoch + (real - epoch) * scale


# --- DynamoDB: tracking writes, the tables ------------------------------------------------------------

WRITES = threading.RLock()
_TABLE_WRITES = ("put_item", "update_item", "delete_item", "update_time_to_live")
_SCHEMA_WRITES = ("create_table", "delete_table", "update_table")


class _Tracker:
    """Which tables changed since the last snapshot, and copy-on-write while one is being pickled.

    Installed on moto's backend class over whatever is there (the speed-ups' serialized operations), so
    ``WRITES`` is always taken first. A snapshot copies the tables' item maps under ``WRITES`` (quick)
    and pickles the copies after releasing it (slow), while writes go on. moto's ``put_item`` and
    ``delete_item`` replace or remove ``Item`` objects in the live maps, which the copies do not see;
    its ``update_item`` changes the ``Item`` in place, so while ``detached`` is set an update first puts
    a copy of the item in the live table and changes that one."""

    def __init__(self) -> None:
        self._dirty: set[str] = set()  # tables to save whole: created or changed (schema, TTL) since
        self._keys: dict[str, set[tuple[str, str | None]]] = {}  # table -> keys written (JSON)
        self._originals: dict[str, Any] = {}
        self.detached = False  # a save holds the live tables' Item objects: updates copy first

    def install(self) -> None:
        with WRITES:
            if self._originals:
                return
            for name in (*_TABLE_WRITES, *_SCHEMA_WRITES, "transact_write_items"):
                self._originals[name] = DynamoDBBackend.__dict__[name]
                setattr(DynamoDBBackend, name, self._wrap(name, self._originals[name]))
            copyreg.pickle(LimitedSizeDict, _reduce_attributes)
            self.take()  # what was written before is not this tracker's to report

    def uninstall(self) -> None:
        with WRITES:
            for name, original in self._originals.items():
                setattr(DynamoDBBackend, name, original)
            self._originals.clear()
            if copyreg.dispatch_table.get(LimitedSizeDict) is _reduce_attributes:
                del copyreg.dispatch_table[LimitedSizeDict]

    def take(self) -> tuple[set[str], dict[str, set[tuple[str, str | None]]]]:
        """(tables to save whole; table -> the keys written) since the last call. Call with ``WRITES``
        held, so nothing is written between the take and the copying."""
        dirty, self._dirty = self._dirty, set()
        keys, self._keys = self._keys, {}
        return dirty, keys

    def _written(self, backend: DynamoDBBackend, table_name: str, key: Mapping[str, Any]) -> None:
        table = backend.tables.get(table_name)
        if table is None or table.hash_key_attr not in key:
            return  # moto refuses the write
        range_value = key.get(table.range_key_attr) if table.range_key_attr is not None else None
        self._keys.setdefault(table_name, set()).add(
            (_key_json(key[table.hash_key_attr]), None if range_value is None else _key_json(range_value))
        )

    def _wrap(self, name: str, operation: Any) -> Any:
        tracker = self

        def run(backend: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
            with WRITES:
                if name == "transact_write_items":
                    pass  # its puts, updates and deletes mark their tables themselves
                elif name in _SCHEMA_WRITES or name == "update_time_to_live":
                    tracker._dirty.add(str(args[0] if args else kwargs.get("name", kwargs.get("table_name"))))
                else:
                    table = str(args[0] if args else kwargs["table_name"])
                    key = args[1] if len(args) > 1 else kwargs["item_attrs" if name == "put_item" else "key"]
                    tracker._written(backend, table, key)
                    if name == "update_item" and tracker.detached:
                        _copy_before_update(backend, table, key)
                return operation(backend, *args, **kwargs)

        run.__wrapped__ = operation  # type: ignore[attr-defined]
        return run


def _reduce_attributes(attributes: LimitedSizeDict) -> tuple[Any, tuple[dict[str, Any]]]:
    """An item's attributes, pickled so that loading them skips moto's size check: it sums the sizes of
    all the attributes for each one added, which made loading a state most of a restart's time. They
    passed the check when written (moto's ``Item.__deepcopy__`` skips it for the same reason)."""
    return _attributes, (dict(attributes),)


def _attributes(values: dict[str, Any]) -> LimitedSizeDict:
    attributes = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(attributes, values)
    return attributes


def _key_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _copy_before_update(backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
    table = backend.tables.get(table_name)
    if table is None or table.hash_key_attr not in key:
        return  # moto answers the error
    hash_value = DynamoType(key[table.hash_key_attr])
    if table.range_key_attr is None:
        if hash_value in table.items:
            table.items[hash_value] = copy.deepcopy(table.items[hash_value])
        return
    if table.range_key_attr not in key:
        return
    range_value = DynamoType(key[table.range_key_attr])
    partition = table.items.get(hash_value)
    if partition is not None and range_value in partition:
        partition[range_value] = copy.deepcopy(partition[range_value])


TRACKER = _Tracker()


def dynamodb(region: str) -> DynamoDBBackend:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region]


def restore_tables(region: str, tables: Mapping[str, Table]) -> None:
    """Put the snapshot's tables into moto (before the runtime creates any: existing ones are kept)."""
    backend = dynamodb(region)
    with WRITES:
        backend.tables.update(tables)


class TableChanges:
    """Takes what changed in moto's tables since the last call, at one instant, safe to pickle while
    writes go on; ``done()`` once it is pickled."""

    def __init__(self, region: str, saved: Iterable[str] = ()) -> None:
        """``saved``: the tables restored from the state on disk. Create this once they are in moto and
        before anything writes: moto's tables are then what the disk holds (settings applied again at
        start, such as TTL, are not changes), except tables not in ``saved``, saved whole at first."""
        self._region = region
        self._left_out: dict[str, int] = {}  # table -> stream records already left out
        self._known = set(saved)  # the tables saved so far: one gone since was deleted, one new is whole
        self._stream_end: dict[str, int] = {}  # table -> the sequence number after the last record saved
        backend = dynamodb(region)
        with WRITES:
            TRACKER.take()
            for name in self._known:
                shard = backend.tables[name].stream_shard
                if shard is not None:
                    self._stream_end[name] = shard.starting_sequence_number + len(shard.items)

    def take(self, trim_to: Mapping[str, int], *, whole: bool = False) -> dict[str, TableChange]:
        """Table -> its change (empty: nothing changed). ``trim_to``: table -> the last stream sequence
        number every consumer has finished with (those records are left out of the stream). ``whole``:
        every table whole, as a snapshot holds them."""
        backend = dynamodb(self._region)
        with WRITES:
            dirty, keys = TRACKER.take()
            if whole:
                dirty = set(backend.tables)
            dirty |= self._known ^ set(backend.tables)  # created (whole) or deleted since the last take
            self._known = set(backend.tables)
            left_out = {name: _delivered(backend.tables[name], trim_to.get(name)) for name in backend.tables}
            streams = {n for n, count in left_out.items() if count != self._left_out.get(n, 0)} | set(keys)
            changes: dict[str, TableChange] = {}
            for name in dirty | set(keys) | streams:
                table = backend.tables.get(name)
                if table is None:
                    changes[name] = TableChange(deleted=True)
                elif name in dirty:
                    changes[name] = TableChange(table=_detached(table, left_out[name]))
                else:
                    changes[name] = _changed_items(table, keys.get(name, set()))
                    changes[name].stream = self._stream(name, table, left_out[name])
                if table is not None and table.stream_shard is not None:
                    shard = table.stream_shard
                    self._stream_end[name] = shard.starting_sequence_number + len(shard.items)
            self._left_out = left_out
            TRACKER.detached = bool(changes)
            return changes

    def done(self) -> None:
        """What ``take`` answered has been pickled: updates need not copy their item any more."""
        TRACKER.detached = False

    def _stream(self, name: str, table: Table, left_out: int) -> tuple[int, list[Any]] | None:
        shard = table.stream_shard
        if shard is None:
            return None
        first = shard.starting_sequence_number + left_out
        saved = max(first, self._stream_end.get(name, first))
        return first, shard.items[saved - shard.starting_sequence_number :]


def _changed_items(table: Table, keys: set[tuple[str, str | None]]) -> TableChange:
    change = TableChange()
    for hash_json, range_json in keys:
        hash_value = DynamoType(json.loads(hash_json))
        if range_json is None:
            item = table.items.get(hash_value)
            change.items.append((hash_value, None, item))
        else:
            range_value = DynamoType(json.loads(range_json))
            change.items.append((hash_value, range_value, table.items.get(hash_value, {}).get(range_value)))
    return change


def _detached(table: Table, left_out: int) -> Table:
    """A copy of ``table`` sharing its ``Item`` objects (see ``_Tracker``), its stream without the first
    ``left_out`` records. Called under ``WRITES``."""
    clone = copy.copy(table)
    clone.items = copy.copy(table.items)  # moto's defaultdict: hash key -> Item, or -> {range key -> Item}
    if table.range_key_attr is not None:
        for hash_value, partition in clone.items.items():
            clone.items[hash_value] = dict(partition)
    shard = table.stream_shard
    if shard is not None:
        stream = copy.copy(shard)
        stream.table = clone
        # Sequence numbers are position + starting number (moto): both move together, so every record
        # kept keeps its number.
        stream.items = shard.items[left_out:]
        stream.starting_sequence_number = shard.starting_sequence_number + left_out
        clone.stream_shard = stream
    return clone


def _delivered(table: Table, done: int | None) -> int:
    """How many records at the start of the table's stream are delivered (up to sequence ``done``)."""
    shard = table.stream_shard
    if shard is None or done is None:
        return 0
    return max(0, min(len(shard.items), done + 1 - shard.starting_sequence_number))


def stream_start(region: str, table: str) -> int | None:
    """The first sequence number still in the table's stream (None: the table has no stream)."""
    shard = dynamodb(region).tables[table].stream_shard
    return None if shard is None else int(shard.starting_sequence_number)


class StreamProgress:
    """How far every consumer of each table's stream has got, learned from the handlers the pumps call
    (so the pumps themselves stay as Lambda's event source mapping is)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: dict[tuple[str, str], int] = {}  # (consumer, table) -> last sequence number finished

    def consumer(self, name: str, tables: Mapping[str, int], handler: Handler) -> Handler:
        """``handler`` reporting its progress as ``name``; ``tables``: table -> its first sequence number
        not yet delivered (everything before it counts as finished)."""
        with self._lock:
            for table, first in tables.items():
                self._done[(name, table)] = first - 1

        def run(event: dict[str, Any], context: Any) -> Any:
            result = handler(event, context)  # raising: nothing in the batch is finished
            self._finished(name, event.get("Records") or [], result)
            return result

        return run

    def trim_points(self) -> dict[str, int]:
        """Table -> the last sequence number every one of its consumers has finished with."""
        with self._lock:
            points: dict[str, int] = {}
            for (_, table), done in self._done.items():
                points[table] = min(points.get(table, done), done)
            return points

    def _finished(self, name: str, records: list[dict[str, Any]], result: Any) -> None:
        failed = {str(f.get("itemIdentifier")) for f in (result or {}).get("batchItemFailures") or []}
        reached: dict[str, int] = {}
        for record in records:  # in stream order: Lambda retries from the first failure on
            sequence = str(record["dynamodb"]["SequenceNumber"])
            if sequence in failed:
                break
            table = table_of_stream(str(record["eventSourceARN"]))
            reached[table] = max(reached.get(table, 0), int(sequence))
        with self._lock:
            for table, last in reached.items():
                key = (name, table)
                self._done[key] = max(self._done.get(key, last), last)


def table_of_stream(stream_arn: str) -> str:
    # arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>
    return stream_arn.split(":", 5)[5].split("/")[1]


# --- Step Functions: running executions -----------------------------------------------------------------


def running_executions(region: str, local_clock: Callable[[float], float]) -> list[RunningExecution]:
    """Every running execution of moto's Step Functions engine, where it is now. ``local_clock``: wall
    clock -> local clock (a Wait's end is kept on the local clock, which the restart continues)."""
    from moto.stepfunctions.responses import get_backend

    backend = get_backend(DEFAULT_ACCOUNT_ID, region)
    found: dict[str, RunningExecution] = {}
    definitions: dict[str, dict[str, Any]] = {}
    for machine in list(backend.state_machines):
        for execution in list(getattr(machine, "executions", [])):
            if _status(execution) != "RUNNING" or execution.execution_arn in found:
                continue
            text = execution.state_machine.definition
            if text not in definitions:
                definitions[text] = json.loads(text)
            current = _where(execution, definitions[text], local_clock)
            if current is not None:
                found[execution.execution_arn] = RunningExecution(machine.name, execution.name, *current)
    return list(found.values())


def _status(execution: Any) -> str:
    status = execution.exec_status
    return str(getattr(status, "value", status))


def _where(
    execution: Any, definition: dict[str, Any], local_clock: Callable[[float], float]
) -> tuple[dict[str, Any], str | None, float | None] | None:
    """(input, state, until) of the top-level state the execution is in; None when it has not started."""
    from nudge.campaigns.compiler import RESUME_ENTRY, RESUME_ROUTE

    states = definition.get("States") or {}
    for event in reversed(execution.to_history_output()["events"]):
        details = event.get("stateEnteredEventDetails")
        if not details or details.get("name") not in states:
            continue  # a state inside a Map or Parallel: the top-level one is further back
        name = str(details["name"])
        data = json.loads(details.get("input") or "{}")
        if name in (RESUME_ENTRY, RESUME_ROUTE):
            return data, None, None  # resuming this very moment: do it again from the same input
        state = states[name]
        if state.get("Type") != "Wait":
            return data, name, None
        ends = _wait_ends(state, data, _seconds_since_epoch(event["timestamp"]))
        return data, name, local_clock(ends)
    return None


def _seconds_since_epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _wait_ends(state: dict[str, Any], data: dict[str, Any], entered: float) -> float:
    """When a Wait entered at ``entered`` (wall clock) ends, as moto runs it."""
    if "Seconds" in state:
        return entered + float(state["Seconds"])
    if "SecondsPath" in state:
        return entered + float(_path(data, state["SecondsPath"]) or 0)
    stamp = state.get("Timestamp") or _path(data, state.get("TimestampPath", "$"))
    return _seconds_since_epoch(stamp)


def _path(data: Any, path: str) -> Any:
    """A plain ``$.a.b`` reference (all the machines here use); None when it is not there."""
    value = data
    for part in path.removeprefix("$").split(".")[1:] if path != "$" else []:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def resume_input(execution: RunningExecution, scale: float, local_now: float) -> dict[str, Any]:
    """The input that starts ``execution`` again where it was (see ``compiler.resumable``)."""
    from nudge.campaigns.compiler import RESUME_INPUT

    if execution.state is None:
        return dict(execution.input)
    left = 0 if execution.until is None else max(0.0, execution.until - local_now)
    seconds = math.ceil(left / scale)  # real seconds, rounded up: a wait never ends early
    return {**execution.input, RESUME_INPUT: {"state": execution.state, "seconds": seconds}}


# --- the saver ------------------------------------------------------------------------------------------


def _no_user_pools() -> bytes | None:
    return None


@dataclass(frozen=True)
class RuntimeParts:
    """How a Saver reads the runtime's parts that are not tables, at every save: ``meta()`` (workspace,
    link secret, machines); ``executions()`` the running executions; ``trim_points()`` how far the
    streams were consumed; ``local_clock(real)`` the local time of a real one; ``user_pools()`` the
    console's user pools, pickled."""

    meta: Callable[[], tuple[dict[str, str], str, dict[str, dict[str, Any]]]]
    executions: Callable[[], list[RunningExecution]]
    trim_points: Callable[[], dict[str, int]]
    local_clock: Callable[[float], float]
    user_pools: Callable[[], bytes | None] = _no_user_pools


class Saver:
    """Saves at most every ``interval`` seconds while something changed: a journal entry, or a new
    snapshot once the journal has grown past the last one; a snapshot at start and on ``stop()``.

    ``parts``: the rest of the runtime's state (RuntimeParts).
    ``sequence``: the last journal entry the loaded state contained (entries go on from there, so an
    older journal left behind by a crash is never applied on top of a newer snapshot)."""

    def __init__(
        self,
        state_dir: Path,
        tables: TableChanges,
        *,
        parts: RuntimeParts,
        sequence: int = 0,
        interval: float = SAVE_INTERVAL_SECONDS,
    ) -> None:
        self._state_dir = state_dir
        self._tables = tables
        self._meta = parts.meta
        self._executions = parts.executions
        self._trim_points = parts.trim_points
        self._local_clock = parts.local_clock
        self._user_pools = parts.user_pools
        self._sequence = sequence
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one save at a time (the thread's, stop()'s)
        self._last: tuple[Any, ...] | None = None
        self._snapshot_bytes = 0
        self._journal_bytes = 0
        self._unsaved = False
        self.saves = 0
        self.last_seconds = 0.0

    def start(self, *, restored: bool) -> None:
        """Save at once (the keys and the link secret are on disk before anyone is told them): a first
        snapshot, or what the start changed in a ``restored`` state (usually nothing)."""
        if restored:
            # The journal goes on from the files the last run left: count them, or a journal grown over
            # several runs would never be found to outgrow its snapshot (and /_local/status says 0).
            self._snapshot_bytes = _size(snapshot_path(self._state_dir))
            self._journal_bytes = _size(journal_path(self._state_dir))
        self.save(snapshot=not restored)
        self._thread = threading.Thread(target=self._run, name="nudge-local-snapshots", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and save the last changes (a journal entry: quick whatever the state's size,
        and a start reads a journal as fast as a snapshot of the same size)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        self.save()

    def status(self) -> dict[str, Any]:
        return {
            "directory": str(snapshot_path(self._state_dir).parent),
            "saves": self.saves,
            "snapshot_bytes": self._snapshot_bytes,
            "journal_bytes": self._journal_bytes,
            "last_save_seconds": round(self.last_seconds, 3),
        }

    def save(self, *, snapshot: bool = False) -> bool:
        """Save what changed since the last save (everything with ``snapshot``, or when the journal has
        outgrown the snapshot); whether anything was written."""
        with self._lock:
            started = time.perf_counter()
            real = time.time()
            trim = self._trim_points()
            executions = self._executions()  # before the tables: what they wrote is then in the tables
            snapshot = snapshot or self._unsaved or self._journal_bytes > max(self._snapshot_bytes, 1 << 20)
            changes = self._tables.take(trim, whole=snapshot)
            try:
                workspace, secret, machines = self._meta()
                pools = self._user_pools()
                signature = (workspace, secret, _freeze(machines), _positions(executions), pools)
                if not snapshot and not changes and signature == self._last:
                    return False
                self._sequence += 1
                local_now = self._local_clock(real)
                # What was taken is no longer marked as changed: if it cannot be written, only a whole
                # snapshot (the next save) brings the state on disk up to date again.
                self._unsaved = True
                if snapshot:
                    tables = {name: change.table for name, change in changes.items() if change.table}
                    whole = Snapshot(
                        real,
                        local_now,
                        dict(workspace),
                        secret,
                        tables,
                        dict(machines),
                        executions,
                        self._sequence,
                        user_pools=pools,
                    )
                    self._snapshot_bytes = save(self._state_dir, whole)
                    self._journal_bytes = 0
                else:
                    delta = Delta(
                        self._sequence,
                        real,
                        local_now,
                        dict(workspace),
                        secret,
                        dict(machines),
                        executions,
                        changes,
                        pools,
                    )
                    self._journal_bytes += append(self._state_dir, delta)
                self._unsaved = False
            finally:
                self._tables.done()
            self._last = signature
            self.saves += 1
            self.last_seconds = time.perf_counter() - started
            return True

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.save()
            # The runtime goes on serving if its state cannot be written (a full disk, an object moto
            # grew that does not pickle): said, not hidden, and the next save is a whole snapshot.
            except (OSError, pickle.PicklingError, TypeError):
                log.exception("could not save the local runtime's state")


def _freeze(machines: Mapping[str, dict[str, Any]]) -> str:
    return json.dumps(machines, sort_keys=True)


def _positions(
    executions: Iterable[RunningExecution],
) -> tuple[tuple[str, str, str | None, float | None], ...]:
    return tuple(sorted((e.machine, e.name, e.state, e.until) for e in executions))
