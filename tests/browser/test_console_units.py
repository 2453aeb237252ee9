"""The console's own unit tests (``console/src/**/*.test.ts``: the campaign builder's conversion between
canvas and definition), run by vitest through ``npm test`` so ``make test`` runs them; this module fails
with vitest's report. No browser and no runtime needed: ``npm ci`` from the committed lock file is all.
"""

from __future__ import annotations

import os
import re
import subprocess

from infra import console_build

RUN_SECONDS = 300


def test_console_unit_tests_pass() -> None:
    npm = console_build.install_dependencies()
    done = subprocess.run(
        [npm, "test", "--", "--reporter=verbose", "--color=false"],
        cwd=console_build.CONSOLE_DIR,
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
