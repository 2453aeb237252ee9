"""Latency through the local runtime: from a Track API call over real HTTP until the evaluate handler has
seen the resulting stream record (observed through ``/_local/status``'s per-table record counts)."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.local_runtime import start

SAMPLES = 40
# The clock stops at the first poll that sees the record: polling every 50 ms (as the tests do) would add
# up to 50 ms to a sample of about 20. A kept-alive connection keeps each poll cheap for the runtime.
POLL_SECONDS = 0.002


@dataclass(frozen=True)
class Latency:
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def measure(samples: int = SAMPLES) -> Latency:
    with tempfile.TemporaryDirectory() as state:
        runtime = start(Path(state))
        try:
            runtime.track("PUT", "/api/v1/customers/bench", {"plan": "pro"})
            session = requests.Session()
            session.verify = runtime.verify

            def records() -> int:
                status = session.get(runtime.url + "/_local/status", timeout=10).json()
                return int(status["streams"]["evaluate"]["tables"]["events"]["records"])

            seen: list[float] = []
            for i in range(samples):
                before = records()
                began = time.perf_counter()
                answer = runtime.track(
                    "POST", "/api/v1/customers/bench/events", {"name": "tick", "id": f"t{i}"}
                )
                answer.raise_for_status()
                runtime.wait_until(
                    lambda before=before: records() > before, timeout=30, interval=POLL_SECONDS
                )
                seen.append(time.perf_counter() - began)
        finally:
            runtime.stop()
    return Latency(seen)
