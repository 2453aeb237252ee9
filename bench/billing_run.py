"""One billing run as the workspace grows: does it read counters, or people?

A workspace on the Essentials plan, billed from 2026-09-01, holds N people in its first period (the
profiles really exist in the people table) and N people metered in its counters; one
``nudge.billing.invoicing.run(date(2026, 10, 1))`` closes the period and invoices it. Its DynamoDB
calls and request units are metered at each N: the target is the same calls and read units at every N.

The workload (``bench.billing_workload``) runs in its own Python process, for the reasons
``bench.segment_eval`` gives (100,000 people in moto's memory; DynamoDB clients built after its own
meter is installed). This module starts it, reads its results back, and judges them. It imports nothing
from ``nudge``.

``python -m bench.billing_run`` runs the workload here and prints the report section;
``--people 300,2000`` runs smaller sizes while developing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.environment import mocked_aws_environment, use_mocked_aws
from bench.segment_eval import Check

ROOT = Path(__file__).resolve().parent.parent
PEOPLE_SCALES = (1_000, 100_000)
# People created through the Track API's domain code and metered one by one through
# ``nudge.billing.metering.created``, at every size; the rest are written in bulk.
METERED_ONE_BY_ONE = 250
BILLING_START = "2026-09-01"
RUN_DATE = "2026-10-01"


@dataclass(frozen=True)
class Run:
    """One billing run, metered, in a workspace of ``people`` people."""

    people: int  # people created and metered in the period
    profiles: int  # items in the people table when the run starts
    one_by_one: int  # of which metered through metering.created; the rest written in bulk
    counted: dict[str, int]  # metering.read_usage's totals before the run: people_created, ...
    calls: dict[str, int]  # DynamoDB operation -> count, during the run
    tables: dict[str, int]  # logical table -> calls, during the run
    read_units: float
    write_units: float
    exact: bool  # False when a filter hid items a read was billed for (see bench/meter.py)
    issued: list[str]  # invoice ids the run returned
    included: int  # people the plan includes, as the invoice states
    billable: int  # the invoice's billable people
    over: int  # of which over the plan
    total_cents: int


def measure(people_scales: tuple[int, ...] = PEOPLE_SCALES) -> list[Run]:
    """Run the workload in a fresh interpreter (its progress goes to this process's stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs.json"
        env = mocked_aws_environment(dict(os.environ))
        env.pop("PYTHONPATH", None)
        args = ["-m", "bench.billing_run", "--json", str(out), "--people", ",".join(map(str, people_scales))]
        # Our own interpreter with our own arguments: nothing untrusted reaches the command line.
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"the billing run workload failed (exit {done.returncode})")
        return [Run(**r) for r in json.loads(out.read_text())]


def calls_text(calls: dict[str, int]) -> str:
    breakdown = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    return f"{sum(calls.values())} ({breakdown})"


def checks(runs: list[Run]) -> list[Check]:
    """The same DynamoDB calls per operation and the same read units at every size."""
    shapes = {(tuple(sorted(r.calls.items())), r.read_units) for r in runs}
    sizes = " and ".join(f"{r.people:,}" for r in sorted(runs, key=lambda r: r.people))
    label = "billing run"
    target = "(target: the same at every size)"
    if len(shapes) == 1:
        ((calls, units),) = shapes
        approx = "" if all(r.exact for r in runs) else " ≈"
        profile_calls = max(r.tables.get("people", 0) for r in runs)
        count, breakdown = calls_text(dict(calls)).split(" ", 1)
        text = (
            f"{count} DynamoDB calls {breakdown} and {units:g} RRU{approx} at {sizes} people, "
            f"{profile_calls or 'none'} to the people table"
        )
        return [Check(True, f"{label}: {text} {target}")]
    text = "; ".join(
        f"{r.people:,} people: {calls_text(r.calls)} calls, {r.read_units:g} RRU"
        for r in sorted(runs, key=lambda r: r.people)
    )
    return [Check(False, f"{label}: {text} {target}")]


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.billing_run", description=__doc__)
    parser.add_argument("--json", type=Path, help="write the runs here instead of printing a report")
    parser.add_argument("--people", type=_ints, default=PEOPLE_SCALES, help="e.g. 1000,100000")
    args = parser.parse_args()
    use_mocked_aws()  # before anything imports nudge
    from bench import billing_workload

    runs = billing_workload.run(args.people)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in runs]))
        return 0
    from bench import report

    print("\n".join([*(str(report.Verdict(c.passed, c.text)) for c in checks(runs)), ""]))
    print("\n".join(report.billing_run_section(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
