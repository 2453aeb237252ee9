"""The ``nudge`` operator CLI."""

import json
import os
import socket
import subprocess
import sys

import pytest
from moto.server import ThreadedMotoServer

from nudge import workspaces
from nudge.tracking import segments
from nudge_tools import cli
from tests.support.track import TrackClient


@pytest.fixture(autouse=True)
def _away_from_any_local_runtime(tmp_path, monkeypatch):
    """Run from a directory with no ``.nudge/local.json``: with ``make run`` up in the repository, the
    in-process commands would otherwise point this test process's AWS environment at it."""
    monkeypatch.chdir(tmp_path)


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
    assert set(data) == {"workspace_id", "site_id", "track_api_key", "app_api_key", "cdp_api_key"}
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
            [sys.executable, "-m", "nudge_tools.cli", *argv],
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


# Where the CLI goes, and what it says when it cannot get there


def _without_aws_settings(home) -> dict[str, str]:
    """This process's environment minus every AWS and Nudge setting: a developer's fresh shell. HOME is
    ``home``, so no ~/.aws files are read either; the instance metadata service is not asked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NUDGE_"))}
    return {**env, "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true"}


def _nudge(cwd, env, *argv):
    return subprocess.run(
        [sys.executable, "-m", "nudge_tools.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _write_contract(state_dir, endpoint):
    state_dir.mkdir(parents=True)
    (state_dir / "local.json").write_text(
        json.dumps({"aws_endpoint_url": endpoint, "aws_region": "us-east-1"})
    )


def test_with_no_aws_settings_the_cli_uses_the_running_local_runtime(moto_endpoint, tmp_path):
    # What `make run` leaves in ./.nudge while it is up: the CLI needs nothing else.
    _write_contract(tmp_path / ".nudge", moto_endpoint)
    env = _without_aws_settings(tmp_path)

    assert _nudge(tmp_path, env, "tables", "create").returncode == 0
    created = _nudge(
        tmp_path, env, "workspace", "create", "--name", "Local", "--plan", "essentials", "--json"
    )
    listed = _nudge(tmp_path, env, "workspace", "list", "--json")
    elsewhere = _nudge(
        tmp_path.parent, env, "workspace", "list", "--json", "--state-dir", str(tmp_path / ".nudge")
    )

    assert (created.returncode, listed.returncode, elsewhere.returncode) == (0, 0, 0), listed.stderr
    assert json.loads(created.stdout)["workspace_id"] in [
        w["workspace_id"] for w in json.loads(listed.stdout)
    ]
    assert json.loads(elsewhere.stdout) == json.loads(listed.stdout)


def test_a_local_endpoint_needs_no_credentials(moto_endpoint, tmp_path):
    # The README's `AWS_ENDPOINT_URL=<aws_endpoint_url> nudge workspace list`, in a shell with no credentials.
    env = {**_without_aws_settings(tmp_path), "AWS_ENDPOINT_URL": moto_endpoint}

    assert _nudge(tmp_path, env, "tables", "create").returncode == 0
    created = _nudge(
        tmp_path, env, "workspace", "create", "--name", "Local", "--plan", "essentials", "--json"
    )
    listed = _nudge(tmp_path, env, "workspace", "list", "--json")

    assert (listed.returncode, listed.stderr) == (0, "")
    assert json.loads(created.stdout)["workspace_id"] in [
        w["workspace_id"] for w in json.loads(listed.stdout)
    ]


def test_missing_credentials_are_one_line(tmp_path):
    env = {**_without_aws_settings(tmp_path), "AWS_REGION": "us-east-1"}

    done = _nudge(tmp_path, env, "workspace", "list")

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "nudge: no AWS credentials found: configure them (AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY) to reach a deployment, or start the local runtime (make run) to use it"
    ]


def test_a_local_runtime_that_stopped_is_one_line(tmp_path):
    # Its local.json stays behind when it stops: nothing answers at the endpoint it names.
    endpoint = f"http://127.0.0.1:{_free_port()}"
    _write_contract(tmp_path / ".nudge", endpoint)

    done = _nudge(tmp_path, _without_aws_settings(tmp_path), "workspace", "list")

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"nudge: the local runtime at {endpoint} (from .nudge/local.json) does not answer: start it "
        "(make run), or remove that file to use AWS"
    ]


def test_nudge_demo_against_a_runtime_that_stopped_is_one_line(tmp_path, capsys):
    endpoint = f"http://127.0.0.1:{_free_port()}"
    (tmp_path / ".nudge").mkdir()
    contract = {"track_url": endpoint, "site_id": "site", "track_api_key": "key"}
    (tmp_path / ".nudge" / "local.json").write_text(json.dumps(contract))

    with pytest.raises(SystemExit) as stopped:
        cli.main(["demo", "--watch", "0"])

    assert stopped.value.code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"nudge demo: the local runtime at {endpoint} does not answer (")


def test_a_broken_contract_is_one_line(tmp_path):
    (tmp_path / ".nudge").mkdir()
    (tmp_path / ".nudge" / "local.json").write_text("{")

    done = _nudge(tmp_path, _without_aws_settings(tmp_path), "workspace", "list")

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("nudge: .nudge/local.json is not a local runtime's contract")
