"""The Pipelines API's times: ISO-8601 as Segment's spec and the official SDKs send them (the clock-skew
correction by sentAt is tested through the handler, tests/integration/test_pipelines_api.py)."""

import pytest

from nudge.errors import InvalidRequest
from nudge.http.pipelines_calls import parse_time

JAN_1_2026 = 1_767_225_600


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.000Z",  # the Node SDK's Date.toISOString()
        "2026-01-01T01:00:00.000+01:00",  # the Python SDK's isoformat(timespec="milliseconds")
        "2026-01-01T00:00:00",  # no offset: UTC
        JAN_1_2026,  # unix seconds are accepted too
        str(JAN_1_2026),
    ],
)
def test_times_read_as_segment_sends_them(value):
    assert parse_time(value, "timestamp") == JAN_1_2026


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-13-01T00:00:00Z", True, -5, "99999-01-01T00:00:00Z", [1]]
)
def test_anything_else_is_refused_naming_the_field(value):
    with pytest.raises(InvalidRequest) as refused:
        parse_time(value, "sentAt")
    assert refused.value.field == "sentAt"
