"""Limits and error strings, exactly as Customer.io answers them. None of them is a 500."""

import json

import pytest

from tests.support.people import profile


def error(answer):
    assert answer.status == 400, answer.raw
    meta = answer.json["meta"]
    return meta.get("error") or meta.get("errors")


def test_more_than_300_attributes(track, ws):
    body = {f"a{i}": i for i in range(301)}
    assert (
        error(track.put("/api/v1/customers/u1", body))
        == "cannot identify more than 300 attributes in one request"
    )
    assert profile(ws, "u1") is None


def test_exactly_300_attributes_is_fine(track):
    assert track.put("/api/v1/customers/u1", {f"a{i}": i for i in range(300)}).status == 200


def test_attribute_name_longer_than_150_bytes(track):
    name = "é" * 76  # 152 bytes, 76 characters: the limit is in bytes
    assert (
        error(track.put("/api/v1/customers/u1", {name: 1}))
        == "attribute name cannot be longer than 150 bytes"
    )


@pytest.mark.parametrize("name", ["", "  "])
def test_a_blank_attribute_name_is_refused_and_nothing_is_stored(track, app, ws, name):
    assert error(track.put("/api/v1/customers/u1", {name: 1})) == "attribute name must not be blank"
    assert profile(ws, "u1") is None
    track.put("/api/v1/customers/u1", {"plan": "pro"})

    answer = app.put("/v1/customers/u1/attributes", {"attributes": {name: 1}})

    assert answer.status == 400, answer.json
    assert answer.json["errors"][0]["detail"] == "attribute name must not be blank"
    assert name not in profile(ws, "u1")["attributes"]


def test_attribute_value_longer_than_1000_bytes(track):
    answer = track.put("/api/v1/customers/u1", {"bio": "x" * 1001})
    assert error(answer) == "value for attribute 'bio' cannot be longer than 1000 bytes"


def test_several_problems_are_all_reported(track):
    answer = track.put("/api/v1/customers/u1", {"bio": "x" * 1001, "note": "y" * 1001})
    assert error(answer) == [
        "value for attribute 'bio' cannot be longer than 1000 bytes",
        "value for attribute 'note' cannot be longer than 1000 bytes",
    ]


def test_identifier_longer_than_150_bytes(track):
    assert error(track.put("/api/v1/customers/" + "u" * 151, {})) == "id cannot be longer than 150 bytes"


def test_blank_identifier(track):
    assert error(track.put("/api/v1/customers/%20", {})) == "id attribute must be present"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": ""}, "event name must not be blank"),
        ({"name": "   "}, "event name must not be blank"),
        ({}, "event name must not be blank"),
        ({"name": "x" * 101}, "event name cannot be longer than 100 bytes"),
        ({"name": "ok", "data": [1, 2]}, "event data must be a hash"),
        ({"name": "ok", "data": "text"}, "event data must be a hash"),
        ({"name": "ok", "data": {"blob": "x" * 100_000}}, "event data cannot be longer than 100000 bytes"),
    ],
)
def test_event_limits(track, body, message):
    assert error(track.post("/api/v1/customers/u1/events", body)) == message
    assert error(track.post("/api/v1/events", body)) == message


def test_malformed_json_is_400_naming_the_problem(track):
    message = error(track.put("/api/v1/customers/u1", raw="{not json"))
    assert message.startswith("request body is not valid JSON")


def test_body_that_is_not_an_object(track):
    assert error(track.put("/api/v1/customers/u1", raw="[1,2]")) == "request body must be a JSON object"


def test_nan_is_not_json(track):
    assert "not valid JSON" in error(track.put("/api/v1/customers/u1", raw='{"score": NaN}'))


def test_oversize_body(track):
    raw = json.dumps({"a": "x" * 1_000_001})
    assert (
        error(track.put("/api/v1/customers/u1", raw=raw))
        == "request body cannot be longer than 1000000 bytes"
    )


def test_wrong_type_for_a_timestamp(track):
    assert error(track.put("/api/v1/customers/u1", {"created_at": "yesterday"})) == (
        "created_at must be a unix timestamp in seconds"
    )


def test_unknown_route_is_a_json_404(track):
    answer = track.post("/api/v1/nothing-here", {})
    assert answer.status == 404
    assert "no route" in answer.json["meta"]["error"]


def test_a_storage_outage_is_a_retryable_503_not_a_500(track, monkeypatch):
    from botocore.exceptions import ClientError

    from nudge.tracking import people

    def throttled(*_args, **_kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "GetItem"
        )

    monkeypatch.setattr(people, "identify", throttled)
    answer = track.put("/api/v1/customers/u1", {})
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "1"


def test_data_the_storage_refuses_is_a_400(track, monkeypatch):
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import PutError

    from nudge.tracking import people

    def refused(*_args, **_kwargs):
        cause = ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "PutItem")
        raise PutError("Failed to put item", cause)

    monkeypatch.setattr(people, "identify", refused)
    answer = track.put("/api/v1/customers/u1", {})
    assert answer.status == 400
    assert answer.json == {"meta": {"error": "request contains data that cannot be stored"}}
