"""The ``nudge`` operator CLI."""

import json
import os
import socket
import subprocess
import sys

import pytest
from moto.server import ThreadedMotoServer

from nudge import cli, workspaces
from nudge.tracking import segments
from tests.support.track import TrackClient


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_workspace_create_prints_ids_and_keys_once(account, capsys):
    code, out, _ = run(
        capsys,
        "workspace",
        "create",
        "--name",
        "Acme",
        "--plan",
        "essentials",
        "--billing-start",
        "2026-01-15",
    )
    assert code == 0
    assert "track api key" in out and "shown only this once" in out
    [info] = workspaces.list_workspaces()
    assert info.name == "Acme" and info.billing_start == "2026-01-15" and info.site_id in out


def test_workspace_create_json_matches_the_contract_names(account, capsys):
    code, out, _ = run(capsys, "workspace", "create", "--name", "Acme", "--plan", "premium", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"workspace_id", "site_id", "track_api_key", "app_api_key"}
    assert TrackClient(data["site_id"], data["track_api_key"]).put("/api/v1/customers/u1", {}).status == 200
    assert workspaces.authenticate_app(data["app_api_key"]) == data["workspace_id"]


def test_invalid_plan_and_date_are_refused(account, capsys):
    code, _, err = run(capsys, "workspace", "create", "--name", "A", "--plan", "gold")
    assert code == 2 and "plan must be one of essentials, premium, enterprise" in err
    code, _, err = run(
        capsys, "workspace", "create", "--name", "A", "--plan", "essentials", "--billing-start", "2026-13-01"
    )
    assert code == 2 and "billing start must be a date" in err


def test_workspace_list(account, capsys):
    workspaces.create_workspace("One", "essentials")
    workspaces.create_workspace("Two", "enterprise")
    code, out, _ = run(capsys, "workspace", "list", "--json")
    assert code == 0
    assert sorted(w["name"] for w in json.loads(out)) == ["One", "Two"]
    assert all("key" not in name for w in json.loads(out) for name in w)  # keys are never listed


def test_keys_rotate(account, capsys):
    old = workspaces.create_workspace("One", "essentials")
    code, out, _ = run(capsys, "keys", "rotate", "--workspace", old.workspace_id, "--json")
    new = json.loads(out)
    assert code == 0 and new["track_api_key"] != old.track_api_key
    assert TrackClient(old.site_id, old.track_api_key).put("/api/v1/customers/u", {}).status == 401
    assert TrackClient(new["site_id"], new["track_api_key"]).put("/api/v1/customers/u", {}).status == 200


def test_rotate_unknown_workspace(account, capsys):
    code, _, err = run(capsys, "keys", "rotate", "--workspace", "nope")
    assert code == 2 and "not found" in err


def test_segment_create_manual(account, capsys):
    keys = workspaces.create_workspace("One", "essentials")
    code, out, _ = run(
        capsys, "segment", "create-manual", "--workspace", keys.workspace_id, "--name", "VIP", "--json"
    )
    assert code == 0
    segment_id = json.loads(out)["segment_id"]
    assert segments.members(keys.workspace_id, segment_id) == []


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def moto_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_the_cli_talks_to_whatever_endpoint_boto3_is_configured_for(moto_endpoint):
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "NUDGE_TABLE_PREFIX": "clitest-"}

    def nudge(*argv):
        return subprocess.run(
            [sys.executable, "-m", "nudge.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout

    nudge("tables", "create")
    created = json.loads(nudge("workspace", "create", "--name", "Remote", "--plan", "essentials", "--json"))
    listed = json.loads(nudge("workspace", "list", "--json"))
    assert [w["workspace_id"] for w in listed] == [created["workspace_id"]]
