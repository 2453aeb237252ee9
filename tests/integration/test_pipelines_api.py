"""The Pipelines API (Customer.io's Data Pipelines, Segment's spec) through the real Track handler: each
call lands as its Track API twin, under the workspace's Pipelines key, with Customer.io's limits and
answers. Customer.io's official Python client for it runs against the handler at the end."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from customerio import analytics
from customerio.analytics import request as analytics_request

from nudge import clock, workspaces
from nudge.http import pipelines_api
from nudge.tracking import events as tracking_events
from nudge.tracking.object_refs import ObjectRef
from nudge.tracking.objects import get_object
from tests.support.people import events_of, profile
from tests.support.track import AppClient, LambdaAdapter, PipelinesClient, TrackClient, basic

NOW_ISO = "2026-12-04T00:00:00+00:00"


# --- each call lands as its Track API twin ------------------------------------------------------------


def test_identify_lands_as_the_track_apis_identify(pipelines, track, ws):
    traits = {"email": "ann@example.com", "plan": "pro", "createdAt": "2024-01-01T00:00:00Z"}
    assert pipelines.post("/v1/identify", {"userId": "ann", "traits": traits}).json == {"success": True}
    twin = {"email": "bob@example.com", "plan": "pro", "created_at": 1_704_067_200}
    assert track.put("/api/v1/customers/bob", twin).status == 200

    ann, bob = profile(ws, "ann"), profile(ws, "bob")
    assert ann["created_at"] == bob["created_at"] == 1_704_067_200
    assert ann["attributes"]["plan"] == bob["attributes"]["plan"] == "pro"
    assert ann["email"] == "ann@example.com"


def test_an_older_identify_never_overwrites_a_newer_one(pipelines, ws):
    newer = {"userId": "ann", "traits": {"plan": "pro"}, "timestamp": "2026-12-03T00:00:00Z"}
    older = {"userId": "ann", "traits": {"plan": "free"}, "timestamp": "2026-12-01T00:00:00Z"}
    pipelines.post("/v1/identify", newer)
    pipelines.post("/v1/identify", older)  # arrives late: its timestamp is its _timestamp

    assert profile(ws, "ann")["attributes"]["plan"] == "pro"


def test_a_user_id_that_is_an_email_addresses_the_person_by_email(pipelines, track, ws):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    pipelines.post("/v1/identify", {"userId": "Ann@Example.com", "traits": {"plan": "pro"}})

    assert profile(ws, "ann")["attributes"]["plan"] == "pro"  # the same person, as a path id would be


def test_track_is_an_event_and_a_repeated_message_id_is_stored_once(pipelines, ws):
    call = {"userId": "ann", "event": "purchase", "properties": {"amount": 10}, "messageId": "m-1"}
    assert pipelines.post("/v1/track", call).status == 200
    assert pipelines.post("/v1/track", call).status == 200

    [event] = events_of(ws, "ann")
    assert (event["id"], event["name"], event["type"], event["data"]) == (
        "m-1",
        "purchase",
        "event",
        {"amount": 10},
    )


def test_timestamps_are_corrected_by_sent_at_as_segment_does(pipelines, ws):
    # The sender's clock is an hour fast: the call was made a minute before it was sent.
    now = clock.now()
    sent = now + 3600
    call = {
        "userId": "ann",
        "event": "purchase",
        "timestamp": _iso(sent - 60),
        "sentAt": _iso(sent),
    }
    pipelines.post("/v1/track", call)

    [event] = events_of(ws, "ann")
    assert abs(event["timestamp"] - (now - 60)) <= 2


def test_page_is_a_page_view_named_by_its_url_and_screen_a_screen(pipelines, ws):
    pipelines.post(
        "/v1/page",
        {"userId": "ann", "name": "Pricing", "properties": {"url": "https://shop.example/pricing"}},
    )
    pipelines.post("/v1/screen", {"userId": "ann", "name": "Checkout", "properties": {"step": 2}})

    found = {e["type"]: e for e in events_of(ws, "ann")}
    assert found["page"]["name"] == "https://shop.example/pricing"
    assert found["page"]["data"] == {"url": "https://shop.example/pricing", "name": "Pricing"}
    assert (found["screen"]["name"], found["screen"]["data"]) == ("Checkout", {"step": 2, "name": "Checkout"})


def test_anonymous_events_merge_when_an_identify_names_their_anonymous_id(pipelines, ws):
    pipelines.post("/v1/track", {"anonymousId": "anon-7", "event": "viewed_pricing"})
    pipelines.post("/v1/identify", {"userId": "ann", "anonymousId": "anon-7", "traits": {}})

    assert [e["name"] for e in events_of(ws, "ann")] == ["viewed_pricing"]


def test_group_is_an_object_of_type_1_by_default_related_to_the_person(pipelines, ws):
    pipelines.post(
        "/v1/group",
        {
            "userId": "ann",
            "groupId": "acme",
            "traits": {"name": "Acme", "relationshipAttributes": {"role": "admin"}},
        },
    )
    pipelines.post("/v1/group", {"userId": "bob", "groupId": "team-9", "traits": {"objectTypeId": "2"}})

    acme = get_object(ws, ObjectRef("1", "acme"))
    assert acme["attributes"] == {"name": "Acme"}
    assert acme["people"] == [profile(ws, "ann")["cio_id"]]
    assert get_object(ws, ObjectRef("2", "team-9"))["people"] == [profile(ws, "bob")["cio_id"]]


def test_a_group_without_a_user_updates_the_object_alone(pipelines, ws):
    pipelines.post("/v1/group", {"anonymousId": "a1", "groupId": "acme", "traits": {"plan": "pro"}})

    assert get_object(ws, ObjectRef("1", "acme")) is not None
    assert get_object(ws, ObjectRef("1", "acme"))["people"] == []


def test_alias_merges_the_previous_person_and_anonymous_events_into_the_user(pipelines, track, ws):
    track.put("/api/v1/customers/old-id", {"email": "ann@example.com", "plan": "pro"})
    track.post("/api/v1/customers/old-id/events", {"name": "signed_up"})
    pipelines.post("/v1/track", {"anonymousId": "visitor-1", "event": "viewed"})

    assert pipelines.post("/v1/alias", {"previousId": "old-id", "userId": "ann"}).status == 200
    assert pipelines.post("/v1/alias", {"previousId": "visitor-1", "userId": "ann"}).status == 200

    ann = profile(ws, "ann")
    assert profile(ws, "old-id") is None
    assert ann["email"] == "ann@example.com" and ann["attributes"]["plan"] == "pro"
    assert sorted(e["name"] for e in events_of(ws, "ann")) == ["signed_up", "viewed"]


# --- batches, gzip, limits and strict mode ------------------------------------------------------------


def test_a_gzipped_batch_of_every_type_lands_whole(pipelines, ws):
    batch = [
        {"type": "identify", "userId": "ann", "traits": {"plan": "pro"}},
        {"type": "track", "userId": "ann", "event": "purchase", "messageId": "m-2"},
        {"type": "page", "userId": "ann", "properties": {"url": "https://shop.example/"}},
        {"type": "screen", "userId": "ann", "name": "Home"},
        {"type": "group", "userId": "ann", "groupId": "acme"},
        {"type": "alias", "userId": "ann", "previousId": "visitor-2"},
    ]
    body = gzip.compress(json.dumps({"batch": batch, "sentAt": NOW_ISO}).encode())

    answer = pipelines.post("/v1/batch", raw=body, headers={"content-encoding": "gzip"})

    assert answer.status == 200, answer.json
    assert profile(ws, "ann")["attributes"]["plan"] == "pro"
    assert sorted(e["type"] for e in events_of(ws, "ann")) == ["event", "page", "screen"]
    assert get_object(ws, ObjectRef("1", "acme"))["people"] == [profile(ws, "ann")["cio_id"]]


def test_a_refused_call_is_dropped_with_its_reason_logged_and_never_blocks_the_rest(pipelines, ws, caplog):
    batch = [
        {"type": "track", "userId": "ann", "event": ""},  # no event name
        {"type": "identify", "traits": {"plan": "x"}},  # nobody
        {"type": "launch"},
        {"type": "track", "userId": "ann", "event": "purchase"},
    ]
    track_logger = logging.getLogger("track")  # the Track function's (it does not propagate to the root)
    track_logger.addHandler(caplog.handler)
    try:
        for name in ("track", pipelines_api.logger.name):  # the tests run at WARNING (tests/conftest.py)
            caplog.set_level(logging.INFO, logger=name)
        answer = pipelines.post("/v1/batch", {"batch": batch})
    finally:
        track_logger.removeHandler(caplog.handler)

    assert (answer.status, answer.json) == (200, {"success": True})
    assert [e["name"] for e in events_of(ws, "ann")] == ["purchase"]
    # (a set: the record may reach caplog's handler both here and through the root)
    dropped = sorted(
        {(r.index, r.reason, r.field) for r in caplog.records if r.getMessage() == "pipelines call dropped"}
    )
    assert dropped == [(0, "required", "name"), (1, "required", "userId"), (2, "invalid", "type")]


def test_strict_mode_answers_400_naming_each_refused_call_and_still_applies_the_rest(pipelines, ws):
    batch = [
        {"type": "track", "userId": "ann", "event": "purchase"},
        {"type": "track", "userId": "ann"},
        {"type": "launch"},
    ]
    answer = pipelines.post("/v1/batch", {"batch": batch}, headers={"X-Strict-Mode": "1"})

    assert answer.status == 400
    assert answer.json["code"] == "invalid_request" and answer.json["message"] == "2 calls were refused"
    assert [(e["index"], e["field"]) for e in answer.json["errors"]] == [(1, "name"), (2, "type")]
    assert [e["name"] for e in events_of(ws, "ann")] == ["purchase"]


@pytest.mark.parametrize(
    ("path", "call", "field"),
    [
        ("/v1/track", {"event": "x"}, "userId"),
        ("/v1/track", {"userId": "ann", "event": "x", "timestamp": "yesterday"}, "timestamp"),
        ("/v1/track", {"userId": "u" * 151, "event": "x"}, "userId"),
        ("/v1/track", {"userId": "ann", "event": "x", "properties": [1]}, "properties"),
        ("/v1/group", {"userId": "ann"}, "groupId"),
        ("/v1/alias", {"userId": "ann"}, "previousId"),
        ("/v1/alias", {"previousId": "ann"}, "userId"),
        ("/v1/identify", {"userId": "ann", "traits": {"a" * 151: 1}}, "attributes"),
    ],
)
def test_strict_mode_names_the_field_of_a_refused_call(pipelines, path, call, field):
    answer = pipelines.post(path, call, headers={"x-strict-mode": "1"})

    assert answer.status == 400, answer.json
    assert answer.json["errors"][0]["field"] == field and answer.json["message"]


def test_a_call_over_32_kb_is_refused_and_a_batch_over_500_kb_whole(pipelines, ws):
    big = {"userId": "ann", "event": "x", "properties": {"blob": "x" * (32 << 10)}}
    single = pipelines.post("/v1/track", big)
    assert single.status == 400 and single.json["code"] == "too_long"

    in_batch = pipelines.post(
        "/v1/batch", {"batch": [{**big, "type": "track"}, {"type": "track", "userId": "ann", "event": "y"}]}
    )
    assert in_batch.status == 200  # permissive: the big call dropped, the small one applied
    assert [e["name"] for e in events_of(ws, "ann")] == ["y"]

    calls = [{"type": "track", "userId": "bob", "event": "x", "properties": {"b": "x" * 30_000}}] * 18
    whole = pipelines.post("/v1/batch", {"batch": calls})
    assert whole.status == 400 and whole.json["code"] == "too_long"
    assert events_of(ws, "bob") == []


def test_a_call_of_exactly_32_kb_is_accepted(pipelines, ws):
    call = {"userId": "ann", "event": "x", "properties": {"blob": ""}}
    call["properties"]["blob"] = "x" * ((32 << 10) - len(json.dumps(call, separators=(",", ":"))))
    assert len(json.dumps(call, separators=(",", ":"))) == 32 << 10

    raw = json.dumps(call, separators=(",", ":"))
    assert pipelines.post("/v1/track", raw=raw, headers={"x-strict-mode": "1"}).status == 200


def test_bodies_that_are_not_json_or_not_gzip_are_400_even_without_strict_mode(pipelines):
    for raw, headers in (
        (b"{not json", {}),
        (b"plain", {"content-encoding": "gzip"}),
        (gzip.compress(b'{"userId":"a"}')[:-6], {"content-encoding": "gzip"}),
        (b"{}", {"content-encoding": "br"}),
    ):
        answer = pipelines.post("/v1/track", raw=raw, headers=headers)
        assert answer.status == 400, (raw, answer.json)
        assert set(answer.json) == {"code", "message"}


def test_a_gzip_bomb_is_refused_without_inflating_it(pipelines):
    bomb = gzip.compress(b'{"batch":[' + b" " * 50_000_000 + b"]}")

    answer = pipelines.post("/v1/batch", raw=bomb, headers={"content-encoding": "gzip"})

    assert answer.status == 400 and answer.json["code"] == "too_long"


# --- keys ---------------------------------------------------------------------------------------------


def test_the_key_works_as_basic_user_or_bearer_and_nothing_else_does(keys, ws):
    call = {"userId": "ann", "event": "x"}
    assert PipelinesClient(keys.cdp_api_key).post("/v1/track", call).status == 200
    assert PipelinesClient(keys.cdp_api_key, bearer=True).post("/v1/track", call).status == 200

    for auth in (
        basic(keys.cdp_api_key, "password"),  # the password must be empty
        basic(keys.site_id, keys.track_api_key),  # a Track key is not a Pipelines key
        f"Bearer {keys.app_api_key}",  # nor is an App key
        "Bearer sk_us_nudge_wrong",
        "",
    ):
        answer = PipelinesClient(keys.cdp_api_key).post("/v1/track", call, auth=auth)
        assert answer.status == 401, auth
        assert answer.json["code"] == "unauthorized" and answer.headers["WWW-Authenticate"]
    # ... and the Pipelines key opens no Track API route.
    assert (
        TrackClient("x", "y").put("/api/v1/customers/u", {}, auth=basic(keys.cdp_api_key, "")).status == 401
    )


def test_a_workspaces_key_writes_to_that_workspace_only(keys, ws):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    PipelinesClient(other.cdp_api_key).post("/v1/identify", {"userId": "ann", "traits": {"plan": "x"}})

    assert profile(ws, "ann") is None
    assert profile(other.workspace_id, "ann")["attributes"]["plan"] == "x"


def test_pipelines_keys_are_listed_created_rotated_and_revoked_like_app_keys(app: AppClient, keys):
    [original] = [k for k in app.get("/v1/api_keys").json["api_keys"] if k["type"] == "cdp"]
    assert "secret" not in original

    created = app.post("/v1/api_keys", {"type": "cdp", "name": "warehouse"}).json["api_key"]
    assert created["secret"].startswith("sk_us_") and "site_id" not in created
    assert PipelinesClient(created["secret"]).post("/v1/track", {"userId": "a", "event": "x"}).status == 200

    rotated = app.post(f"/v1/api_keys/{original['id']}/rotate").json["api_key"]
    assert PipelinesClient(keys.cdp_api_key).post("/v1/track", {"userId": "a", "event": "x"}).status == 401
    assert PipelinesClient(rotated["secret"]).post("/v1/track", {"userId": "a", "event": "x"}).status == 200

    assert app.delete(f"/v1/api_keys/{created['id']}").status == 204
    assert PipelinesClient(created["secret"]).post("/v1/track", {"userId": "a", "event": "x"}).status == 401


def test_the_operator_rotation_rotates_the_pipelines_key_too(keys):
    issued = workspaces.rotate_keys(keys.workspace_id)

    assert PipelinesClient(keys.cdp_api_key).post("/v1/track", {"userId": "a", "event": "x"}).status == 401
    assert PipelinesClient(issued.cdp_api_key).post("/v1/track", {"userId": "a", "event": "x"}).status == 200


def test_keys_are_never_logged(keys, capfd):
    PipelinesClient(keys.cdp_api_key).post("/v1/track", {"userId": "a", "event": "x"})
    PipelinesClient("sk_us_nudge_wrong").post("/v1/track", {"userId": "a", "event": "x"})

    out = capfd.readouterr()
    assert keys.cdp_api_key not in out.out + out.err and "sk_us_nudge_wrong" not in out.out + out.err


# --- Customer.io's official Python client (customerio-cdp-analytics), unmodified ------------------------


@pytest.fixture
def official(monkeypatch):
    """The client's module-level session, its 'network' routed into the Track handler."""
    adapter = LambdaAdapter()
    monkeypatch.setattr(analytics_request._session, "adapters", {})
    analytics_request._session.mount("https://", adapter)
    return adapter


