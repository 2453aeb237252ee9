"""The field an ``InvalidRequest`` names, as the JSON pointer (RFC 6901) an App API 400 carries."""

import pytest

from nudge.errors import InvalidRequest


@pytest.mark.parametrize(
    ("field", "pointer"),
    [
        ("name", "/name"),
        ("segment.conditions", "/segment/conditions"),
        ("ids[1]", "/ids/1"),
        ("filter.and[0].device", "/filter/and/0/device"),
        ("conditions.and[10].or[2].attribute.field", "/conditions/and/10/or/2/attribute/field"),
        ("", None),
    ],
)
def test_a_field_is_named_by_its_json_pointer(field, pointer):
    assert InvalidRequest("refused", field=field).pointer == pointer
