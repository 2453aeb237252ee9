"""The console's build during synth (infra/console_build.py): npm runs only when the build is stale, with
a stand-in npm on PATH that records its calls (the real build is exercised by every synth and by
test_console_site). File times are set explicitly, never waited for."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from infra import console_build
from infra.console_build import ConsoleBuildError, build_console

# Records each call; `ci` makes node_modules, `run build` writes dist/index.html; FAIL=1 fails.
FAKE_NPM = """#!/bin/sh
echo "$*" >> "$NPM_CALLS"
if [ -n "$FAIL" ]; then echo "npm ERR! it broke" >&2; exit 1; fi
case "$*" in
  ci*) mkdir -p node_modules ;;
  "run build") mkdir -p dist && echo '<div id="root"></div>' > dist/index.html ;;
esac
"""


@pytest.fixture
def console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir, console_dir = tmp_path / "bin", tmp_path / "console"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(FAKE_NPM)
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    (console_dir / "src").mkdir(parents=True)
    for name in ("package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json"):
        (console_dir / name).write_text("{}")
    (console_dir / "src" / "main.tsx").write_text("export {};")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NPM_CALLS", str(tmp_path / "calls"))
    return console_dir


def calls(console: Path) -> list[str]:
    record = console.parent / "calls"
    found = record.read_text().splitlines() if record.exists() else []
    record.unlink(missing_ok=True)
    return found


def age(path: Path, seconds: float) -> None:
    """Give ``path`` a modification time ``seconds`` after a fixed instant (larger is newer)."""
    os.utime(path, (1_000_000_000 + seconds, 1_000_000_000 + seconds))


def test_a_fresh_checkout_installs_and_builds(console: Path) -> None:
    dist = build_console(console)

    assert calls(console) == ["ci --no-audit --no-fund", "run build"]
    assert (dist / "index.html").is_file()


def test_a_build_newer_than_its_sources_is_reused(console: Path) -> None:
    build_console(console)
    calls(console)

    build_console(console)

    assert calls(console) == []


def test_a_changed_source_rebuilds_without_installing(console: Path) -> None:
    build_console(console)
    calls(console)
    age(console / "dist" / "index.html", 100)
    age(console / "node_modules", 100)
    for source in console_build.sources(console):
        age(source, 50)
    age(console / "src" / "main.tsx", 200)  # edited after the build

    build_console(console)

    assert calls(console) == ["run build"]


def test_a_changed_lock_file_installs_again_and_rebuilds(console: Path) -> None:
    build_console(console)
    calls(console)
    for source in console_build.sources(console):
        age(source, 50)
    age(console / "node_modules", 100)
    age(console / "dist" / "index.html", 100)
    age(console / "package-lock.json", 200)

    build_console(console)

    assert calls(console) == ["ci --no-audit --no-fund", "run build"]


def test_a_failing_build_is_an_error_with_npms_words(console: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIL", "1")

    with pytest.raises(ConsoleBuildError, match="npm ci --no-audit --no-fund failed") as raised:
        build_console(console)

    assert "npm ERR! it broke" in str(raised.value)


def test_without_npm_the_error_says_how_to_get_it(console: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(console))  # no npm there

    with pytest.raises(ConsoleBuildError, match=r"npm is missing: install Node\.js"):
        build_console(console)
