"""Newest-first pages over an index spread across shard keys (people by creation, deliveries by workspace).

An index whose partition key is one value per workspace takes every write of a bulk import or a broadcast
on one key: DynamoDB caps a key's writes, and a throttled index throttles its table. So these indexes
spread a workspace over ``shards`` keys, each sorted newest first, and a page merges them: one Query per
open shard, each of at most ``limit`` entries, and the newest ``limit`` of the union. Entries with the same
sort value are ordered by shard number, then as the shard's own Query returns them, so the order is total
and a page boundary inside a tie loses and repeats nothing.

The cursor (``start`` / ``next``) holds, per shard not yet exhausted, the position after the last entry
taken from it: at most one small position per shard, never a key the client could point elsewhere (each
index rebuilds its keys from the workspace id and validated position values).

With ``keep`` (a filter applied to the entries read, as a text search), a shard's entries that do not match
are passed over: each round reads ``chunk`` entries per open shard, a request stops after ``budget``
entries, and a page may then hold fewer than ``limit`` entries with a ``next`` to continue.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from nudge.errors import InvalidRequest

T = TypeVar("T")
Position = Any  # JSON-serialisable, index-specific: validated by ``ShardedIndex.valid``
CURSOR_MAX = 2048


@dataclass(frozen=True)
class ShardedIndex(Generic[T]):
    shards: int
    # (shard, start after this position or None, at most n) -> (entries newest first, more may follow)
    query: Callable[[int, Position | None, int], tuple[Sequence[T], bool]]
    order: Callable[[T], Any]  # the sort value: larger is newer
    position: Callable[[T], Position]
    valid: Callable[[Any], bool]


@dataclass(frozen=True)
class Page(Generic[T]):
    entries: list[T]
    next: str | None
    read: int  # index entries read, for the README's cost claims and the tests that hold them


@dataclass(frozen=True)
class _Candidate(Generic[T]):
    order: Any
    shard: int
    seq: int
    entry: T


def page(
    index: ShardedIndex[T],
    start: str | None,
    limit: int,
    *,
    keep: Callable[[T], bool] | None = None,
    chunk: int = 200,
    budget: int = 5000,
) -> Page[T]:
    open_shards = decode(start, index) if start else dict.fromkeys(range(index.shards))
    taken: list[T] = []
    read = 0
    while open_shards and len(taken) < limit and read < budget:
        size = limit - len(taken) if keep is None else chunk
        emitted, read_now = _round(index, open_shards, size, limit - len(taken), keep)
        taken.extend(emitted)
        read += read_now
    return Page(taken, encode(open_shards) if open_shards else None, read)


def _round(
    index: ShardedIndex[T],
    open_shards: dict[int, Position | None],
    size: int,
    wanted: int,
    keep: Callable[[T], bool] | None,
) -> tuple[list[T], int]:
    """One Query per open shard, then the entries every shard's unread rest is sure to come after.
    Updates ``open_shards`` in place."""
    reads = {shard: index.query(shard, at, size) for shard, at in open_shards.items()}
    candidates = sorted(
        (
            _Candidate(index.order(entry), shard, seq, entry)
            for shard, (entries, _) in reads.items()
            for seq, entry in enumerate(entries)
            if keep is None or keep(entry)
        ),
        key=lambda c: (c.order, -c.shard, -c.seq),
        reverse=True,
    )
    # Where each unfinished shard stopped reading: its unread entries sort after these.
    frontiers = {
        shard: index.order(entries[-1]) for shard, (entries, more) in reads.items() if more and entries
    }
    emitted: list[_Candidate[T]] = []
    for candidate in candidates:
        if len(emitted) == wanted or not _settled(candidate, frontiers):
            break
        emitted.append(candidate)
    for shard, (entries, more) in reads.items():
        mine = [c for c in emitted if c.shard == shard]
        matched = sum(1 for c in candidates if c.shard == shard)
        if len(mine) == matched:
            # Every match read here went out; what else was read did not match: resume after all of it.
            if more and entries:
                open_shards[shard] = index.position(entries[-1])
            else:
                del open_shards[shard]
        elif mine:
            open_shards[shard] = index.position(mine[-1].entry)
    return [c.entry for c in emitted], sum(len(entries) for entries, _ in reads.values())


def _settled(candidate: _Candidate[Any], frontiers: dict[int, Any]) -> bool:
    """No shard still holds an unread entry that sorts before this one."""
    for shard, frontier in frontiers.items():
        if shard == candidate.shard:
            continue
        if candidate.order < frontier or (candidate.order == frontier and candidate.shard > shard):
            return False
    return True


def encode(open_shards: dict[int, Position | None]) -> str:
    raw = json.dumps({str(shard): at for shard, at in sorted(open_shards.items())}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(start: str, index: ShardedIndex[Any]) -> dict[int, Position | None]:
    """A ``start`` token back into positions; anything this module did not write is a 400 on ``start``."""
    bad = InvalidRequest("start must be a next token from a previous page", field="start")
    if len(start) > CURSOR_MAX:
        raise bad
    try:
        raw = json.loads(base64.urlsafe_b64decode(start + "=" * (-len(start) % 4)))
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise bad from exc
    if not isinstance(raw, dict) or not raw:
        raise bad
    positions: dict[int, Position | None] = {}
    for shard, at in raw.items():
        if not (shard.isascii() and shard.isdigit() and int(shard) < index.shards):
            raise bad
        if at is not None and not index.valid(at):
            raise bad
        positions[int(shard)] = at
    return positions
