"""The web console's sign-in, sessions and roles on the App API: Cognito (moto) checks passwords, a session
cookie carries the user, ``X-Nudge-Workspace`` names the workspace, and each route's least role is
enforced in one place for every route. Real handler under moto."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.cognitoidp.models import cognitoidp_backends
from moto.core import DEFAULT_ACCOUNT_ID

from nudge import workspaces
from nudge.console_auth import members, sessions, users
from nudge.errors import Conflict
from nudge.http.app_api.routes import ROUTES
from nudge.model import ConsoleSession
from nudge.roles import Role
from tests.support.console import CHOSEN_PASSWORD, ConsoleClient, cookie_value, set_cookies, user_pool
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
        assert client.first_sign_in(email, added.password).status == 200
        return client

    return signed_in


def error(answer, status: int) -> str:
    assert answer.status == status, (answer.status, answer.raw)
    [only] = answer.json["errors"]
    assert only["status"] == str(status)
    return only["detail"]


# --- sign-in -----------------------------------------------------------------------------------------


def test_a_temporary_password_asks_for_a_new_one_and_opens_no_session(pool, ws):
    temporary = members.add(ws, "ann@acme.test", "author").password
    assert temporary is not None

    answer = ConsoleClient().sign_in("ann@acme.test", temporary)

    assert "new password is required" in error(answer, 403)
    assert answer.json["errors"][0]["code"] == "new_password_required"
    assert set_cookies(answer) == []
    assert list(ConsoleSession.scan()) == []


def test_the_first_sign_in_replaces_the_temporary_password_with_the_users_own(pool, ws):
    temporary = members.add(ws, "ann@acme.test", "author").password
    assert temporary is not None

    first = ConsoleClient().first_sign_in("ann@acme.test", temporary, "Ann-chose-this-1")

    assert first.status == 200, first.json
    assert first.json["session"]["email"] == "ann@acme.test" and cookie_value(first)
    assert error(ConsoleClient().sign_in("ann@acme.test", temporary), 401) == "wrong email or password"
    assert ConsoleClient().sign_in("ann@acme.test", "Ann-chose-this-1").status == 200


@pytest.mark.parametrize(
    ("new_password", "pointer", "detail"),
    [
        ("short-1A", "/new_password", "at least 12 characters"),
        ("", "/new_password", "non-empty string"),
        (None, "/new_password", "non-empty string"),
    ],
)
def test_a_new_password_the_policy_refuses_is_a_400_naming_it(pool, ws, new_password, pointer, detail):
    temporary = members.add(ws, "ann@acme.test", "author").password
    body = {"email": "ann@acme.test", "password": temporary, "new_password": new_password}

    answer = ConsoleClient().post("/v1/session/password", body)

    assert detail in error(answer, 400)
    assert answer.json["errors"][0]["source"]["pointer"] == pointer


def test_the_new_password_step_needs_the_right_temporary_password_and_a_different_new_one(pool, ws):
    temporary = members.add(ws, "ann@acme.test", "author").password
    assert temporary is not None

    wrong = ConsoleClient().first_sign_in("ann@acme.test", "Not-the-password-1")
    same = ConsoleClient().first_sign_in("ann@acme.test", temporary, temporary)

    assert error(wrong, 401) == "wrong email or password" and set_cookies(wrong) == []
    assert "must differ" in error(same, 400)
    assert ConsoleClient().first_sign_in("ann@acme.test", temporary).status == 200
    # Chosen now: the step is not a way to change a password without the reset by email.
    again = ConsoleClient().first_sign_in("ann@acme.test", CHOSEN_PASSWORD, "Another-choice-2")
    assert "not a temporary one" in error(again, 400)
    assert again.json["errors"][0]["source"]["pointer"] == "/password"


@pytest.mark.parametrize("path", ["/v1/session", "/v1/session/password"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_signing_in_reads_only_a_json_body(pool, ws, path, content_type):
    # An HTML form elsewhere posts these types without a preflight: a login CSRF would sign the browser
    # in to the attacker's account.
    temporary = members.add(ws, "ann@acme.test", "author").password
    body = {"email": "ann@acme.test", "password": temporary, "new_password": CHOSEN_PASSWORD}
    headers = {"content-type": content_type} if content_type else {"content-type": ""}

    answer = ConsoleClient().post(path, body, headers=headers)

    assert "Content-Type: application/json" in error(answer, 415)
    assert set_cookies(answer) == []


def test_signing_in_sets_an_http_only_strict_cookie_and_lists_the_workspaces(pool, ws):
    temporary = members.add(ws, "Ann@Acme.test", "author").password
    assert temporary is not None
    ConsoleClient().first_sign_in("ann@acme.test", temporary)

    answer = ConsoleClient().sign_in("ann@acme.test", CHOSEN_PASSWORD)

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
    temporary = members.add(ws, "ann@acme.test", "viewer").password
    assert temporary is not None

    answer = ConsoleClient().first_sign_in("ann@acme.test", temporary, headers={"x-forwarded-proto": "http"})

    [cookie] = set_cookies(answer)
    assert "Secure" not in [a.strip() for a in cookie.split(";")]


# What the App function receives through the console's CloudFront distribution
# (infra/components/console_site.py): every viewer header but Host (AllViewerExceptHostHeader), sent over
# HTTPS to API Gateway, which names its own host and the protocol it was reached by.
THROUGH_CLOUDFRONT = {
    "host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
    "x-forwarded-proto": "https",
    "x-forwarded-port": "443",
    "x-forwarded-for": "203.0.113.7, 130.176.0.1",
    "via": "2.0 0a1b2c3d4e5f.cloudfront.net (CloudFront)",
    "x-amz-cf-id": "QnbS1fUyGJbPvUE7AqEtdOOKyUCpb1k3ZRqFTJnaZn6WS4hGngyvjA==",
    "origin": "https://d111111abcdef8.cloudfront.net",
    "referer": "https://d111111abcdef8.cloudfront.net/console/",
}


def test_through_the_consoles_distribution_the_session_is_secure_and_works(pool, ws):
    temporary = members.add(ws, "ann@acme.test", "author").password
    assert temporary is not None
    client = ConsoleClient(workspace=ws)

    answer = client.first_sign_in("ann@acme.test", temporary, headers=THROUGH_CLOUDFRONT)

    assert answer.status == 200, answer.json
    [cookie] = set_cookies(answer)
    assert {"HttpOnly", "SameSite=Strict", "Path=/", "Secure"} <= {a.strip() for a in cookie.split(";")}
    assert client.get("/v1/segments", headers=THROUGH_CLOUDFRONT).status == 200


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
    assert bob.first_sign_in("bob@acme.test", added["password"]).status == 200
    again = admin.post("/v1/members", {"email": "bob@acme.test", "role": "viewer"}).json
    assert again["password"] is None  # a user who chose their password keeps it
    assert bob.get("/v1/session").json["session"]["workspaces"][0]["role"] == "viewer"


def test_changing_and_removing_a_member_takes_effect_on_their_next_request(login):
    admin = login("admin")
    author = login("author")

    changed = admin.put("/v1/members/author%40acme.test", {"role": "viewer"})
    assert changed.json["member"]["role"] == "viewer"
    error(author.post("/v1/segments", {"segment": {"name": "VIP"}}), 403)
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01").workspace_id
    members.add(other, "author@acme.test", "viewer")
    assert admin.delete("/v1/members/author@acme.test").status == 204
    assert "not a member" in error(author.get("/v1/segments"), 403)
    assert author.get("/v1/session").json["session"]["workspaces"] == [
        {"id": other, "name": "Other", "role": "viewer"}
    ]
    error(admin.delete("/v1/members/author@acme.test"), 404)


def test_a_user_removed_from_every_workspace_is_signed_out_at_their_next_request(login, ws):
    author = login("author")
    login("admin").delete("/v1/members/author@acme.test")

    assert "no longer a member" in error(author.get("/v1/session"), 401)
    assert [s.email for s in ConsoleSession.scan()] == ["admin@acme.test"]  # the session item is gone
    members.add(ws, "author@acme.test", "author")  # added back: the ended session stays ended
    error(author.get("/v1/session"), 401)


def test_a_user_who_is_a_member_of_no_workspace_cannot_sign_in(login):
    login("author")
    login("admin").delete("/v1/members/author@acme.test")

    answer = ConsoleClient().sign_in("author@acme.test", CHOSEN_PASSWORD)

    assert "not a member of any workspace" in error(answer, 403)
    assert set_cookies(answer) == []


# --- temporary passwords and accounts across workspaces ------------------------------------------------


def test_another_workspaces_admin_never_knows_a_shared_users_password(pool, ws):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01").workspace_id
    temporary = members.add(ws, "ann@acme.test", "viewer").password
    assert temporary is not None

    # Before Ann chose her password, the temporary one (which this workspace's admins saw) would open the
    # other workspace too: she joins it only once she has chosen her own.
    with pytest.raises(Conflict, match="has not signed in yet"):
        members.add(other, "ann@acme.test", "admin")
    assert members.role_in("ann@acme.test", other) is None
    assert ConsoleClient().first_sign_in("ann@acme.test", temporary, "Ann-chose-this-1").status == 200

    joined = members.add(other, "ann@acme.test", "admin")

    assert joined.password is None
    assert error(ConsoleClient().sign_in("ann@acme.test", temporary), 401) == "wrong email or password"
    assert error(ConsoleClient().first_sign_in("ann@acme.test", temporary), 401) == "wrong email or password"
    assert ConsoleClient().sign_in("ann@acme.test", "Ann-chose-this-1").status == 200


def test_an_add_that_failed_at_cognito_succeeds_when_retried(pool, ws, monkeypatch):
    real = users.create_user

    def unavailable(email: str) -> str:
        raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "AdminCreateUser")

    monkeypatch.setattr(users, "create_user", unavailable)
    with pytest.raises(ClientError):
        members.add(ws, "ann@acme.test", "viewer")
    monkeypatch.setattr(users, "create_user", real)

    retried = members.add(ws, "ann@acme.test", "viewer")

    assert retried.password is not None
    assert ConsoleClient(workspace=ws).first_sign_in("ann@acme.test", retried.password).status == 200


def _cognito() -> Any:
    return boto3.client("cognito-idp", region_name="us-east-1")


def _due_for_renewal() -> None:
    for item in ConsoleSession.scan():
        item.update(actions=[ConsoleSession.renewed_at.set(int(item.renewed_at) - sessions.RENEW_SECONDS)])


@pytest.mark.parametrize(
    "change",
    [
        lambda pool_id, email: _cognito().admin_disable_user(UserPoolId=pool_id, Username=email),
        lambda pool_id, email: _cognito().admin_reset_user_password(UserPoolId=pool_id, Username=email),
        lambda pool_id, email: _cognito().admin_delete_user(UserPoolId=pool_id, Username=email),
    ],
    ids=["disabled", "password-reset", "deleted"],
)
def test_a_disabled_reset_or_deleted_user_is_signed_out_at_the_next_renewal(login, change):
    author = login("author")
    change(users.user_pool().pool_id, "author@acme.test")
    assert author.get("/v1/session").status == 200  # not yet due: Cognito is asked every RENEW_SECONDS

    _due_for_renewal()

    assert "account changed" in error(author.get("/v1/session"), 401)
    assert list(ConsoleSession.scan()) == []


def test_a_password_changed_since_sign_in_ends_the_session_at_the_next_renewal(login):
    author = login("author")
    # moto does not move UserLastModifiedDate on a password change, as Cognito does: moved here by hand.
    user = cognitoidp_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].admin_get_user(
        users.user_pool().pool_id, "author@acme.test"
    )
    user.last_modified_date += timedelta(seconds=1)
    _due_for_renewal()

    error(author.get("/v1/session"), 401)


def test_a_renewal_with_the_user_unchanged_keeps_the_session(login):
    author = login("author")
    _due_for_renewal()

    assert author.get("/v1/session").status == 200
    assert author.get("/v1/session").status == 200


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
    ("PUT", "/v1/settings/subscription_center"),
    # Reporting webhooks send message data to any endpoint, and the create answer holds the signing key.
    ("GET", "/v1/reporting_webhooks"),
    ("POST", "/v1/reporting_webhooks"),
    ("GET", "/v1/reporting_webhooks/{webhook_id}"),
    ("PUT", "/v1/reporting_webhooks/{webhook_id}"),
    ("DELETE", "/v1/reporting_webhooks/{webhook_id}"),
}


# Reads sent as POSTs (a filter or a template too big for a query string): a viewer may call them.
READS_BY_POST = {
    ("POST", "/v1/customers"),
    ("POST", "/v1/segments/preview"),
    ("POST", "/v1/templates/{template_id}/preview"),
    ("POST", "/v1/templates/preview"),  # a draft rendered, nothing stored
}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_has_a_role_and_the_admin_ones_are_marked():
    roles = {(r.method, r.path): r.minimum_role for r in ROUTES if not r.own_credentials}

    assert all(isinstance(role, Role) for role in roles.values())
    assert {key for key, role in roles.items() if role is Role.ADMIN} == ADMIN_ONLY
    assert {(r.method, r.path) for r in ROUTES if r.own_credentials} == {
        ("POST", "/v1/session"),
        ("POST", "/v1/session/password"),
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
