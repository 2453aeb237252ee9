"""Customer.io's older App API base, ``/v1/api/...``: every App route answers there too, from the same route
table, through the real handler and through the local gateway's one greedy route (as deployed)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
import requests
from customerio import APIClient, SendEmailRequest

from nudge import workspaces
from nudge.http.app_api.routes import ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.segments import definitions
from nudge_tools.local.gateway import ApiRoute, Gateway
from nudge_tools.local.routing import api_routes
from tests.support.track import LambdaAdapter


def _filled(path: str) -> str:
    return re.sub(r"{\w+}", "x1", path)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_app_route_is_matched_under_the_older_base(app, route):
    # Without credentials a matched route answers 401; a path no route matches is the resolver's 404.
    older = _filled(APP_OLDER_BASE.aliased(route.path))

    answer = app.request(route.method, older, {} if route.method in ("POST", "PUT") else None, auth="")

    if route.own_credentials:  # the console's session routes: matched, and they ask for no key
        assert answer.status != 404, answer.raw
        return
    assert answer.status == 401, answer.json
    assert answer.json["errors"][0]["status"] == "401"


def test_a_segment_made_under_the_older_base_is_the_same_segment_under_v1(app):
    created = app.post("/v1/api/segments", {"segment": {"name": "VIPs"}})
    segment_id = created.json["segment"]["id"]

    assert created.status == 200
    assert app.get(f"/v1/segments/{segment_id}").json == app.get(f"/v1/api/segments/{segment_id}").json
    assert app.get("/v1/api/segments").json["segments"][0]["name"] == "VIPs"


def test_the_older_base_keeps_workspaces_apart_and_answers_in_the_app_error_shape(app):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs = definitions.create_manual_segment(other.workspace_id, "Theirs")

    hidden = app.get(f"/v1/api/segments/{theirs}")
    unknown = app.get("/v1/api/no_such_thing")
    bad = app.post("/v1/api/segments", {"segment": "not an object"})

    assert hidden.status == 404
    assert hidden.json["errors"][0]["status"] == "404"
    assert unknown.status == 404
    assert unknown.json["errors"][0]["detail"] == "no route for GET /v1/api/no_such_thing"
    assert bad.status == 400
    assert bad.json["errors"][0]["source"] == {"pointer": "/segment"}


def test_the_older_base_only_names_the_base_not_the_api_under_it(app):
    # /v1/api alone, or the newer base nested in the older one, is no route.
    for path in ("/v1/api", "/v1/api/v1/segments", "/v1/api/api/segments"):
        assert app.get(path).status == 404, path


def test_no_app_route_is_already_under_the_older_base():
    # Such a route would answer the same path as another route's older form.
    assert not [r.path for r in ROUTES if r.path.startswith(APP_OLDER_BASE.alias + "/")]


def test_a_path_outside_the_base_has_no_older_form():
    with pytest.raises(ValueError, match="/api/v1/customers"):
        APP_OLDER_BASE.aliased("/api/v1/customers")


def test_customerios_python_api_client_calls_the_newer_base_and_is_answered(keys, track):
    # customerio 3.2's APIClient appends /v1/send/... to its URL (customerio-node 5 appends /send/... to
    # https://api.customer.io/v1): both official clients use /v1, not the older base.
    from functions.api import handler as api_handler

    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    client = APIClient(keys.app_api_key, url="https://api.nudge.test", retries=0)
    adapter = LambdaAdapter(api_handler.handler)
    client.http.mount("https://", adapter)

    answer = client.send_email(
        SendEmailRequest(identifiers={"id": "ann"}, _from="shop@example.com", subject="Hi", body="Hello")
    )

    assert answer["delivery_id"]
    assert [r.path_url for r in adapter.sent] == ["/v1/send/email"]


def test_the_local_gateway_prefers_an_exact_route_to_a_greedy_one_as_api_gateway_does():
    def greedy_fn(event, context):
        return {}

    def exact_fn(event, context):
        return {}

    # The greedy route is declared first: precedence must not depend on the order of declaration.
    routes = [ApiRoute("ANY", "/x/{proxy+}", greedy_fn, "g"), ApiRoute("GET", "/x/y", exact_fn, "e")]
    server = Gateway(("127.0.0.1", 0), routes, {})
    try:
        found = {
            (method, path): (m[0].handler, m[1]) if (m := server.match(method, path)) else None
            for method, path in [("GET", "/x/y"), ("POST", "/x/y"), ("DELETE", "/x/y/z"), ("GET", "/x")]
        }
    finally:
        server.server_close()

    assert found == {
        ("GET", "/x/y"): (exact_fn, {}),
        ("POST", "/x/y"): (greedy_fn, {"proxy": "y"}),
        ("DELETE", "/x/y/z"): (greedy_fn, {"proxy": "y/z"}),
        ("GET", "/x"): None,
    }


@pytest.fixture
def gateway(account: None) -> Iterator[str]:
    server = Gateway(("127.0.0.1", 0), api_routes(), {})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_local_gateway_sends_the_older_base_to_the_app_function(gateway, keys):
    # As an integration written against the older base calls it: its own HTTP client, a Bearer app key.
    session = requests.Session()
    session.headers["authorization"] = f"Bearer {keys.app_api_key}"

    created = session.post(f"{gateway}/v1/api/segments", json={"segment": {"name": "Old"}}, timeout=10)
    segment_id = created.json()["segment"]["id"]
    read = session.get(f"{gateway}/v1/api/segments/{segment_id}/customer_count", timeout=10)
    deleted = session.delete(f"{gateway}/v1/api/segments/{segment_id}", timeout=10)
    # A method no App route has under a path that has routes: the App function's own 404, not a 405.
    patched = session.patch(f"{gateway}/v1/api/segments", json={}, timeout=10)

    assert created.status_code == 200
    assert read.json() == {"count": 0}
    assert deleted.status_code == 204
    assert session.get(f"{gateway}/v1/segments/{segment_id}", timeout=10).status_code == 404
    assert patched.status_code == 404
    assert patched.json()["errors"][0]["detail"] == "no route for PATCH /v1/api/segments"
    # The newer base is still API Gateway's exact routes: an unknown path there is API Gateway's 404.
    assert session.get(f"{gateway}/v1/nothing", timeout=10).json() == {"message": "Not Found"}
