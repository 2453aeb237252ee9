"""The App API bodies declared once (``nudge.http.app_api.bodies``): the schema a route serves and the
checks that read its body agree, on a body each accepts and on the ones each refuses (a field left out,
a blank or malformed value), and both ignore a key they do not know."""

import pytest
from jsonschema import Draft202012Validator

from nudge.campaigns import trigger_request
from nudge.errors import InvalidRequest
from nudge.http.app_api import keys, members, person_changes, segments, sessions
from nudge.reporting import store
from nudge.shapes import Shape

EMAIL = "ada@example.com"
HOOK = {"name": "h", "endpoint": "https://example.com/hook", "events": ["email_sent"]}
CASES = [
    (keys.CREATE_BODY, {"type": "app", "name": "ci", "other": 1}, True),
    (keys.CREATE_BODY, {"name": "ci"}, False),
    (keys.CREATE_BODY, {"type": "app", "name": "   "}, False),
    (keys.CREATE_BODY, {"type": "admin", "name": "ci"}, False),
    (members.ADD_BODY, {"email": f" {EMAIL} ", "role": "author", "other": 1}, True),
    (members.ADD_BODY, {"email": "ada@example", "role": "author"}, False),
    (members.ADD_BODY, {"email": EMAIL}, False),
    (members.CHANGE_BODY, {"role": "viewer"}, True),
    (members.CHANGE_BODY, {"role": "owner"}, False),
    (sessions.SIGN_IN_BODY, {"email": EMAIL, "password": "p", "other": 1}, True),
    (sessions.SIGN_IN_BODY, {"email": EMAIL, "password": ""}, False),
    (sessions.FIRST_PASSWORD_BODY, {"email": EMAIL, "password": "p", "new_password": "q"}, True),
    (sessions.FIRST_PASSWORD_BODY, {"email": EMAIL, "password": "p"}, False),
    (store.CREATE_BODY, {**HOOK, "disabled": True, "other": 1}, True),
    (store.CREATE_BODY, {**HOOK, "name": " "}, False),
    (store.CREATE_BODY, {**HOOK, "endpoint": "ftp://example.com"}, False),
    (store.CREATE_BODY, {"name": "h", "endpoint": "https://example.com"}, False),
    (store.UPDATE_BODY, {"with_content": True}, True),
    (store.UPDATE_BODY, {"name": None}, False),
    (store.UPDATE_BODY, {"disabled": "yes"}, False),
    (person_changes.ATTRIBUTES_BODY, {"attributes": {"plan": "pro"}, "other": 1}, True),
    (person_changes.ATTRIBUTES_BODY, {"attributes": {}}, False),
    (person_changes.ATTRIBUTES_BODY, {"attributes": {"email": "a@b.c"}}, False),
    (person_changes.ATTRIBUTES_BODY, {}, False),
    # A segment's own fields are read by ``definitions.create`` / ``update``: the envelope here, the
    # fields in tests/integration/test_segments.py.
    (segments.CREATE_BODY, {"segment": {"name": "s", "conditions": None, "other": 1}, "other": 1}, True),
    (segments.CREATE_BODY, {"segment": []}, False),
    (segments.UPDATE_BODY, {"segment": {"name": None}}, True),
    (segments.UPDATE_BODY, {}, False),
]


@pytest.mark.parametrize(("shape", "body", "accepted"), CASES)
def test_the_served_schema_and_the_reader_agree(shape: Shape, body: dict[str, object], accepted: bool):
    assert Draft202012Validator(shape.schema({})).is_valid(body) is accepted
    try:
        shape.read(body, ())
    except InvalidRequest:
        assert not accepted
    else:
        assert accepted


SEGMENT_3 = {"segment": {"id": 3}}
TRIGGERS = [
    ({"ids": [1, "b"], "other": 1}, True),
    ({"recipients": SEGMENT_3, "ids": None, "data": None, "id_ignore_missing": None}, True),
    ({"per_user_data": [{"email": "a@b.c", "id": None, "data": {"k": 1}}]}, True),
    ({}, False),
    ({"ids": [1], "emails": ["a@b.c"]}, False),
    ({"ids": []}, False),
    ({"ids": [1], "data_file_url": "https://example.com/ids.csv"}, False),
    ({"ids": [1], "id_ignore_missing": "yes"}, False),
    ({"ids": [1], "data": []}, False),
    ({"emails": ["not an email"]}, False),
    ({"per_user_data": [{"id": 1, "name": "x"}]}, False),
    ({"per_user_data": [{"id": 1, "email": "a@b.c"}]}, False),
]


@pytest.mark.parametrize(("body", "accepted"), TRIGGERS)
def test_the_trigger_schema_and_its_reader_agree(body: dict[str, object], accepted: bool):
    assert Draft202012Validator(trigger_request.TRIGGER_BODY_SCHEMA).is_valid(body) is accepted
    try:
        trigger_request.read(body, lambda _recipients: {"kind": "segment", "segment_id": "3"})
    except InvalidRequest:
        assert not accepted
    else:
        assert accepted
