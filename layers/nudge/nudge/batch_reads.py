"""Reads shared by the records of one stream batch, made once per batch instead of once per record.

Every record of a batch repeats the same few reads: which segments depend on a key, which trigger keys
the workspace's active campaigns listen to. Inside ``scope()`` (the evaluate handler opens one around
each batch) those reads are made once and reused; outside a scope (the API, the sweep, tests calling a
consumer directly) every read goes to DynamoDB as before. It sits at the bottom of the package (it
imports nothing of Nudge's) so the domain packages that cache through it depend on nothing above them.

Why reusing them is safe: every record of a batch was written before the batch was read, and what is
cached only says which segments and campaigns to look at. A segment created meanwhile is missed by the
batch but starts a backfill, which reads each person after the writes these records describe; a
campaign activated meanwhile starts from the next change, as if activated a batch later. The consumers
never write what is cached here, so a batch never reads back a stale copy of its own writes.

What is not cached: the segments' definitions. A definition changed while a batch runs has its backfill
re-evaluate people concurrently; a later record evaluated with the old definition would undo the
backfill's answer for that person until their next change, so definitions are read for each record.
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
