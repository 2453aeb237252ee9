"""Render the results as markdown and write them into the results section of ``bench/README.md``."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.billing_run import BILLING_START, RUN_DATE, Run, calls_text
from bench.cold_start import ColdStart, ImportShare
from bench.local_latency import Latency
from bench.segment_eval import CHANGES, MAX_TIME_RATIO, Point, operations
from bench.track_costs import DOLLARS_PER_MILLION_RRU, DOLLARS_PER_MILLION_WRU, Cost

README = Path(__file__).resolve().parent / "README.md"
BEGIN = "<!-- results:begin (written by `make bench`: edits between these markers are overwritten) -->"
END = "<!-- results:end -->"
_PACKAGES = ("aws-lambda-powertools", "pynamodb", "botocore", "moto")
TOP_IMPORTS = 10


@dataclass(frozen=True)
class Verdict:
    passed: bool
    text: str

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}: {self.text}"


def _number(value: float) -> str:
    return f"{value:g}"


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)} ms"  # round() rather than a format, which would print "-0"


def _table(header: Iterable[str], align: str, rows: Iterable[Iterable[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _calls(cost: Cost) -> str:
    breakdown = ", ".join(f"{name} {count}" for name, count in sorted(cost.calls.items()))
    return f"{sum(cost.calls.values())} ({breakdown})"


def per_op_dollars(cost: Cost) -> float:
    return cost.dollars_per_million / cost.track_ops


def cost_section(costs: list[Cost]) -> list[str]:
    rows = []
    for c in costs:
        approx = "" if c.exact else " ≈"
        rows.append(
            [
                c.name,
                str(c.track_ops),
                _calls(c),
                _number(c.write_units),
                _number(c.read_units) + approx,
                _number(c.write_units / c.track_ops),
                _number(c.read_units / c.track_ops) + approx,
                f"{per_op_dollars(c):.2f}",
            ]
        )
    header = [
        "Track API request",
        "ops",
        "DynamoDB calls",
        "WRU",
        "RRU",
        "WRU / op",
        "RRU / op",
        "$ per million ops",
    ]
    return [
        "### DynamoDB request units per Track API request",
        "",
        *_table(header, "lrlrrrrr", rows),
        "",
        f"Prices: ${DOLLARS_PER_MILLION_WRU} per million WRU, ${DOLLARS_PER_MILLION_RRU} per million RRU "
        "(us-east-1 on demand). Storage, streams and Lambda are not included.",
    ]


def cold_start_section(starts: list[ColdStart], baseline: ColdStart, floor: ColdStart) -> list[str]:
    rows = []
    for s in [baseline, floor, *starts]:
        clients = f"{_ms(s.clients_s)} ({s.clients})" if s.clients else "none"
        rows.append(
            [
                f"`{s.module}`",
                _ms(s.source_import_s),
                f"{s.source_import_s / baseline.source_import_s:.2f}x",
                _ms(s.import_s),
                f"{s.import_s / baseline.import_s:.2f}x",
                clients,
                _ms(s.import_s + s.clients_s),
            ]
        )
    header = [
        "handler module",
        f"import, shipped as source (median of {baseline.runs})",
        "x baseline",
        "import, bytecode shipped",
        "x baseline",
        "DynamoDB clients (count)",
        "import + clients",
    ]
    return ["### Cold start", "", *_table(header, "lrrrrrr", rows)]


def attribution_section(
    module: str, packages: list[ImportShare], baseline: list[ImportShare], direct: list[ImportShare]
) -> list[str]:
    base = {share.name: share.seconds for share in baseline}
    package_rows = [
        [f"`{p.name}`", _ms(p.seconds), _ms(base.get(p.name, 0.0)), _ms(p.seconds - base.get(p.name, 0.0))]
        for p in packages[:TOP_IMPORTS]
    ]
    direct_rows = [[f"`{d.name}`", _ms(d.seconds)] for d in direct[:TOP_IMPORTS]]
    return [
        f"### Where `{module}`'s import time goes",
        "",
        "Measured under `python -X importtime` (slower than a plain import; read the proportions). "
        "Self time summed per top-level package, against the baseline handler's:",
        "",
        *_table(["package", "handler", "baseline", "difference"], "lrrr", package_rows),
        "",
        "The handler's own imports, cumulative (a module is charged to the first import that loads it):",
        "",
        *_table(["import", "cumulative"], "lr", direct_rows),
    ]


def environment_line() -> str:
    packages = ", ".join(f"{name} {version(name)}" for name in _PACKAGES)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Run {when} on {os.cpu_count()} CPUs ({platform.machine()}), Python {sys.version.split()[0]}, "
        f"{packages}."
    )


def write_results(lines: list[str], readme: Path = README) -> None:
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise RuntimeError(f"{readme} lacks the results markers {BEGIN!r} and {END!r}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + "\n\n" + "\n".join(lines) + "\n\n" + END + tail)


def latency_section(latency: Latency) -> list[str]:
    return [
        "### Local runtime: Track API call to evaluate handler",
        "",
        "An event for a known person is posted over real HTTP to `nudge local`; the clock stops when",
        "`/_local/status` shows the evaluate handler has taken the new events-stream record (the stream",
        "pump wakes on each record moto writes, with Lambda's default batching window of 0).",
        "",
        "| samples | median | p95 |",
        "|---:|---:|---:|",
        f"| {len(latency.samples)} | {_ms(latency.median)} | {_ms(latency.p95)} |",
    ]


def _spread(values: list[float]) -> str:
    """One value when every record agrees, else the range."""
    low, high = min(values), max(values)
    return _number(low) if low == high else f"{_number(low)} to {_number(high)}"


def segment_eval_section(points: list[Point]) -> list[str]:
    kinds = list(CHANGES)
    ordered = sorted(points, key=lambda p: (kinds.index(p.change), p.segments, p.people))
    smallest = {
        change: min((p for p in points if p.change == change), key=lambda p: (p.segments, p.people))
        for change in {p.change for p in points}
    }
    rows = []
    for p in ordered:
        approx = "" if all(d.exact for d in p.metered) else " ≈"
        rows.append(
            [
                CHANGES[p.change],
                f"{p.segments:,}",
                f"{p.people:,}",
                str(p.dependent),
                _spread([d.evaluated for d in p.metered]),
                operations(p.metered),
                _spread([d.read_units for d in p.metered]) + approx,
                _spread([d.write_units for d in p.metered]),
                f"{p.median * 1000:.1f} ms",
                f"{p.median / smallest[p.change].median:.2f}x",
            ]
        )
    metered, timed = len(points[0].metered), len(points[0].seconds)
    header = [
        "change",
        "segments",
        "people",
        "depend on it",
        "evaluated",
        "DynamoDB calls per record",
        "RRU",
        "WRU",
        f"median time ({timed} records)",
        "x smallest",
    ]
    return [
        "### Segment evaluation per stream record",
        "",
        "The real evaluate handler, in process against moto, one stream record per invocation. Each row",
        "is one change kind at one scale point, for people changed there for the first time. Segments",
        "evaluated (calls of `nudge.segments.evaluation.apply`), DynamoDB calls and request units are per",
        f"record, each of {metered} metered records alike unless a range is shown; time is the median of",
        f"{timed} other records, delivered with the meter off. Flat means the same counts at every point and",
        f"a median time at most {MAX_TIME_RATIO:g}x the smallest point's. WRU are the membership writes (and",
        "time re-checks) the record causes; a conditional write its condition refuses is billed too. ≈: a",
        "query's filter hid items it was billed for, and the meter sized only those it returned.",
        "",
        *_table(header, "lrrrrlrrrr", rows),
    ]


def billing_run_section(runs: list[Run]) -> list[str]:
    rows = []
    for r in sorted(runs, key=lambda r: r.people):
        approx = "" if r.exact else " ≈"
        tables = ", ".join(f"{name} {count}" for name, count in sorted(r.tables.items()))
        rows.append(
            [
                f"{r.people:,}",
                f"{r.profiles:,}",
                f"{r.one_by_one:,}",
                f"{r.counted['people_created']:,} / {r.counted['people_new']:,}",
                calls_text(r.calls),
                tables,
                _number(r.read_units) + approx,
                _number(r.write_units),
                f"{r.billable:,}",
                f"{r.over:,}",
                f"{r.total_cents:,}",
            ]
        )
    header = [
        "people",
        "people table items",
        "metered one by one",
        "counters: created / new",
        "DynamoDB calls of the run",
        "calls per table",
        "RRU",
        "WRU",
        "billable people",
        "over the plan",
        "invoice total (cents)",
    ]
    included = ", ".join(sorted({f"{r.included:,}" for r in runs}))
    return [
        "### One billing run",
        "",
        f"`nudge.billing.invoicing.run` for {RUN_DATE}, in process against moto, metered: it closes the",
        f"period from {BILLING_START} of one Essentials workspace ({included} people included), whose people",
        "all arrived and were metered in that period; a fresh mocked account per size. The people table",
        "holds every profile, plus the identifier lookups of those created through `identify`; the counters",
        "are `metering.read_usage`'s totals before the run. The invoice is the one the run issued: next",
        "month's base fee in advance and the closed period's people overage. ≈: the workspaces scan's",
        "filter hid items (credentials) it was billed for, and the meter sized only those it returned.",
        "",
        *_table(header, "rrrrllrrrrr", rows),
    ]
