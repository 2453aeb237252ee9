"""The delivery bodies' served schemas and their readers are one declaration (``nudge.shapes``): they
agree on what is accepted, including where they once disagreed."""

from __future__ import annotations

from typing import Any

import pytest

from nudge.delivery import request_shapes, template_store
from nudge.errors import InvalidRequest
from tests.support.bodies import verdicts


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
    assert verdicts(request_shapes.SETTINGS_SCHEMA, request_shapes.read_settings, body) == (valid, valid)


def test_a_settings_problem_is_told_at_its_dotted_path():
    with pytest.raises(InvalidRequest) as caught:
        request_shapes.read_settings({"smtp": {"host": "h", "port": 0}})
    assert (caught.value.messages, caught.value.field) == (["smtp.port must be a port number"], "smtp.port")


def _template(body: dict[str, Any]) -> Any:
    return template_store.draft("ws", {"language": "liquid", **body})


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"name": "W", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>", "body_plain": None}, True),
        (
            {
                "name": "H",
                "channel": "webhook",
                "url": "https://x.test",
                "method": "PUT",
                "headers": {"a": "b"},
            },
            True,
        ),
        (
            {"name": "W", "channel": "sms", "body": "Hi", "trigger_name": None, "send_to_unsubscribed": None},
            True,
        ),
        (
            {
                "name": "W",
                "channel": "email",
                "subject": "Hi",
                "body": "<p>Hi</p>",
                "layout_id": None,
                "headers": None,
            },
            True,
        ),
        ({"name": "H", "channel": "webhook", "url": "https://x.test", "method": None, "headers": None}, True),
        ({"name": "  ", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>"}, False),
        ({"name": "W", "channel": "email", "subject": "Hi"}, False),
        ({"name": "W", "channel": "sms", "body": "Hi", "trigger_name": "9 starts with a digit"}, False),
        ({"name": "W", "channel": "webhook", "url": "https://x.test", "method": "GET"}, False),
    ],
)
def test_the_template_schema_and_reader_agree(body, valid):
    assert verdicts(request_shapes.TEMPLATE_SCHEMA, _template, body) == (valid, valid)


@pytest.mark.parametrize(
    ("schema", "read", "body", "valid"),
    [
        ("LAYOUT_SCHEMA", "layout", {"name": "F", "body": "<main>{{ content }}</main>"}, True),
        ("LAYOUT_SCHEMA", "layout", {"name": "F", "body": "<main>no content</main>"}, False),
        ("SNIPPET_SCHEMA", "snippet", {"name": "address", "value": None, "body": "1 Fake St"}, True),
        ("SNIPPET_SCHEMA", "snippet", {"name": "address", "value": None}, False),
        ("SNIPPET_SCHEMA", "snippet", {"name": "main address", "value": "x"}, False),
    ],
)
def test_the_layout_and_snippet_schemas_and_readers_agree(schema, read, body, valid):
    readers = {"layout": template_store.layout_draft, "snippet": template_store.snippet_draft}
    assert verdicts(
        getattr(request_shapes, schema), lambda b: readers[read]("ws", {"language": "jinja", **b}), body
    ) == (valid, valid)


@pytest.mark.parametrize(
    ("options", "valid"),
    [
        (
            {"to": " a@b.c ", "bcc": "c@d.e, e@f.g", "send_at": None, "message_data": None, "tracked": None},
            True,
        ),
        ({"attachments": {"a.txt": "aGk="}, "headers": {"X-A": "b"}, "custom_data": {"n": 1}}, True),
        ({"to": "  "}, False),
        ({"bcc": ["a@b.c", 1]}, False),
        ({"send_at": -1}, False),
        ({"queue_draft": "yes"}, False),
    ],
)
def test_the_send_schema_and_options_reader_agree(options, valid):
    body = {"identifiers": {"id": "ann"}, "transactional_message_id": 3, **options}
    assert verdicts(
        request_shapes.send_schema("email"),
        lambda b: request_shapes.read(request_shapes.SEND_OPTIONS, b, ()),
        body,
    ) == (valid, valid)
