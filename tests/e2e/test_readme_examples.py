"""The README's segment and campaign examples, run as they are written against a ``nudge local`` of their
own (a fresh workspace: the examples name people and events other tests also use), so the manual cannot
drift from the product.

A block is marked in README.md by the comment line ``<!-- README example: <name> ... -->`` just above its
fence. It runs under ``bash -euo pipefail`` with ``curl`` failing on any 4xx or 5xx, so a request the
product refuses fails the test with the answer; the test then checks the block's outcome through the API.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest

from tests.support.local_runtime import Runtime, start

README = Path(__file__).resolve().parents[2] / "README.md"
MARKED = re.compile(r"^<!-- README example: (\w+) [^\n]*-->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Every curl of a block fails on an HTTP error, with the answer on stderr.
PRELUDE = 'curl() { command curl --fail-with-body --show-error "$@"; }\n'
RUN_SECONDS = 120


def examples() -> dict[str, str]:
    return {name: script for name, script in MARKED.findall(README.read_text())}


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    started = start(tmp_path_factory.mktemp("readme"), "--time-scale", "60")
    yield started
    started.stop()


def run(runtime: Runtime, name: str) -> str:
    assert shutil.which("jq"), "the README's examples read ids with jq: install it"
    env = {
        **os.environ,
        "URL": runtime.url,
        "SITE_ID": runtime.contract["site_id"],
        "TRACK_API_KEY": runtime.contract["track_api_key"],
        "APP_API_KEY": runtime.contract["app_api_key"],
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", PRELUDE + examples()[name]],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"README example {name!r} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_marks_its_examples():
    assert set(examples()) == {"segments", "campaigns", "liquid", "reporting_webhooks", "subscriptions"}


def test_the_line_that_sets_the_variables_reads_them_from_local_json(runtime):
    variables = re.compile(r"read the ids out of the answers:\n\n```sh\n(.*?)^```$", re.S | re.M)
    found = variables.search(README.read_text())
    assert found is not None, "the README's line setting URL, SITE_ID and the keys is gone"
    contract = runtime.contract
    script = found.group(1).replace(".nudge/local.json", str(runtime.state_dir / "local.json"))
    script += 'env | grep -E "^(URL|SITE_ID|TRACK_API_KEY|APP_API_KEY|CDP_API_KEY)=" | sort\n'

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"APP_API_KEY={contract['app_api_key']}",
        f"CDP_API_KEY={contract['cdp_api_key']}",
        f"SITE_ID={contract['site_id']}",
        f"TRACK_API_KEY={contract['track_api_key']}",
        f"URL={contract['track_url']}",
    ]


def test_the_segment_example(runtime):
    printed = run(runtime, "segments")

    segments = {s["name"]: s for s in runtime.app("GET", "/v1/segments").json()["segments"]}
    churned, pros = segments["Churned"], segments["Engaged pros"]
    assert (churned["type"], pros["type"]) == ("manual", "dynamic")
    assert pros["conditions"]["and"][2] == {"not": {"segment": {"id": str(churned["id"]), "operator": "in"}}}
    assert '"identifiers"' in printed  # the membership page it ends with


def test_the_reporting_webhooks_example(runtime):
    printed = run(runtime, "reporting_webhooks")

    [webhook] = runtime.app("GET", "/v1/reporting_webhooks").json()["reporting_webhooks"]
    assert webhook["name"] == "warehouse" and webhook["disabled"] is True
    assert webhook["events"][:1] == ["customer_unsubscribed"] and "email_bounced" in webhook["events"]
    assert '"reporting_webhooks":[' in printed and "signing_key" not in printed  # shown by the create only


def test_the_campaign_example(runtime):
    printed = run(runtime, "campaigns")

    assert '"subject":"Welcome, Ann"' in printed  # the archived message, as curl printed it
    assert "You are on the pro plan." in printed
    [campaign] = [
        c for c in runtime.app("GET", "/v1/campaigns").json()["campaigns"] if c["name"] == "Welcome"
    ]
    assert campaign["state"] == "active"
    outbox = runtime.get("/_local/outbox").json()
    assert [m["subject"] for m in outbox if m["recipient"] == "ann@example.com"] == ["Welcome, Ann"]


def test_the_liquid_example(runtime):
    # After the campaign example, as in the README: its send has just read the workspace's (then no)
    # snippets, and this example's new template, saved since, reads them again.
    run(runtime, "liquid")

    def receipt():
        outbox = runtime.get("/_local/outbox").json()
        return next((m for m in outbox if m["recipient"] == "bea@example.com"), None)

    message = runtime.wait_until(receipt, timeout=15)
    assert message["subject"] == "Bea, order A-77 is confirmed"
    html = unescape(message["html"])
    assert html.startswith("<html><body><ul><li>3 x SOCKS: $36.75</li><li>1 x HAT: $20</li></ul>")
    assert "<p>Total: $56.75</p><p>Questions? Just reply, bea.</p>" in html  # the layout's snippet


def test_the_subscriptions_example(runtime):
    # After the campaign example, whose ann it subscribes (its outbox check sees no message of this one).
    printed = run(runtime, "subscriptions")

    topics = {t["name"]: t for t in runtime.app("GET", "/v1/subscription_topics").json()["topics"]}
    assert (topics["Offers"]["subscribed_by_default"], topics["Offers"]["description"]) == (False, "Deals")
    customer = runtime.app("GET", "/v1/customers/ann/subscription_preferences").json()["customer"]
    state = {t["name"]: (t["subscribed"], t["chosen"]) for t in customer["topics"]}
    assert state["Offers"] == (True, True) and state["Product news"] == (True, False)
    assert '"url":"' in printed and "/t/s/" in printed  # the centre link it ends with
