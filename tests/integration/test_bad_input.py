"""Issue #12's bad input, through the real handlers: each is a 400 naming the field and the rule, never a
500 (an exception) or a 503 (which clients retry forever)."""

from __future__ import annotations

import pytest

from functions.api import handler as api_handler
from functions.links import handler as links_handler
from nudge.delivery import links
from nudge.tracking.limits import MAX_JSON_DEPTH
from tests.support.track import Answer, invoke

NOT_UTF8 = b'{"name": "caf\xe9"}'  # Latin-1, as a misconfigured client sends it
DEEP = "[" * 1000 + "]" * 1000  # a few KB, far under every size limit


def _app_raw(key: str, method: str, path: str, body: bytes | str) -> Answer:
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    return invoke(method, path, headers=headers, body=body, handler=api_handler.handler)


def _app_error(answer: Answer) -> dict[str, object]:
    assert answer.status == 400, answer.raw
    [error] = answer.json["errors"]
    return dict(error)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (NOT_UTF8, "request body must be valid UTF-8"),
        (DEEP, f"request body cannot be nested more than {MAX_JSON_DEPTH} levels deep"),
        (
            '{"a":' * 40 + "1" + "}" * 40,
            f"request body cannot be nested more than {MAX_JSON_DEPTH} levels deep",
        ),
        ("[1, 2]", "request body must be a JSON object"),
    ],
)
def test_track_bodies_break_a_named_rule(track, raw, message):
    answer = track.request("PUT", "/api/v1/customers/ann", raw=raw)
    assert answer.status == 400, answer.raw
    assert answer.json == {"meta": {"error": message}}


def test_the_v2_batch_names_its_body_in_the_rule(track):
    answer = track.request("POST", "/api/v2/batch", raw=DEEP)
    assert answer.json == {"meta": {"error": "batch cannot be nested more than 32 levels deep"}}


def test_app_api_bodies_break_a_named_rule(keys):
    error = _app_error(_app_raw(keys.app_api_key, "POST", "/v1/segments", NOT_UTF8))
    assert error == {
        "detail": "request body must be valid UTF-8",
        "status": "400",
        "source": {"pointer": "/body"},
    }
    error = _app_error(_app_raw(keys.app_api_key, "POST", "/v1/campaigns", DEEP))
    assert error["detail"] == "request body cannot be nested more than 32 levels deep"


def test_a_route_that_reads_no_body_ignores_one_that_is_not_text(keys):
    for path in ("/v1/campaigns/0123456789ab/activate", "/v1/campaigns/0123456789ab/pause"):
        answer = _app_raw(keys.app_api_key, "POST", path, b"\xff\xfe\x00garbage")
        assert answer.status == 404, answer.raw  # judged by its path alone
    assert _app_raw(keys.app_api_key, "GET", "/v1/segments", b"\xff").status == 200


def test_a_one_click_unsubscribe_is_judged_by_its_token_never_its_body(ws):
    token = links.sign(b"wrong-secret", links.UNSUBSCRIBE, {"w": ws, "d": "d1"})
    answer = invoke("POST", f"/t/u/{token}", body=b"\xff\xfe", handler=links_handler.handler)
    assert answer.status == 404  # the token is not ours: the body played no part


def test_a_segment_condition_field_too_long_for_a_storage_key_is_a_400(app):
    condition = {"attribute": {"field": "x" * 3000, "operator": "eq", "value": "1"}}
    answer = app.post("/v1/segments", {"segment": {"name": "s", "conditions": condition}})
    error = _app_error(answer)
    assert error["detail"] == "conditions.attribute.field: must be at most 150 characters"
    assert error["source"] == {"pointer": "/conditions/attribute/field"}


@pytest.mark.parametrize(
    ("message_limit", "field"),
    [
        ({"count": True, "days": 1}, "count"),
        ({"count": 10**40, "days": 1}, "count"),
        ({"count": 3, "days": True}, "days"),
    ],
)
def test_a_message_limit_that_is_not_a_whole_number_in_range_is_a_400(app, message_limit, field):
    error = _app_error(app.put("/v1/settings/delivery", {"message_limit": message_limit}))
    assert error["source"] == {"pointer": f"/message_limit/{field}"}


def test_an_smtp_port_of_true_is_not_port_1(app):
    answer = app.put("/v1/settings/delivery", {"smtp": {"host": "smtp.example.com", "port": True}})
    assert _app_error(answer)["detail"] == "smtp.port must be a port number"


@pytest.mark.parametrize("send_at", [10**40, 253_402_300_800, -1, True])
def test_a_transactional_send_at_outside_unix_time_is_a_400(app, send_at):
    body = {"identifiers": {"id": "ann"}, "to": "ann@example.com", "subject": "s", "body": "b"}
    error = _app_error(app.post("/v1/send/email", {**body, "send_at": send_at}))
    assert error == {
        "detail": "send_at must be a unix timestamp in seconds",
        "status": "400",
        "source": {"pointer": "/send_at"},
    }


def test_a_broadcast_send_at_beyond_unix_time_is_a_400(app):
    campaign = {
        "name": "b",
        "trigger": {"type": "broadcast", "segment_id": "s1", "send_at": 10**40},
        "workflow": {"blocks": []},
    }
    error = _app_error(app.post("/v1/campaigns", {"campaign": campaign}))
    assert error["source"] == {"pointer": "/campaign/trigger/send_at"}


def test_a_storage_refusal_the_rules_missed_is_a_400_not_a_503(app, monkeypatch):
    from botocore.exceptions import ClientError

    from nudge.segments import definitions

    def refuse(*args: object, **kwargs: object) -> object:
        error = {"Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum"}}
        raise ClientError(error, "PutItem")

    monkeypatch.setattr(definitions, "create", refuse)
    answer = app.post("/v1/segments", {"segment": {"name": "s"}})
    assert answer.status == 400
    assert answer.json == {
        "errors": [{"detail": "request contains data that cannot be stored", "status": "400"}]
    }
    assert "Retry-After" not in answer.headers


@pytest.mark.parametrize(
    "path",
    ["/v1/segments/{}", "/v1/templates/{}", "/v1/campaigns/{}/metrics", "/v1/messages/{}", "/v1/snippets/{}"],
)
def test_a_path_id_too_long_for_any_key_is_a_400_naming_it(app, path):
    answer = (
        app.get(path.format("x" * 3000)) if "snippets" not in path else app.delete(path.format("x" * 3000))
    )
    error = _app_error(answer)
    name = error["source"]["pointer"].lstrip("/")
    assert error["detail"] == f"{name} cannot be longer than 512 bytes"


def test_a_path_id_is_measured_decoded(track):
    # 171 percent-encoded characters are 57 bytes: under the limit, then judged by the route's own rules.
    answer = track.request("DELETE", "/api/v1/customers/x/devices/" + "%C3%A9" * 28 + "x")
    assert answer.status == 200
    answer = track.request("DELETE", "/api/v1/customers/x/devices/" + "%C3%A9" * 257)
    assert answer.json == {"meta": {"error": "device_id cannot be longer than 512 bytes"}}
