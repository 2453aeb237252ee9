"""Cold start of each Lambda handler: the module import, timed in a fresh Python process.

Each sample is a new interpreter that imports one handler module and reports, with ``perf_counter``:
the import (which builds the resolver and registers the routes, as a Lambda init does), then the
construction of the botocore DynamoDB clients PynamoDB would otherwise build during the first request
(one per table model; nothing is sent). Samples of all modules are interleaved so that machine noise
spreads evenly, after one untimed run each that writes the bytecode cache (even where the environment
says ``PYTHONDONTWRITEBYTECODE``, as this machine's does: the deployed assets ship bytecode,
``infra/build.py``).

Each module is also imported *as the assets shipped before they carried bytecode*: Lambda's code and
layer folders are read-only, so every module of the function, the Nudge layer and the dependency layer was
compiled from source at every cold start (the runtime's own Python and SDK have their bytecode). A sample
in that mode makes the import system find no bytecode under those folders (``SOURCE_ONLY``) and write none.

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
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.environment import mocked_aws_environment

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "bench.baseline_handler"
# The baseline plus one PynamoDB model: what any handler that stores in DynamoDB through PynamoDB pays.
FLOOR = "bench.baseline_pynamodb_handler"
RUNS = 9
ATTRIBUTION_RUNS = 5

# The folders whose modules a sample compiles from source, os.pathsep-separated (a folder ends in os.sep).
_SOURCE_ONLY = "NUDGE_BENCH_SOURCE_ONLY"
_SAMPLE = f"""
import importlib, os, sys, time
roots = tuple(filter(None, os.environ.get("{_SOURCE_ONLY}", "").split(os.pathsep)))
if roots:
    external = sys.modules["_frozen_importlib_external"]
    cached = external.cache_from_source
    def no_bytecode_under_roots(path, *args, **kwargs):
        if path.startswith(roots):
            raise NotImplementedError  # the loader then compiles the source and writes nothing
        return cached(path, *args, **kwargs)
    external.cache_from_source = no_bytecode_under_roots
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
    import_s: float  # median, bytecode shipped
    source_import_s: float  # median, the shipped folders compiled from source (the assets before bytecode)
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


def shipped_roots() -> list[str]:
    """The folders the Lambda assets ship: the functions, the Nudge layer, the dependency layer's
    distributions (the project's Lambda requirements and theirs, minus what the runtime provides), and
    this bench package (the baseline handlers stand for a function's own code)."""
    from infra.build import lambda_requirements
    from infra.config import RUNTIME_PROVIDED_DISTRIBUTIONS

    roots = {ROOT / "functions", ROOT / "layers" / "nudge", ROOT / "bench"}
    pending = [Requirement(line) for line in lambda_requirements()]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen or name in RUNTIME_PROVIDED_DISTRIBUTIONS:
            continue
        seen.add(name)
        distribution = metadata.distribution(name)
        for line in distribution.requires or []:
            needed = Requirement(line)
            extras = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                pending.append(needed)
        # A package's folder, or a module that is one file (typing_extensions.py).
        tops = {
            file.parts[0] for file in distribution.files or [] if len(file.parts) > 1 or file.suffix == ".py"
        }
        roots |= {
            Path(str(distribution.locate_file(top)))
            for top in tops
            if not top.endswith((".dist-info", ".data", ".libs")) and top not in ("..", "__pycache__")
        }
    return sorted(str(root) + os.sep if root.is_dir() else str(root) for root in roots)


def _python(*args: str, source_only: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = mocked_aws_environment(dict(os.environ))
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes the bytecode the assets ship
    if source_only:
        env[_SOURCE_ONLY] = os.pathsep.join(source_only)
    # Our own interpreter with our own arguments: nothing untrusted reaches the command line.
    done = subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"python {' '.join(args[:2])} ... failed:\n{done.stderr}")
    return done


def _sample(module: str, source_only: list[str] | None = None) -> tuple[float, float, int]:
    imported, clients_s, clients = _python("-c", _SAMPLE, module, source_only=source_only).stdout.split()
    return float(imported), float(clients_s), int(clients)


def measure(modules: list[str], runs: int = RUNS) -> list[ColdStart]:
    roots = shipped_roots()
    for module in modules:
        _sample(module)
    samples: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    from_source: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for module in modules:
            samples[module].append(_sample(module))
            from_source[module].append(_sample(module, source_only=roots)[0])
    return [
        ColdStart(
            module=module,
            import_s=statistics.median(s[0] for s in samples[module]),
            source_import_s=statistics.median(from_source[module]),
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