def test_the_official_python_client_in_sync_mode(keys, ws, official):
    client = analytics.Client(keys.cdp_api_key, host="https://cdp.nudge.test", sync_mode=True, gzip=True)
    client.identify("ann", {"email": "ann@example.com", "plan": "pro"})
    client.track("ann", "purchase", {"amount": 10})
    client.page("ann", "Docs", "Pricing", {"url": "https://shop.example/pricing"})
    client.screen("ann", "App", "Home")
    client.group("ann", "acme", {"name": "Acme", "objectTypeId": "1"})
    client.alias("visitor-3", "ann")

    assert official.sent[0].headers["Authorization"] == f"Bearer {keys.cdp_api_key}"  # sk_us_ keys: Bearer
    assert official.sent[0].url == "https://cdp.nudge.test/v1/batch"
    assert profile(ws, "ann")["attributes"]["plan"] == "pro"
    assert sorted(e["type"] for e in events_of(ws, "ann")) == ["event", "page", "screen"]
    assert get_object(ws, ObjectRef("1", "acme"))["attributes"] == {"name": "Acme"}


def test_the_official_python_client_reads_the_error_body(keys, official):
    client = analytics.Client("sk_us_nudge_wrong", host="https://cdp.nudge.test", sync_mode=True)

    with pytest.raises(analytics_request.APIError) as raised:
        client.track("ann", "purchase")

    assert (raised.value.status, raised.value.code) == (401, "unauthorized")


