"""Deterministic cohorts: a person's bucket (0..99) for a campaign and a salt (a split block, an A/B
test), so the same person always lands in the same branch, whoever asks (the split's step in an
execution, or a broadcast page queueing one-send messages)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def bucket(campaign_id: str, block: str, cio_id: str) -> int:
    digest = hashlib.sha256(f"{campaign_id}\x1f{block}\x1f{cio_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def cohort_of(campaign_id: str, block: str, cio_id: str, percents: Sequence[int | float]) -> int:
    point = bucket(campaign_id, block, cio_id)
    upto = 0.0
    for index, percent in enumerate(percents):
        upto += float(percent)
        if point < upto:
            return index
    return len(percents) - 1  # percentages short of 100 (validation prevents it): the last branch
