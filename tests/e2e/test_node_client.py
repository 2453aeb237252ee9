"""Customer.io's official Node clients, unmodified, against ``nudge local``: customerio-node 5 (the Track and
App APIs) and @customerio/cdp-analytics-node (the Pipelines API).

The calls and their checks are in ``tests/node/*.test.mjs`` (node's own test runner); this module
gives them the session's runtime and fails with node's report. ``npm ci`` installs the pinned clients from
the committed lock file the first time (a clean clone, CI), so ``make test`` needs nothing installed by
hand beyond Node itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

NODE_TESTS = Path(__file__).resolve().parents[1] / "node"
INSTALL_SECONDS = 300
RUN_SECONDS = 600


CLIENTS = ("customerio-node", "@customerio/cdp-analytics-node")


def _installed() -> None:
    if all((NODE_TESTS / "node_modules" / client).is_dir() for client in CLIENTS):
        return
    npm = shutil.which("npm")
    assert npm, "npm is not on PATH: the Node client tests need Node 20+ (as make synth does)"
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=NODE_TESTS,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


def test_customerio_node_api_client_against_the_local_runtime(local):
    _installed()
    node = shutil.which("node")
    assert node, "node is not on PATH"
    env = {
        **os.environ,
        "NUDGE_URL": local.url,
        "NUDGE_SITE_ID": local.contract["site_id"],
        "NUDGE_TRACK_API_KEY": local.contract["track_api_key"],
        "NUDGE_APP_API_KEY": local.contract["app_api_key"],
        "NUDGE_CDP_API_KEY": local.contract["cdp_api_key"],
    }
    done = subprocess.run(
        [node, "--test", "--test-reporter=spec"],
        cwd=NODE_TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"node --test failed:\n{done.stdout}\n{done.stderr}"
    # A file node found no tests in also exits 0: the summary must show tests that ran and passed.
    summary = dict(re.findall(r"^\u2139 (tests|pass|fail) (\d+)$", done.stdout, re.MULTILINE))
    assert int(summary.get("tests", 0)) > 0, done.stdout
    assert summary.get("fail") == "0" and summary.get("pass") == summary["tests"], done.stdout
