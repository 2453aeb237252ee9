"""Reads shared by the records of one stream batch, made once per batch instead of once per record.

Every record of a batch repeats the same few reads: which segments depend on a key, the definitions of
those segments, which trigger keys the workspace's active campaigns listen to. Inside ``scope()`` (the
evaluate handler opens one around each batch) those reads are made once and reused; outside a scope
(the API, the sweep, tests calling a consumer directly) every read goes to DynamoDB as before.

Why reusing them is safe: every record of a batch was written before the batch was read, so evaluating
all of them against definitions as they were when the batch started is what a consumer that had been
that much faster would have done. A definition created or changed meanwhile starts a backfill, which
reads each person as they are then, after the writes these records describe. The consumers never write
what is cached here (they write memberships, re-checks, metering and executions), so a batch never
reads back a stale copy of its own writes. The cache lives for one batch only, a few seconds at most.

What it does not close: a definition changed while a batch runs, whose backfill (on the segments
stream, concurrently) passes a person before a later record of this batch evaluates that person with
the old definition, leaves the old definition's answer until the person's next change. One record
alone has the same race between its read and its write; the cache widens it from milliseconds to the
batch's duration. (A backfill step itself evaluates with the definition its stream record carries.)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")
_cache: ContextVar[dict[Hashable, Any] | None] = ContextVar("nudge_batch_cache", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """Share reads between the records processed inside (one stream batch)."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def cached(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, made once per batch for ``key``; made every time outside a batch."""
    cache = _cache.get()
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    value: T = cache[key]
    return value
