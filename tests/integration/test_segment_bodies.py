"""The segment bodies' served schema (``definitions.segment_schema``) and what POST and PUT /v1/segments
do with a segment's fields agree: each body the schema refuses is a 400, each it accepts is read."""

import pytest
from jsonschema import Draft202012Validator

from nudge.http.app_api.segments import CREATE_BODY, UPDATE_BODY

CREATED = [
    ({"name": "Manual", "description": 7, "conditions": None}, 200),  # a description not a string: ignored
    ({"name": "  "}, 400),
    ({"name": "x" * 256}, 400),
    ({"description": "no name"}, 400),
]
UPDATED = [({"name": None, "description": "kept name"}, 200), ({"name": ""}, 400)]


@pytest.mark.parametrize(("segment", "status"), CREATED)
def test_a_new_segment(app, segment, status):
    body = {"segment": segment}
    assert Draft202012Validator(CREATE_BODY.schema({})).is_valid(body) is (status == 200)
    assert app.post("/v1/segments", body).status == status


@pytest.mark.parametrize(("segment", "status"), UPDATED)
def test_a_changed_segment(app, segment, status):
    created = app.post("/v1/segments", {"segment": {"name": "Manual"}}).json["segment"]
    body = {"segment": segment}
    assert Draft202012Validator(UPDATE_BODY.schema({})).is_valid(body) is (status == 200)
    assert app.put(f"/v1/segments/{created['id']}", body).status == status
