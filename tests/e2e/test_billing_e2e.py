"""The seed's worked example in the local runtime: people and objects tracked over HTTP, metered from the
streams, billed by the CLI against the runtime's AWS endpoint, the invoice read from the App API."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import requests


def cli(local, *argv):
    env = {
        "AWS_ENDPOINT_URL": local.contract["aws_endpoint_url"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "nudge_tools.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_the_seeds_worked_example_end_to_end(local):
    today = datetime.fromtimestamp(local.status()["now"], UTC).date()
    start = today - timedelta(days=1)  # a period that began yesterday and runs for a month
    keys = json.loads(
        cli(
            local,
            "workspace",
            "create",
            "--name",
            "Worked example",
            "--plan",
            "essentials",
            "--billing-start",
            start.isoformat(),
            "--json",
        )
    )
    auth = (keys["site_id"], keys["track_api_key"])

    def batch(ops):
        for first in range(0, len(ops), 100):
            answer = requests.post(
                f"{local.url}/api/v2/batch", json={"batch": ops[first : first + 100]}, auth=auth, timeout=60
            )
            assert answer.status_code == 200, answer.text

    person = [{"type": "person", "identifiers": {"id": f"p{i}"}} for i in range(7000)]
    course = [
        {"type": "object", "identifiers": {"object_type_id": "course", "object_id": f"c{i}"}}
        for i in range(600)
    ]
    batch([{**p, "action": "identify"} for p in person])
    batch([{**o, "action": "identify"} for o in course])
    batch([{**p, "action": "delete"} for p in person[:50]])
    batch([{**o, "action": "delete"} for o in course[:25]])

    app = {"authorization": f"Bearer {keys['app_api_key']}"}

    def metered():
        answer = requests.get(f"{local.url}/v1/billing/usage", headers=app, timeout=30)
        if answer.status_code == 503:
            return False  # "retry": the embedded moto can trip over its own concurrent writes
        usage = answer.json()["usage"]
        return usage["people"]["deleted"] == 50 and usage["objects"]["deleted"] == 25 and usage

    usage = local.wait_until(metered, timeout=600)
    assert (usage["people"]["billable"], usage["objects"]["billable"]) == (7000, 600)

    invoice_date = json.loads(cli(local, "billing", "usage", "--workspace", keys["workspace_id"]))["period"][
        "end"
    ]
    ran = json.loads(cli(local, "billing", "run", "--at", invoice_date, "--json"))
    closing = f"inv_{keys['workspace_id']}_{start.isoformat()}"
    assert closing in ran["invoices"]
    invoice = requests.get(f"{local.url}/v1/billing/invoices/{closing}", headers=app, timeout=30).json()[
        "invoice"
    ]
    assert (invoice["usage"]["people"]["over"], invoice["usage"]["objects"]["over"]) == (2000, 100)
    assert {line["amount_cents"] for line in invoice["lines"]} == {100_00, 20_00, 1_00}
    next_period = requests.get(f"{local.url}/v1/billing/usage", headers=app, timeout=30).json()["usage"]
    assert (next_period["people"]["opening"], next_period["objects"]["opening"]) == (6950, 575)


def test_the_cli_needs_no_aws_settings_while_the_runtime_is_up(local):
    # A fresh shell: no AWS variables, no ~/.aws; the runtime's local.json says where its AWS is.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(local.state_dir), "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nudge_tools.cli",
            "workspace",
            "list",
            "--json",
            "--state-dir",
            str(local.state_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert local.contract["workspace_id"] in [w["workspace_id"] for w in json.loads(done.stdout)]
