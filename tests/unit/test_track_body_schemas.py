"""The Track API's served request schemas and its readers agree: each body below is accepted by both or
refused by both (cases a new-user trial found the schema refusing while the API accepted them)."""

from __future__ import annotations

from typing import Any

import pytest

from nudge.http import track_operations
from nudge.tracking import events
from nudge.tracking.identify_request import IDENTIFY_SCHEMA, IdentifyRequest
from tests.support.bodies import verdicts


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"email": "ann@example.com"}, True),
        ({"email": None, "created_at": None, "_timestamp": None}, True),
        ({"id": None, "anonymous_id": ""}, True),
        ({"cio_subscription_preferences": None}, True),
        ({"created_at": "1700000000", "_timestamp": 1700000000.5}, True),
        ({"_update": "yes"}, True),
        ({"created_at": -1}, False),
        ({"created_at": "soon"}, False),
        ({"anonymous_id": "x" * 200}, False),
    ],
)
def test_identify(body: dict[str, Any], valid: bool) -> None:
    assert verdicts(IDENTIFY_SCHEMA, IdentifyRequest.parse, body) == (valid, valid)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"name": "viewed"}, True),
        ({"name": "viewed", "data": None, "type": None, "timestamp": None, "id": None}, True),
        ({"name": "viewed", "id": ""}, True),
        ({"name": " "}, False),
        ({"name": "viewed", "type": "click"}, False),
    ],
)
def test_event(body: dict[str, Any], valid: bool) -> None:
    assert verdicts(events.EVENT_SCHEMA, events.EventRequest.parse, body) == (valid, valid)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"name": "viewed", "anonymous_id": ""}, True),
        ({"name": "viewed", "anonymous_id": None}, True),
        ({"name": "viewed", "anonymous_id": "a1"}, True),
    ],
)
def test_anonymous_event(body: dict[str, Any], valid: bool) -> None:
    assert verdicts(events.ANONYMOUS_EVENT_SCHEMA, events.parse_anonymous, body) == (valid, valid)


PERSON = {"type": "person", "identifiers": {"id": "ann"}}


@pytest.mark.parametrize(
    ("op", "valid"),
    [
        ({**PERSON, "action": "delete_device", "device": {"token": "tk"}}, True),
        ({**PERSON, "action": "delete_device", "device": {}}, False),
        ({**PERSON, "action": "delete_device"}, False),
        ({**PERSON, "action": "add_device", "device": {"token": "tk", "platform": "ios"}}, True),
        ({**PERSON, "action": "add_device", "device": {"token": "tk"}}, False),
        (
            {
                **PERSON,
                "action": "add_device",
                "device": {"token": "tk", "platform": "ios", "last_used": None},
            },
            True,
        ),
        ({**PERSON, "action": "identify", "attributes": None, "timestamp": None}, True),
    ],
)
def test_v2_device_operations(op: dict[str, Any], valid: bool) -> None:
    assert verdicts(track_operations.OP_SCHEMA, track_operations.read, op) == (valid, valid)
