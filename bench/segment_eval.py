"""Segment evaluation per stream record, as the workspace grows: does the work follow the change, or the
workspace?

The workload (``bench.segment_workload``) runs in its own Python process: it holds up to 100,000 people
in moto's memory, and it needs DynamoDB clients built after its own meter is installed (PynamoDB keeps
the clients it built for the Track benchmark, with that benchmark's hooks). This module starts it, reads
its results back, and judges them. It imports nothing from ``nudge``.

``python -m bench.segment_eval`` runs the workload here and prints the report section;
``--segments 100,1000 --people 100,2000`` runs smaller scale points while developing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.environment import mocked_aws_environment, use_mocked_aws

ROOT = Path(__file__).resolve().parent.parent
SEGMENT_SCALES = (1_000, 10_000)
PEOPLE_SCALES = (1_000, 100_000)
# Flat: at every scale point the median time per record is at most this many times the smallest point's.
MAX_TIME_RATIO = 1.5
READ_OPERATIONS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
ATTRIBUTE, EVENT = "attribute", "event"
CHANGES = {
    ATTRIBUTE: "person MODIFY: one attribute changed",
    EVENT: "event INSERT",
}


@dataclass(frozen=True)
class Delivery:
    """One metered delivery of one stream record to the evaluate handler."""

    evaluated: int  # calls of nudge.segments.evaluation.apply
    calls: dict[str, int]  # DynamoDB operation -> count
    read_units: float
    write_units: float
    exact: bool  # False when a query's filter hid items it was billed for (see bench/meter.py)

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in READ_OPERATIONS)


@dataclass(frozen=True)
class Point:
    """One change kind at one scale point: metered deliveries and timed (unmetered) ones."""

    change: str  # ATTRIBUTE or EVENT
    segments: int  # segment definitions in the workspace
    people: int  # people in the workspace
    dependent: int  # segments indexed under the keys the change touches
    metered: list[Delivery]
    seconds: list[float]  # wall time of each timed delivery

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def read_shapes(self) -> set[tuple[tuple[tuple[str, int], ...], float]]:
        """Each distinct (read calls by operation, read units) a record cost here."""
        return {
            (tuple(sorted((op, n) for op, n in d.calls.items() if op in READ_OPERATIONS)), d.read_units)
            for d in self.metered
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Point:
        return cls(**{**data, "metered": [Delivery(**d) for d in data["metered"]]})


@dataclass(frozen=True)
class Check:
    passed: bool
    text: str


def measure(
    segment_scales: tuple[int, ...] = SEGMENT_SCALES, people_scales: tuple[int, ...] = PEOPLE_SCALES
) -> list[Point]:
    """Run the workload in a fresh interpreter (its progress goes to this process's stderr)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "points.json"
        env = mocked_aws_environment(dict(os.environ))
        env.pop("PYTHONPATH", None)
        args = [
            "-m",
            "bench.segment_eval",
            "--json",
            str(out),
            "--segments",
            ",".join(map(str, segment_scales)),
            "--people",
            ",".join(map(str, people_scales)),
        ]
        # Our own interpreter with our own arguments: nothing untrusted reaches the command line.
        done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"the segment evaluation workload failed (exit {done.returncode})")
        return [Point.from_json(p) for p in json.loads(out.read_text())]


def checks(points: list[Point]) -> list[Check]:
    """Per change kind: identical work at every scale point, and time within ``MAX_TIME_RATIO``."""
    found = []
    for change in CHANGES:
        mine = [p for p in points if p.change == change]
        if not mine:
            continue
        smallest = min(mine, key=lambda p: (p.segments, p.people))
        evaluated = {d.evaluated for p in mine for d in p.metered}
        shapes = set().union(*(p.read_shapes() for p in mine))
        label = f"segment evaluation, {CHANGES[change]}"
        if len(evaluated) == 1 and len(shapes) == 1:
            ((reads, units),) = shapes
            text = (
                f"{evaluated.pop()} segments evaluated, {sum(n for _, n in reads)} reads ({units:g} RRU) "
                f"per record at all {len(mine)} scale points"
            )
            found.append(Check(True, f"{label}: {text} (target: identical at every point)"))
        else:
            text = (
                f"segments evaluated per record {sorted(evaluated)}, "
                f"RRU per record {sorted({units for _, units in shapes})} across the scale points"
            )
            found.append(Check(False, f"{label}: {text} (target: identical at every point)"))
        slowest = max(mine, key=lambda p: p.median)
        ratio = slowest.median / smallest.median
        found.append(
            Check(
                ratio <= MAX_TIME_RATIO,
                f"{label}: the slowest point's median time per record ({_at(slowest)}) is {ratio:.2f}x "
                f"that at {_at(smallest)} (target <= {MAX_TIME_RATIO:g}x)",
            )
        )
    return found


def _at(point: Point) -> str:
    return f"{point.segments:,} segments and {point.people:,} people"


def operations(deliveries: list[Delivery]) -> str:
    """The calls of a record, or the range over the records when they differ."""
    shapes = {tuple(sorted(d.calls.items())) for d in deliveries}
    if len(shapes) != 1:
        totals = sorted(sum(d.calls.values()) for d in deliveries)
        return f"{totals[0]} to {totals[-1]} (varies)"
    calls = Counter(deliveries[0].calls)
    breakdown = ", ".join(f"{name} {count}" for name, count in sorted(calls.items()))
    return f"{sum(calls.values())} ({breakdown})"


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.segment_eval", description=__doc__)
    parser.add_argument("--json", type=Path, help="write the points here instead of printing a report")
    parser.add_argument("--segments", type=_ints, default=SEGMENT_SCALES, help="e.g. 1000,10000")
    parser.add_argument("--people", type=_ints, default=PEOPLE_SCALES, help="e.g. 1000,100000")
    args = parser.parse_args()
    use_mocked_aws()  # before anything imports nudge
    from bench import segment_workload

    points = segment_workload.run(args.segments, args.people)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(p) for p in points]))
        return 0
    from bench import report

    print("\n".join([*(str(report.Verdict(c.passed, c.text)) for c in checks(points)), ""]))
    print("\n".join(report.segment_eval_section(points)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
