"""Restart time of the local runtime with ``PEOPLE`` people stored.

``nudge local --no-demo`` starts in a subprocess on an empty state directory; ``PEOPLE`` people are
imported through ``POST /api/v2/batch`` (``local_speed``'s import: until every one is evaluated and
metered); the runtime is stopped with SIGINT (it journals its last changes) and started again on the same
directory. Reported: the first start, the stop, the restart (from launching the process until
``local.json`` is written and the gateway answers, as ``tests.support.local_runtime.start`` waits) and
the size of the state (snapshot and journal) it loads. The restarted runtime must still count every
person as billable, or the run fails. Target: a restart within ``MAX_RESTART_SECONDS``.

``python -m bench.local_restart [people]`` runs it alone.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.local_speed import _billable_people, _import
from tests.support.local_runtime import start

PEOPLE = 10_000
MAX_RESTART_SECONDS = 15.0


@dataclass(frozen=True)
class Restart:
    people: int
    first_start_s: float
    import_s: float
    stop_s: float
    restart_s: float
    snapshot_bytes: int


def measure(people: int = PEOPLE) -> Restart:
    with tempfile.TemporaryDirectory(prefix="nudge-restart-") as directory:
        state_dir = Path(directory)
        began = time.perf_counter()
        runtime = start(state_dir, "--no-demo")
        first_start = time.perf_counter() - began
        try:
            import_s = _import(runtime, people)
        finally:
            began = time.perf_counter()
            code, output = runtime.stop()
        stop_s = time.perf_counter() - began
        if code != 0:
            raise RuntimeError(f"nudge local stopped with {code}:\n{output}")
        snapshot_bytes = sum(path.stat().st_size for path in (state_dir / "state").iterdir())

        began = time.perf_counter()
        again = start(state_dir, "--no-demo")
        restart_s = time.perf_counter() - began
        try:
            kept = _billable_people(again)
        finally:
            again.stop()
        if kept != people:
            raise RuntimeError(f"the restarted runtime counts {kept} billable people, not {people}")
    return Restart(people, first_start, import_s, stop_s, restart_s, snapshot_bytes)


def checks(result: Restart) -> list[tuple[bool, str]]:
    return [
        (
            result.restart_s <= MAX_RESTART_SECONDS,
            f"restart with {result.people:,} people stored: {result.restart_s:.1f} s"
            f" (target <= {MAX_RESTART_SECONDS:g} s)",
        )
    ]


def main(argv: list[str]) -> int:
    result = measure(int(argv[0]) if argv else PEOPLE)
    print(
        f"people {result.people:,}: first start {result.first_start_s:.1f} s, import {result.import_s:.0f} s,"
        f" stop {result.stop_s:.1f} s, restart {result.restart_s:.1f} s,"
        f" state on disk {result.snapshot_bytes / 1e6:.1f} MB"
    )
    verdicts = checks(result)
    for ok, line in verdicts:
        print(("PASS " if ok else "FAIL ") + line)
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
