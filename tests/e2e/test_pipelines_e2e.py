"""Customer.io's official Pipelines client for Python (customerio-cdp-analytics), unmodified, against
``nudge local`` over real HTTP: sync mode and async mode, people and events landing, a campaign started
by a tracked event, and the client's own handling of Nudge's answers. (The Node client's run is
tests/node/pipelines.test.mjs, through tests/e2e/test_node_client.py.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from customerio import analytics
from customerio.analytics.request import APIError

from tests.support.local_runtime import Runtime, start


def _attributes(local: Any, person: str) -> dict[str, Any] | None:
    answer = local.app("GET", f"/v1/customers/{person}/attributes")
    return answer.json()["customer"]["attributes"] if answer.status_code == 200 else None


def _activities(local: Any, person: str) -> list[dict[str, Any]]:
    answer = local.app("GET", f"/v1/customers/{person}/activities?limit=100")
    return answer.json()["activities"] if answer.status_code == 200 else []


def test_sync_mode_lands_people_events_objects_and_starts_a_campaign(local):
    person = f"pl-{uuid.uuid4().hex[:8]}"
    client = analytics.Client(local.contract["cdp_api_key"], host=local.url, sync_mode=True, gzip=True)

    client.identify(person, {"email": f"{person}@example.com", "first_name": "Pia", "plan": "pro"})
    client.track(person, "order_placed", {"order_id": "P-1", "total": "$9.00"})  # the demo's receipt campaign
    client.page(person, "Docs", "Pricing", {"url": "https://shop.example/pricing"})
    client.screen(person, "App", "Home")
    client.group(person, "acme", {"name": "Acme"})

    assert _attributes(local, person)["plan"] == "pro"
    local.wait_until(
        lambda: (
            {("event", "order_placed"), ("page", "https://shop.example/pricing"), ("screen", "Home")}
            <= {(a["type"], a["name"]) for a in _activities(local, person)}
        ),
        timeout=30,
    )
    # "Order confirmation" (the demo's) sends on every order_placed: the event reached the campaigns.
    receipt = local.wait_until(
        lambda: [m for m in local.get("/_local/outbox").json() if m["recipient"] == f"{person}@example.com"],
        timeout=60,
    )
    assert receipt


def test_async_mode_batches_calls_in_the_background(local):
    person = f"pl-{uuid.uuid4().hex[:8]}"
    errors: list[Exception] = []
    client = analytics.Client(
        local.contract["cdp_api_key"], host=local.url, on_error=lambda error, batch: errors.append(error)
    )
    client.identify(person, {"plan": "free"}, anonymous_id=f"{person}-anon")
    for n in range(30):
        client.track(person, "viewed", {"n": n})
    client.shutdown()  # flush, then stop the consumer thread

    assert errors == []
    assert _attributes(local, person)["plan"] == "free"
    local.wait_until(
        lambda: sum(1 for a in _activities(local, person) if a["name"] == "viewed") == 30, timeout=30
    )


def test_a_wrong_key_is_the_clients_api_error_with_code_and_message(local):
    client = analytics.Client("sk_us_nudge_wrong", host=local.url, sync_mode=True, max_retries=0)

    with pytest.raises(APIError) as raised:
        client.track("ann", "purchase")

    assert (raised.value.status, raised.value.code) == (401, "unauthorized")


def test_strict_mode_over_http(local):
    auth = (local.contract["cdp_api_key"], "")
    body = {"batch": [{"type": "track", "userId": "ann"}]}  # no event name
    permissive = requests.post(f"{local.url}/v1/batch", json=body, auth=auth, timeout=10)
    strict = requests.post(
        f"{local.url}/v1/batch", json=body, auth=auth, headers={"X-Strict-Mode": "1"}, timeout=10
    )

    assert (permissive.status_code, permissive.json()) == (200, {"success": True})
    assert strict.status_code == 400 and strict.json()["errors"][0]["field"] == "name"


README = Path(__file__).resolve().parents[2] / "README.md"
README_EXAMPLE = re.compile(
    r"^<!-- README example \(python\): pipelines[^\n]*-->\n```python\n(.*?)^```\n\n```sh\n(.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A runtime of its own: the README's example names people ("ann") that other tests use too."""
    runtime = start(tmp_path_factory.mktemp("pipelines-readme"), "--no-demo")
    yield runtime
    runtime.stop()


def test_the_readmes_pipelines_examples_run_as_written(fresh):
    local = fresh
    python_example, curl_example = README_EXAMPLE.search(README.read_text()).groups()
    env = {**os.environ, "URL": local.url, "CDP_API_KEY": local.contract["cdp_api_key"]}
    ran = subprocess.run(
        [sys.executable, "-c", python_example],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    curl = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", curl_example.replace("curl ", "curl --fail-with-body -sS ", 1)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert curl.returncode == 0 and '"success":true' in curl.stdout, curl.stdout + curl.stderr

    ann = _attributes(local, "ann")
    assert ann["plan"] == "pro" and ann["email"] == "ann@example.com"
    local.wait_until(
        lambda: (
            {"order_placed", "purchase", "https://shop.example/pricing"}
            <= {a["name"] for a in _activities(local, "ann")}
        ),
        timeout=30,
    )
