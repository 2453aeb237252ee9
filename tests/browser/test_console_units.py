"""The console's own unit tests (``console/src/**/*.test.ts``: the campaign builder's conversion between
canvas and definition), run by vitest through ``npm test`` so ``make test`` runs them; this module fails
with vitest's report. No browser and no runtime needed: ``npm ci`` from the committed lock file is all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.browser.conftest import CONSOLE

RUN_SECONDS = 300


def test_console_unit_tests_pass() -> None:
    npm = shutil.which("npm")
    assert npm, "npm is not on PATH: the console's tests need Node.js 20 (as make synth does)"
    modules = CONSOLE / "node_modules"
    if not modules.exists() or modules.stat().st_mtime < (CONSOLE / "package-lock.json").stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CONSOLE, check=True)
    done = subprocess.run(
        [npm, "test", "--", "--reporter=verbose", "--color=false"],
        cwd=CONSOLE,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
        env={**os.environ, "CI": "1", "NO_COLOR": "1"},
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, f"npm test failed:\n{report}"
    # vitest exits 0 with no test files only when told to; still, the summary must show tests that passed.
    passed = re.search(r"Tests\s+(\d+) passed", report)
    assert passed and int(passed.group(1)) > 0, report
    assert not re.search(r"\d+ failed", report), report
