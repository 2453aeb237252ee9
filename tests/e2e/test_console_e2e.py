"""The console's sign-in against ``nudge local`` over real HTTP: the admin a first start creates (its
credentials in local.json), a member added with ``nudge user add`` through local.json who replaces their
temporary password at their first sign-in, and both kept across a restart."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.local_runtime import Runtime, environment, start


def _sign_in(local: Runtime, email: str, password: str) -> requests.Session:
    browser = requests.Session()
    answer = browser.post(local.url + "/v1/session", json={"email": email, "password": password}, timeout=10)
    assert answer.status_code == 200, answer.text
    return browser


def _first_sign_in(local: Runtime, email: str, temporary: str, chosen: str) -> requests.Session:
    browser = requests.Session()
    body = {"email": email, "password": temporary, "new_password": chosen}
    answer = browser.post(local.url + "/v1/session/password", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return browser


def _user_add(local: Runtime, email: str, role: str) -> str:
    argv = ["user", "add", "--state-dir", str(local.state_dir), "--json", "--email", email, "--role", role]
    done = subprocess.run(
        [sys.executable, "-m", "nudge_tools.cli", *argv, "--workspace", local.contract["workspace_id"]],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(),  # no AWS or Nudge settings: local.json is what points it at the runtime
        cwd=Path(__file__).parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["password"])


def test_local_json_names_the_console_and_its_admin(local):
    assert local.contract["console_url"] == f"http://127.0.0.1:{local.port}/console/"
    assert local.contract["console_email"] == "admin@nudge.local"
    assert len(local.contract["console_password"]) >= 12
    # The console's line comes first, then the sign-in.
    first, second = local.banner.splitlines()[:2]
    assert local.contract["console_url"] in first
    assert local.contract["console_password"] in second


def test_the_admin_signs_in_over_http_and_reads_the_workspace(local):
    browser = _sign_in(local, local.contract["console_email"], local.contract["console_password"])

    [cookie] = list(browser.cookies)
    assert cookie.name == "nudge_session" and not cookie.secure  # plain http: not Secure
    assert cookie.has_nonstandard_attr("HttpOnly")
    workspace = {"x-nudge-workspace": local.contract["workspace_id"]}
    assert browser.get(local.url + "/v1/api_keys", headers=workspace, timeout=10).status_code == 200
    assert browser.get(local.url + "/v1/segments", timeout=10).status_code == 400  # no workspace header

    assert browser.delete(local.url + "/v1/session", timeout=10).status_code == 204
    assert browser.get(local.url + "/v1/session", timeout=10).status_code == 401


def test_a_wrong_password_is_refused_over_http(local):
    answer = requests.post(
        local.url + "/v1/session",
        json={"email": local.contract["console_email"], "password": "Wrong-password-1"},
        timeout=10,
    )

    assert answer.status_code == 401
    assert answer.json() == {"errors": [{"detail": "wrong email or password", "status": "401"}]}
    assert "set-cookie" not in answer.headers


def test_sign_in_reads_only_json(local):
    answer = requests.post(
        local.url + "/v1/session",
        data={"email": local.contract["console_email"], "password": local.contract["console_password"]},
        timeout=10,
    )

    assert answer.status_code == 415 and "set-cookie" not in answer.headers


def test_a_user_added_with_the_cli_chooses_a_password_and_is_held_to_their_role(local):
    temporary = _user_add(local, "viewer@acme.test", "viewer")
    refused = requests.post(
        local.url + "/v1/session", json={"email": "viewer@acme.test", "password": temporary}, timeout=10
    )
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "new_password_required"

    browser = _first_sign_in(local, "viewer@acme.test", temporary, "Viewer-chose-1")

    workspace = {"x-nudge-workspace": local.contract["workspace_id"]}
    assert browser.get(local.url + "/v1/segments", headers=workspace, timeout=10).status_code == 200
    refused = browser.post(
        local.url + "/v1/segments", json={"segment": {"name": "x"}}, headers=workspace, timeout=10
    )
    assert refused.status_code == 403


def test_a_restart_keeps_the_console_users(tmp_path):
    runtime = start(tmp_path, "--no-demo")
    try:
        temporary = _user_add(runtime, "author@acme.test", "author")
        _first_sign_in(runtime, "author@acme.test", temporary, "Author-chose-1")
        admin = (runtime.contract["console_email"], runtime.contract["console_password"])
    finally:
        runtime.stop()

    again = start(tmp_path, "--no-demo")
    try:
        assert (again.contract["console_email"], again.contract["console_password"]) == admin
        _sign_in(again, *admin)
        browser = _sign_in(again, "author@acme.test", "Author-chose-1")
        session = browser.get(again.url + "/v1/session", timeout=10).json()["session"]
        assert session["workspaces"][0]["role"] == "author"
    finally:
        again.stop()
