"""The shard-merging pager: every page in order, nothing lost or repeated at page boundaries (ties
included), a filter that passes entries over, and cursors it did not write refused."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from nudge.errors import InvalidRequest
from nudge.model.newest_first import ShardedIndex, encode, page

Entry = tuple[int, int, str]  # (created, shard, name)


def _fake(entries: list[Entry], shards: int, reads: list[int] | None = None) -> ShardedIndex[Entry]:
    """Shards sorted newest first with ties in name order, as a Query would hold them; positions are the
    (created, name) of the last entry read, and a Query resumes after that entry."""
    by_shard = {
        s: sorted((e for e in entries if e[1] == s), key=lambda e: (-e[0], e[2])) for s in range(shards)
    }

    def query(shard: int, at: list | None, size: int) -> tuple[Sequence[Entry], bool]:
        rows = by_shard[shard]
        begin = 0 if at is None else next(i for i, e in enumerate(rows) if [e[0], e[2]] == at) + 1
        taken = rows[begin : begin + size]
        if reads is not None:
            reads.append(len(taken))
        return taken, begin + size < len(rows)

    return ShardedIndex(
        shards, query, lambda e: e[0], lambda e: [e[0], e[2]], lambda v: isinstance(v, list) and len(v) == 2
    )


def _everything(index: ShardedIndex[Entry], limit: int, **kw) -> list[list[Entry]]:
    pages, start = [], None
    for _ in range(10_000):
        found = page(index, start, limit, **kw)
        pages.append(found.entries)
        start = found.next
        if start is None:
            return pages
    raise AssertionError("the pager never finished")


def _expected(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (-e[0], e[1], e[2]))


@pytest.mark.parametrize("seed", range(30))
def test_pages_concatenate_to_the_whole_index_newest_first(seed):
    rng = random.Random(seed)
    shards = rng.randint(1, 6)
    # Few distinct times, so ties inside a shard and across shards are common.
    entries = [(rng.randint(0, 8), rng.randrange(shards), f"n{i:03d}") for i in range(rng.randint(0, 60))]
    limit = rng.randint(1, 7)

    pages = _everything(_fake(entries, shards), limit)

    assert [e for p in pages for e in p] == _expected(entries)
    assert all(len(p) == limit for p in pages[:-1])  # without a filter, only the last page is short


@pytest.mark.parametrize("seed", range(30))
def test_a_filter_finds_every_match_once_in_order(seed):
    rng = random.Random(seed)
    shards = rng.randint(1, 6)
    entries = [(rng.randint(0, 8), rng.randrange(shards), f"n{i:03d}") for i in range(rng.randint(0, 80))]
    wanted = {e for e in entries if rng.random() < 0.2}

    pages = _everything(
        _fake(entries, shards), rng.randint(1, 5), keep=wanted.__contains__, chunk=3, budget=7
    )

    assert [e for p in pages for e in p] == _expected(list(wanted))


def test_a_page_reads_at_most_limit_entries_per_shard():
    entries = [(t, t % 4, f"n{t:04d}") for t in range(1000)]
    reads: list[int] = []

    found = page(_fake(entries, 4, reads), None, 25)

    assert len(found.entries) == 25
    assert reads == [25, 25, 25, 25]
    assert found.read == 100


def test_a_filter_stops_at_its_budget_and_says_where_to_go_on():
    entries = [(t, t % 4, f"n{t:04d}") for t in range(1000)]

    found = page(_fake(entries, 4), None, 10, keep=lambda e: e[0] < 5, chunk=50, budget=400)

    assert found.entries == []
    assert found.read == 400
    assert found.next is not None


@pytest.mark.parametrize(
    "start",
    ["", "%%%", "bm90IGpzb24", encode({9: None}), encode({0: "x"}), "e30", "x" * 3000, "W10"],
)
def test_a_start_it_did_not_write_is_a_400_on_start(start):
    index = _fake([(1, 0, "a")], 2)
    with pytest.raises(InvalidRequest) as refused:
        page(index, start or "=", 10)
    assert refused.value.field == "start"
