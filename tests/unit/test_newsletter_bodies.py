"""The newsletter bodies' served schemas are written from the shapes their parsers read the fields with
(``nudge.campaigns.newsletters``): they agree on what is accepted, including where they once disagreed
(null for a field left out, the channel's inline fields, an A/B test's bounds, a schedule's formats)."""

from __future__ import annotations

from typing import Any

import pytest

from nudge.campaigns import newsletters
from nudge.delivery.request_shapes import read
from nudge.http.app_api import newsletters as routes
from tests.support.bodies import verdicts

EMAIL = {"name": "Weekly", "subject": "Hi", "body": "<p>Hi</p>"}
TWO = [{"subject": "A", "body": "a"}, {"subject": "B", "body": "b"}]


def _definition(body: dict[str, Any]) -> Any:
    return newsletters.parse_definition("ws", body, "liquid")


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({**EMAIL, "recipients": None, "timezone": None, "variants": None, "unread": 1}, True),
        ({"name": "Push", "type": "push", "title": "T", "message": "M", "link": "https://x.test"}, True),
        ({**EMAIL, "variants": TWO}, True),
        ({**EMAIL, "name": "  "}, False),
        ({**EMAIL, "type": None}, False),
        ({**EMAIL, "variants": []}, False),
        ({**EMAIL, "subject": 3}, False),
    ],
)
def test_the_create_schema_and_reader_agree(body, valid):
    assert verdicts(routes.CREATE_SCHEMA, _definition, body) == (valid, valid)


@pytest.mark.parametrize(
    ("ab_test", "valid"),
    [
        ({"test_percent": 20, "wait_seconds": 3600}, True),
        ({"test_percent": 20, "metric": "click", "wait_seconds": 60}, True),
        ({"test_percent": 100, "wait_seconds": 3600}, False),
        ({"test_percent": 20}, False),
        ({"test_percent": 20, "metric": None, "wait_seconds": 3600}, False),
    ],
)
def test_the_ab_test_schema_and_reader_agree(ab_test, valid):
    body = {**EMAIL, "variants": TWO, "ab_test": ab_test}
    assert verdicts(routes.CREATE_SCHEMA, _definition, body) == (valid, valid)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({}, True),
        ({"send_now": True, "scheduled_at": None, "local_time": None}, True),
        ({"scheduled_at": 1_900_000_000}, True),
        ({"local_time": {"date": "2026-12-24", "time": "09:00"}}, True),
        ({"scheduled_at": -1}, False),
        ({"local_time": {"date": "24/12/2026", "time": "09:00"}}, False),
        ({"local_time": {"date": "2026-12-24"}}, False),
    ],
)
def test_the_schedule_schema_and_reader_agree(body, valid):
    schema = newsletters.SCHEDULE.schema({})
    assert verdicts(schema, lambda b: read(newsletters.SCHEDULE, b, ()), body) == (valid, valid)
