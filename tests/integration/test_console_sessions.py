"""The web console's sign-in, sessions and roles on the App API: Cognito (moto) checks passwords, a session
cookie carries the user, ``X-Nudge-Workspace`` names the workspace, and each route's least role is
enforced in one place for every route. Real handler under moto."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from nudge import workspaces
from nudge.api.routes import ROUTES
from nudge.console_auth import members, sessions
from nudge.model import ConsoleSession
from nudge.roles import Role
from tests.support.console import ConsoleClient, cookie_value, set_cookies, user_pool
from tests.support.track import AppClient

Login = Callable[[str], ConsoleClient]


@pytest.fixture
def pool(account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with user_pool(monkeypatch):
        yield


@pytest.fixture
def login(pool: None, ws: str) -> Login:
    """A console user with ``role`` in the workspace, signed in, acting on it."""

    def signed_in(role: str) -> ConsoleClient:
        email = f"{role}@acme.test"
        added = members.add(ws, email, role)
        assert added.password is not None
        client = ConsoleClient(workspace=ws)
        assert client.sign_in(email, added.password).status == 200
        return client

    return signed_in


def error(answer, status: int) -> str:
    assert answer.status == status, (answer.status, answer.raw)
    [only] = answer.json["errors"]
    assert only["status"] == str(status)
    return only["detail"]


# --- sign-in -----------------------------------------------------------------------------------------


def test_signing_in_sets_an_http_only_strict_cookie_and_lists_the_workspaces(pool, ws):
    password = members.add(ws, "Ann@Acme.test", "author").password
    assert password is not None

    answer = ConsoleClient().sign_in("ann@acme.test", password)

    assert answer.status == 200, answer.json
    assert answer.json == {
        "session": {"email": "ann@acme.test", "workspaces": [{"id": ws, "name": "Acme", "role": "author"}]}
    }
    [cookie] = set_cookies(answer)
    attributes = [a.strip() for a in cookie.split(";")]
    assert attributes[0].startswith("nudge_session=") and len(attributes[0]) > 40
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Secure"} <= set(attributes)
    assert f"Max-Age={sessions.LIFETIME_SECONDS}" in attributes
    assert cookie_value(answer) not in answer.raw.decode()  # the token is in the cookie only


def test_over_plain_http_the_cookie_is_not_secure(pool, ws):
    password = members.add(ws, "ann@acme.test", "viewer").password
    assert password is not None

    answer = ConsoleClient().sign_in("ann@acme.test", password, headers={"x-forwarded-proto": "http"})

    [cookie] = set_cookies(answer)
    assert "Secure" not in [a.strip() for a in cookie.split(";")]


def test_a_wrong_password_or_unknown_email_is_the_same_401(pool, ws):
    members.add(ws, "ann@acme.test", "admin")

    wrong = ConsoleClient().sign_in("ann@acme.test", "Not-the-password-1")
    unknown = ConsoleClient().sign_in("nobody@acme.test", "Not-the-password-1")

    assert error(wrong, 401) == error(unknown, 401) == "wrong email or password"
    assert set_cookies(wrong) == []


def test_sign_in_without_an_email_or_password_names_the_field(pool):
    answer = ConsoleClient().post("/v1/session", {"email": "ann@acme.test"})

    assert error(answer, 400) == "password must be a non-empty string"
    assert answer.json["errors"][0]["source"]["pointer"] == "/password"


def test_get_session_answers_the_same_body_for_a_live_session_and_401_without(login, ws):
    console = login("viewer")

    assert console.get("/v1/session").json["session"]["workspaces"][0]["role"] == "viewer"
    error(ConsoleClient().get("/v1/session"), 401)


# --- a session on the App API ------------------------------------------------------------------------


def test_a_session_reads_the_workspace_it_names(login):
    console = login("viewer")

    answer = console.get("/v1/segments")

    assert answer.status == 200, answer.json


def test_a_console_request_without_the_workspace_header_is_400(login):
    console = login("admin")
    console.workspace = None

    assert "X-Nudge-Workspace" in error(console.get("/v1/segments"), 400)


def test_a_workspace_the_user_is_not_a_member_of_is_403(login):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01").workspace_id
    console = login("admin")

    console.workspace = other
    assert "not a member" in error(console.get("/v1/segments"), 403)
    console.workspace = "0" * 16  # no such workspace at all
    error(console.get("/v1/segments"), 403)


def test_a_forged_token_is_401(pool, ws):
    console = ConsoleClient(token="forged-" + "x" * 36, workspace=ws)

    error(console.get("/v1/segments"), 401)
    error(console.get("/v1/session"), 401)


def test_an_expired_session_is_401(login):
    console = login("admin")
    item = next(iter(ConsoleSession.scan()))
    item.update(actions=[ConsoleSession.ends_at.set(int(item.created_at) - 1)])

    assert "expired" in error(console.get("/v1/segments"), 401)


def test_an_idle_session_expires_and_a_used_one_is_renewed(login):
    console = login("admin")
    item = next(iter(ConsoleSession.scan()))
    stale = int(item.renewed_at) - sessions.RENEW_SECONDS - 1
    item.update(actions=[ConsoleSession.renewed_at.set(stale)])

    assert console.get("/v1/segments").status == 200
    assert int(ConsoleSession.get(item.pk, item.sk).renewed_at) > stale  # renewed by that use

    item.update(actions=[ConsoleSession.renewed_at.set(int(item.created_at) - sessions.IDLE_SECONDS)])
    error(console.get("/v1/segments"), 401)


def test_signing_out_ends_the_session_and_clears_the_cookie(login):
    console = login("admin")
    token = console.token

    answer = console.delete("/v1/session")

    assert answer.status == 204
    [cleared] = set_cookies(answer)
    assert cleared.startswith("nudge_session=;") and "Max-Age=0" in cleared
    stale = ConsoleClient(token=token, workspace=console.workspace)
    error(stale.get("/v1/segments"), 401)
    error(stale.get("/v1/session"), 401)


# --- roles ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/segments", {"segment": {"name": "VIP"}}),
        ("PUT", "/v1/segments/1", {"segment": {"name": "VIP"}}),
        ("DELETE", "/v1/segments/1", None),
        ("POST", "/v1/api_keys", {"type": "app", "name": "ci"}),
        ("POST", "/v1/templates", {"name": "t"}),
        ("PUT", "/v1/settings/delivery", {"from": "a@b.test"}),
    ],
)
def test_a_viewer_cannot_change_anything(login, method, path, body):
    viewer = login("viewer")

    answer = viewer.request(method, path, body)

    assert re.match(r"your role \(viewer\) cannot ", error(answer, 403))


def test_an_author_changes_content_but_not_keys_or_members(login):
    author = login("author")

    assert author.post("/v1/segments", {"segment": {"name": "VIP"}}).status == 200
    assert "your role (author) cannot" in error(author.get("/v1/api_keys"), 403)
    error(author.post("/v1/api_keys", {"type": "app", "name": "ci"}), 403)
    error(author.get("/v1/members"), 403)
    error(author.post("/v1/members", {"email": "bob@acme.test", "role": "viewer"}), 403)
    error(author.put("/v1/settings/delivery", {"from": "a@b.test"}), 403)


def test_only_an_admin_reads_the_webhook_signing_key(login):
    # With it anyone could sign requests to the customer's own webhook endpoints as Nudge.
    seen = {role: login(role).get("/v1/settings/delivery") for role in ("viewer", "author", "admin")}

    assert all(answer.status == 200 for answer in seen.values())
    assert seen["viewer"].json["delivery"]["webhook_signing_key"] is None
    assert seen["author"].json["delivery"]["webhook_signing_key"] is None
    assert seen["admin"].json["delivery"]["webhook_signing_key"]


def test_an_admin_manages_keys_and_members(login):
    admin = login("admin")

    created = admin.post("/v1/api_keys", {"type": "app", "name": "ci"})
    assert created.status == 200, created.json
    # A console session uses no key, so it may revoke any (the key-in-use rule is for Bearer requests).
    assert admin.delete(f"/v1/api_keys/{created.json['api_key']['id']}").status == 204
    added = admin.post("/v1/members", {"email": "bob@acme.test", "role": "viewer"})
    assert added.status == 200, added.json
    assert added.json["member"]["role"] == "viewer" and added.json["password"]
    emails = [m["email"] for m in admin.get("/v1/members").json["members"]]
    assert emails == ["admin@acme.test", "bob@acme.test"]


def test_a_member_added_in_the_console_signs_in_with_the_password_shown_once(login, ws):
    admin = login("admin")
    added = admin.post("/v1/members", {"email": "bob@acme.test", "role": "author"}).json

    bob = ConsoleClient(workspace=ws)
    assert bob.sign_in("bob@acme.test", added["password"]).status == 200
    again = admin.post("/v1/members", {"email": "bob@acme.test", "role": "viewer"}).json
    assert again["password"] is None  # an existing user keeps their password
    assert bob.get("/v1/session").json["session"]["workspaces"][0]["role"] == "viewer"


def test_changing_and_removing_a_member_takes_effect_on_their_next_request(login):
    admin = login("admin")
    author = login("author")

    changed = admin.put("/v1/members/author%40acme.test", {"role": "viewer"})
    assert changed.json["member"]["role"] == "viewer"
    error(author.post("/v1/segments", {"segment": {"name": "VIP"}}), 403)
    assert admin.delete("/v1/members/author@acme.test").status == 204
    assert "not a member" in error(author.get("/v1/segments"), 403)
    error(admin.delete("/v1/members/author@acme.test"), 404)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"email": "not-an-address", "role": "viewer"}, "/email"),
        ({"email": "bob@acme.test", "role": "owner"}, "/role"),
        ({"role": "viewer"}, "/email"),
    ],
)
def test_a_bad_member_is_a_400_naming_the_field(login, body, pointer):
    answer = login("admin").post("/v1/members", body)

    error(answer, 400)
    assert answer.json["errors"][0]["source"]["pointer"] == pointer


def test_bearer_keys_are_unchanged_and_act_as_admin(pool, app, ws):
    assert app.get("/v1/api_keys").status == 200
    assert app.post("/v1/members", {"email": "bob@acme.test", "role": "viewer"}).status == 200
    # A Bearer key wins over a cookie sent alongside it, and needs no workspace header.
    answer = app.get("/v1/segments", headers={"cookie": "nudge_session=forged"})
    assert answer.status == 200
    error(AppClient("nudge_app_wrong").get("/v1/segments"), 401)


# --- the route table ---------------------------------------------------------------------------------

ADMIN_ONLY = {
    ("GET", "/v1/api_keys"),
    ("POST", "/v1/api_keys"),
    ("POST", "/v1/api_keys/{key_id}/rotate"),
    ("DELETE", "/v1/api_keys/{key_id}"),
    ("GET", "/v1/members"),
    ("POST", "/v1/members"),
    ("PUT", "/v1/members/{email}"),
    ("DELETE", "/v1/members/{email}"),
    ("PUT", "/v1/settings/delivery"),
}


# Reads sent as POSTs (a filter or a template too big for a query string): a viewer may call them.
READS_BY_POST = {
    ("POST", "/v1/customers"),
    ("POST", "/v1/segments/preview"),
    ("POST", "/v1/templates/{template_id}/preview"),
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_has_a_role_and_the_admin_ones_are_marked():
    roles = {(r.method, r.path): r.minimum_role for r in ROUTES if not r.own_credentials}

    assert all(isinstance(role, Role) for role in roles.values())
    assert {key for key, role in roles.items() if role is Role.ADMIN} == ADMIN_ONLY
    assert {(r.method, r.path) for r in ROUTES if r.own_credentials} == {
        ("POST", "/v1/session"),
        ("GET", "/v1/session"),
        ("DELETE", "/v1/session"),
    }


def test_every_route_that_changes_something_refuses_a_viewer(login):
    """Walks the whole table through the handler: a route added later without thought is refused to
    viewers by default (only GETs are for viewers)."""
    viewer = login("viewer")
    reads = {(r.method, r.path) for r in ROUTES if r.method != "GET" and r.minimum_role is Role.VIEWER}
    assert reads == READS_BY_POST
    changing = [
        r for r in ROUTES if r.method != "GET" and not r.own_credentials and r.minimum_role > Role.VIEWER
    ]
    assert len(changing) > 30

    for route in changing:
        answer = viewer.request(route.method, _concrete(route.path), {})
        assert answer.status == 403, (route.method, route.path, answer.status, answer.raw)


def test_a_viewer_may_search_people_and_preview_a_segment(login):
    viewer = login("viewer")

    searched = viewer.request(
        "POST",
        "/v1/customers",
        {"filter": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}},
    )
    previewed = viewer.request(
        "POST",
        "/v1/segments/preview",
        {"conditions": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}},
    )

    assert searched.status == 200, searched.raw
    assert previewed.status == 200, previewed.raw


def test_every_admin_route_refuses_an_author(login):
    author = login("author")

    for method, path in sorted(ADMIN_ONLY):
        answer = author.request(method, _concrete(path), {} if method != "GET" else None)
        assert answer.status == 403, (method, path, answer.raw)
