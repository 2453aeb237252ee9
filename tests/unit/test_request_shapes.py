"""The delivery bodies' served schemas and their readers are one declaration (``nudge.shapes``): they
agree on what is accepted, including where they once disagreed."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from nudge.delivery import request_shapes
from nudge.errors import InvalidRequest


def _accepted(read: Any, body: dict[str, Any]) -> bool:
    try:
        read(body)
    except InvalidRequest:
        return False
    return True


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"from": "Shop <news@shop.test>", "smtp": {"host": "smtp.shop.test"}, "unread": 1}, True),
        ({"smtp": None, "message_limit": None, "sending_rate": None, "reply_to": None}, True),
        # Only true rotates the key; the parser has always let any other value leave it.
        ({"rotate_webhook_signing_key": "yes"}, True),
        ({"smtp": {"port": 25}}, False),
        ({"smtp": {"host": "h", "port": None}}, False),
        ({"smtp": "h"}, False),
        ({"message_limit": {"count": 3}}, False),
        ({"template_language": None}, False),
        ({"sending_rate": 0}, False),
    ],
)
def test_the_settings_schema_and_reader_agree(body, valid):
    assert Draft202012Validator(request_shapes.SETTINGS_SCHEMA).is_valid(body) == valid
    assert _accepted(request_shapes.read_settings, body) == valid


def test_a_settings_problem_is_told_at_its_dotted_path():
    with pytest.raises(InvalidRequest) as caught:
        request_shapes.read_settings({"smtp": {"host": "h", "port": 0}})
    assert (caught.value.messages, caught.value.field) == (["smtp.port must be a port number"], "smtp.port")
