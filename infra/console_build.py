"""Build the web console (``console/``) into ``console/dist`` with npm, without Docker, only when needed.

The deployed stack uploads ``console/dist`` (``infra/components/console_site.py``), and the browser tests
and ``make run`` (``make console``) serve it with ``nudge local --console``: all call ``build_console``.
``npm ci`` runs when ``node_modules`` is missing or older than the lock file, ``npm run build`` when
``dist/index.html`` is missing or older than any source, so a synth after a build (``make synth`` before
pytest, a second test session) costs a scan of the sources' times, not a build.

Only the standard library here: the browser tests import this without starting CDK's Node process.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
# What ``npm run build`` reads besides ``src/``.
_FIXED_SOURCES = ("package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json")


class ConsoleBuildError(RuntimeError):
    """npm is missing, or ``npm ci`` or ``npm run build`` failed."""


def build_console(console_dir: Path = CONSOLE_DIR) -> Path:
    """``console_dir/dist``, built first if it is missing or older than its sources."""
    dist = console_dir / "dist"
    with _one_at_a_time(console_dir):
        npm = _install(console_dir)
        index = dist / "index.html"
        if not index.exists() or _mtime(index) < _newest(sources(console_dir)):
            _npm(npm, ["run", "build"], console_dir)
    return dist


def install_dependencies(console_dir: Path = CONSOLE_DIR) -> str:
    """``npm ci`` if ``node_modules`` is missing or older than the lock file; the path of npm."""
    with _one_at_a_time(console_dir):
        return _install(console_dir)


def sources(console_dir: Path = CONSOLE_DIR) -> list[Path]:
    """Every file the build reads: the fixed ones and everything under ``src/``."""
    fixed = [console_dir / name for name in _FIXED_SOURCES]
    return fixed + [path for path in (console_dir / "src").rglob("*") if path.is_file()]


@contextmanager
def _one_at_a_time(console_dir: Path) -> Iterator[None]:
    # Test workers and a synth may ask at once, and two builds into one dist (or two npm ci into one
    # node_modules) break each other: the second waits, then finds everything fresh.
    with (console_dir / "package-lock.json").open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install(console_dir: Path) -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise ConsoleBuildError("npm is missing: install Node.js 20 (Debian: apt-get install -y nodejs npm)")
    modules = console_dir / "node_modules"
    if not modules.exists() or _mtime(modules) < _mtime(console_dir / "package-lock.json"):
        _npm(npm, ["ci", "--no-audit", "--no-fund"], console_dir)
    return npm


def _npm(npm: str, arguments: list[str], cwd: Path) -> None:
    result = subprocess.run([npm, *arguments], cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603 (fixed argv)
    if result.returncode != 0:
        said = (result.stdout + result.stderr).strip()[-3000:]
        raise ConsoleBuildError(f"npm {' '.join(arguments)} failed in {cwd}:\n{said}")


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


def _newest(paths: list[Path]) -> float:
    return max(_mtime(path) for path in paths if path.exists())


def main() -> None:
    """``make console``: build if stale, quietly (``make run`` prints its banner next)."""
    try:
        build_console()
    except ConsoleBuildError as exc:
        sys.exit(f"nudge console: {exc}")


if __name__ == "__main__":
    main()
