"""``nudge user add``: a workspace member with a role, and their console user if new (the password printed
once). In-process under moto; tests/e2e runs it against the local runtime through its local.json."""

from __future__ import annotations

import json

import pytest

from nudge.console_auth import members
from nudge.console_auth.users import CLIENT_ENV, POOL_ENV
from nudge_tools import cli
from tests.support.console import ConsoleClient, user_pool


@pytest.fixture(autouse=True)
def _away_from_any_local_runtime(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .nudge/local.json here: the mocked account is the target


@pytest.fixture
def pool(account, monkeypatch):
    with user_pool(monkeypatch):
        yield


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_user_add_creates_the_user_and_prints_the_password_once(pool, ws, capsys):
    code, out, _ = run(
        capsys, "user", "add", "--email", "Ann@Acme.test", "--workspace", ws, "--role", "author"
    )

    assert code == 0
    assert f"ann@acme.test is author in workspace {ws}." in out and "shown only this once" in out
    assert "temporary password" in out
    password = out.split("password", 1)[1].split()[0]
    console = ConsoleClient(workspace=ws)
    assert console.first_sign_in("ann@acme.test", password).status == 200
    assert console.get("/v1/session").json["session"]["workspaces"] == [
        {"id": ws, "name": "Acme", "role": "author"}
    ]


def test_user_add_again_changes_the_role_and_keeps_a_chosen_password(pool, ws, capsys):
    _, first, _ = run(
        capsys, "user", "add", "--email", "ann@acme.test", "--workspace", ws, "--role", "viewer", "--json"
    )
    assert ConsoleClient().first_sign_in("ann@acme.test", json.loads(first)["password"]).status == 200

    code, again, _ = run(
        capsys, "user", "add", "--email", "ann@acme.test", "--workspace", ws, "--role", "admin", "--json"
    )

    assert code == 0
    assert json.loads(again) == {
        "email": "ann@acme.test",
        "workspace_id": ws,
        "role": "admin",
        "password": None,
    }
    assert members.role_in("ann@acme.test", ws).label == "admin"


def test_user_add_again_before_the_first_sign_in_issues_a_new_temporary_password(pool, ws, capsys):
    # The admin lost the first answer (or the user the password): adding again makes good.
    _, first, _ = run(
        capsys, "user", "add", "--email", "ann@acme.test", "--workspace", ws, "--role", "viewer", "--json"
    )
    _, again, _ = run(
        capsys, "user", "add", "--email", "ann@acme.test", "--workspace", ws, "--role", "viewer", "--json"
    )

    old, new = json.loads(first)["password"], json.loads(again)["password"]
    assert new and new != old
    assert ConsoleClient().first_sign_in("ann@acme.test", old).status == 401
    assert ConsoleClient().first_sign_in("ann@acme.test", new).status == 200


def test_user_add_refuses_an_unknown_workspace_or_role(pool, ws, capsys):
    code, _, err = run(
        capsys, "user", "add", "--email", "ann@acme.test", "--workspace", "nope", "--role", "admin"
    )
    assert code == 2 and "workspace nope not found" in err
    with pytest.raises(SystemExit):  # argparse: the role is one of the three
        cli.main(["user", "add", "--email", "ann@acme.test", "--workspace", ws, "--role", "owner"])


def test_user_add_without_a_user_pool_says_how_to_name_one(account, ws, capsys, monkeypatch):
    monkeypatch.delenv(POOL_ENV, raising=False)
    monkeypatch.delenv(CLIENT_ENV, raising=False)

    code, _, err = run(
        capsys, "user", "add", "--email", "ann@acme.test", "--workspace", ws, "--role", "admin"
    )

    assert code == 2 and POOL_ENV in err and err.count("\n") == 1
