"""Cold start of each Lambda handler: the module import, timed in a fresh Python process.

Each sample is a new interpreter that imports one handler module and reports, with ``perf_counter``:
the import (which builds the resolver and registers the routes, as a Lambda init does), then the
construction of the botocore DynamoDB clients PynamoDB would otherwise build during the first request
(one per table model; nothing is sent). Samples of all modules are interleaved so that machine noise
spreads evenly, after one untimed run each that leaves the bytecode cache warm.

``python -X importtime`` then attributes the import to packages (self time, summed per top-level
package) and to the handler's own imports (cumulative time). The flag slows imports down: its figures
are for comparing with each other, not with the plain timings.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.environment import mocked_aws_environment

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "bench.baseline_handler"
RUNS = 9
ATTRIBUTION_RUNS = 5

_SAMPLE = """
import importlib, sys, time
start = time.perf_counter()
importlib.import_module(sys.argv[1])
imported = time.perf_counter()
clients = 0
if "nudge.model" in sys.modules:
    from nudge.model import TABLE_MODELS
    for model in TABLE_MODELS.values():
        model._get_connection().connection.client
        clients += 1
print(imported - start, time.perf_counter() - imported, clients)
"""


@dataclass(frozen=True)
class ColdStart:
    module: str
    import_s: float  # median
    clients_s: float  # median time to build the DynamoDB clients after the import
    clients: int
    runs: int


@dataclass(frozen=True)
class ImportShare:
    name: str
    seconds: float  # median over the attribution runs, measured under -X importtime


def handler_modules() -> list[str]:
    """Every ``functions/<name>/handler.py`` present now, the Track handler first."""
    found = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
    found.sort(key=lambda name: name != "track")
    return [f"functions.{name}.handler" for name in found]


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = mocked_aws_environment(dict(os.environ))
    env.pop("PYTHONPATH", None)
    # Our own interpreter with our own arguments: nothing untrusted reaches the command line.
    done = subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"python {' '.join(args[:2])} ... failed:\n{done.stderr}")
    return done


def _sample(module: str) -> tuple[float, float, int]:
    imported, clients_s, clients = _python("-c", _SAMPLE, module).stdout.split()
    return float(imported), float(clients_s), int(clients)


def measure(modules: list[str], runs: int = RUNS) -> list[ColdStart]:
    for module in modules:
        _sample(module)
    samples: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for _ in range(runs):
        for module in modules:
            samples[module].append(_sample(module))
    return [
        ColdStart(
            module=module,
            import_s=statistics.median(s[0] for s in samples[module]),
            clients_s=statistics.median(s[1] for s in samples[module]),
            clients=samples[module][0][2],
            runs=runs,
        )
        for module in modules
    ]


def _importtime(module: str) -> list[tuple[int, str, float, float]]:
    """(depth, name, self seconds, cumulative seconds) for ``module`` and every module it loaded.

    ``-X importtime`` prints a module after everything it imported, indented by depth; the module's
    imports are therefore the deeper rows just above it. Interpreter start-up is left out.
    """
    stderr = _python("-X", "importtime", "-c", f"import {module}").stderr
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, name.strip(), int(self_us) / 1e6, int(cumulative_us) / 1e6))
    end = next(i for i, row in enumerate(rows) if row[1] == module)
    start = end
    while start > 0 and rows[start - 1][0] > rows[end][0]:
        start -= 1
    return rows[start : end + 1]


def attribute(module: str, runs: int = ATTRIBUTION_RUNS) -> tuple[list[ImportShare], list[ImportShare]]:
    """Where ``module``'s import time goes: by top-level package, and by the module's direct imports."""
    by_package: dict[str, list[float]] = defaultdict(list)
    direct: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        rows = _importtime(module)
        packages: dict[str, float] = defaultdict(float)
        own_depth = rows[-1][0]
        for depth, name, self_s, cumulative_s in rows:
            packages[name.split(".")[0]] += self_s
            if depth == own_depth + 1:
                direct[name].append(cumulative_s)
        for package, seconds in packages.items():
            by_package[package].append(seconds)

    def ranked(samples: dict[str, list[float]]) -> list[ImportShare]:
        # A name missing from a run took no time in it (already imported through another path).
        shares = [
            ImportShare(name, statistics.median(s + [0.0] * (runs - len(s)))) for name, s in samples.items()
        ]
        return sorted(shares, key=lambda share: share.seconds, reverse=True)

    return ranked(by_package), ranked(direct)