def test_the_official_python_client_in_async_mode(keys, ws, official):
    errors = []
    client = analytics.Client(
        keys.cdp_api_key, host="https://cdp.nudge.test", on_error=lambda e, batch: errors.append(e)
    )
    for n in range(25):
        client.track("ann", "viewed", {"n": n})
    client.identify("ann", {"plan": "pro"})
    client.shutdown()

    assert errors == []
    assert len(events_of(ws, "ann")) == 25 and profile(ws, "ann")["attributes"]["plan"] == "pro"


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def test_a_storage_outage_during_one_call_is_a_503_after_the_rest_are_applied(pipelines, ws, monkeypatch):
    real = tracking_events.track

    def throttled(workspace_id, ref, event):
        if event.name == "unlucky":
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")
        return real(workspace_id, ref, event)

    monkeypatch.setattr(tracking_events, "track", throttled)
    batch = [
        {"type": "track", "userId": "ann", "event": "unlucky"},
        {"type": "track", "userId": "ann", "event": "purchase"},
    ]
    answer = pipelines.post("/v1/batch", {"batch": batch})

    assert answer.status == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json["code"] == "unavailable"  # the shape the SDKs parse; they send the batch again
    assert [e["name"] for e in events_of(ws, "ann")] == ["purchase"]
