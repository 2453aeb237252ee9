"""What the delivery routes read from a request body, declared once: the field lists and limits their
parsers (``template_store``, ``transactional``, ``settings``) check, and the JSON Schemas the App API's
OpenAPI document gives for the same bodies.

Kept apart from the parsers because the route table names these schemas when it is imported, and the
parsers import jinja2, MIME and SMTP, which a cold start should pay for only when a route renders or
sends (see ``nudge.http.app_api.delivery``).
"""

from __future__ import annotations

import re
from typing import Any

from nudge.delivery.channel_names import CHANNELS, WEBHOOK
from nudge.errors import InvalidRequest
from nudge.shapes import Described, Field, Leaf, Nullable, Obj, Open, Path, ShapeError
from nudge.tracking.identifiers import identifiers_schema
from nudge.tracking.limits import MAX_TIMESTAMP

# --- templates, layouts and snippets (``template_store``) ------------------------------------------

TEMPLATE_CHANNELS = CHANNELS
# Template languages. Content saved before languages existed has none and is Jinja; a new workspace's
# default is Liquid (Customer.io's), an older one's Jinja (delivery settings' ``template_language``).
LIQUID, JINJA = "liquid", "jinja"
TEMPLATE_LANGUAGES = (LIQUID, JINJA)
# Per channel: (required fields, optional fields). Every field is template source text except headers.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "email": (("subject", "body"), ("body_plain", "from", "reply_to", "preheader", "layout_id", "headers")),
    "sms": (("body",), ()),
    "push": (("message",), ("title", "link", "image_url", "sound")),
    "in_app": (("body",), ("title",)),
    "webhook": (("url",), ("body", "method", "headers")),
}
# The channels whose messages people unsubscribe from, globally or by subscription topic.
SUBSCRIPTION_CHANNELS = frozenset({"email", "sms", "push"})
NAME_MAX = 200
SOURCE_MAX = 200_000
SNIPPET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TRIGGER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
LAYOUT_CONTENT = r"{{-?\s*content\s*-?}}"  # where a layout places the message

_NAME_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": NAME_MAX}
_SOURCE_SCHEMA: dict[str, Any] = {"type": "string", "maxLength": SOURCE_MAX}
_HEADERS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
LANGUAGE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(TEMPLATE_LANGUAGES),
    "description": "the template language: the workspace's default when created, the stored one on update",
}
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "headers": _HEADERS_SCHEMA,
    "method": {"type": "string", "enum": ["POST", "PUT"]},
    "layout_id": {"type": "string", "description": "a layout of this workspace"},
}
# PUT /v1/templates/{id}: a template's fields. The channel is the stored one (it cannot change), and
# the fields it requires must be given again: a PUT replaces them all.
TEMPLATE_UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": _NAME_SCHEMA,
        "trigger_name": {"type": ["string", "null"], "pattern": TRIGGER_NAME.pattern},
        "language": LANGUAGE_SCHEMA,
        "topic_id": {
            "type": ["integer", "string", "null"],
            "description": "the subscription topic its messages belong to (4 or topic_4): email, sms, push",
        },
        "send_to_unsubscribed": {
            "type": ["boolean", "null"],
            "description": "sent as a transactional message: still to people who unsubscribed (default "
            "true); false honours their global and topic choices",
        },
        **{
            key: _FIELD_SCHEMAS.get(key, _SOURCE_SCHEMA)
            for required, optional in FIELDS.values()
            for key in required + optional
        },
    },
}
# POST /v1/templates: a name, a channel and that channel's required fields.
TEMPLATE_SCHEMA: dict[str, Any] = {
    **TEMPLATE_UPDATE_SCHEMA,
    "required": ["name", "channel"],
    "properties": {"channel": {"enum": list(TEMPLATE_CHANNELS)}, **TEMPLATE_UPDATE_SCHEMA["properties"]},
    "allOf": [
        {
            "if": {"properties": {"channel": {"const": channel}}, "required": ["channel"]},
            "then": {"required": list(required)},
        }
        for channel, (required, _) in FIELDS.items()
    ],
}
# POST /v1/templates/{id}/preview: who to render it for, and the data a send would carry.
PREVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["identifiers"],
    "properties": {
        "identifiers": identifiers_schema(allow_phone=False),
        "message_data": {"type": ["object", "null"]},
    },
}
# POST /v1/templates/preview: content not saved yet (the console's live preview), rendered for a person;
# a draft layout and a draft snippet may stand in for the stored ones.
DRAFT_PREVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["template", "identifiers"],
    "properties": {
        "template": {
            **TEMPLATE_UPDATE_SCHEMA,
            "required": ["channel"],
            "properties": {
                "channel": {"enum": list(TEMPLATE_CHANNELS)},
                **TEMPLATE_UPDATE_SCHEMA["properties"],
            },
        },
        "layout": {
            "type": ["object", "null"],
            "required": ["body"],
            "properties": {
                "body": {**_SOURCE_SCHEMA, "pattern": LAYOUT_CONTENT},
                "language": LANGUAGE_SCHEMA,
            },
        },
        "snippet": {
            "type": ["object", "null"],
            "required": ["name", "value"],
            "properties": {
                "name": {"type": "string", "pattern": SNIPPET_NAME.pattern},
                "value": _SOURCE_SCHEMA,
                "language": LANGUAGE_SCHEMA,
            },
        },
        "identifiers": identifiers_schema(allow_phone=False),
        "message_data": {"type": ["object", "null"]},
    },
}
# POST /v1/templates/{id}/test: whom to render it for (optional), the data, and (an API key's) recipient.
TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "identifiers": {"oneOf": [identifiers_schema(allow_phone=False), {"type": "null"}]},
        "message_data": {"type": ["object", "null"]},
        "to": {"type": ["string", "null"], "format": "email"},
    },
}
LAYOUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "body"],
    "properties": {
        "name": _NAME_SCHEMA,
        "body": {**_SOURCE_SCHEMA, "pattern": LAYOUT_CONTENT},
        "language": LANGUAGE_SCHEMA,
    },
}

# A snippet's content is Customer.io's ``value``; Nudge's first form named it ``body``, still accepted and
# still answered, so clients of either form read what they wrote.
SNIPPET_CONTENT = ("value", "body")
# PUT /v1/snippets/{name}: Nudge's first form, the name in the path.
SNIPPET_CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {**{key: _SOURCE_SCHEMA for key in SNIPPET_CONTENT}, "language": LANGUAGE_SCHEMA},
    "anyOf": [{"required": [key]} for key in SNIPPET_CONTENT],
}
# PUT and POST /v1/snippets: Customer.io's form, the name in the body.
SNIPPET_SCHEMA: dict[str, Any] = {
    **SNIPPET_CONTENT_SCHEMA,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": SNIPPET_NAME.pattern},
        **SNIPPET_CONTENT_SCHEMA["properties"],
    },
}

# --- transactional sends (``transactional``) --------------------------------------------------------

SEND_CHANNELS = tuple(channel for channel in CHANNELS if channel != WEBHOOK)  # Customer.io sends no webhook
# Inline fields each channel accepts (Customer.io's names); each is template source.
INLINE = {
    "email": ("subject", "body", "body_plain", "from", "reply_to", "preheader"),
    "sms": ("body",),
    "push": ("title", "message", "link", "image_url", "sound"),
    "in_app": ("title", "body"),
}
INLINE_REQUIRED = {"email": ("subject", "body"), "sms": ("body",), "push": ("message",), "in_app": ("body",)}
SEND_FLAGS = ("send_to_unsubscribed", "tracked", "disable_message_retention", "queue_draft")
ATTACHMENTS_MAX_BYTES = 200_000  # decoded; stored as base64 (~270 KB) in one DynamoDB item (400 KB)
MESSAGE_DATA_MAX_BYTES = 50_000


def send_schema(channel: str) -> dict[str, Any]:
    """``POST /v1/send/<channel>``: a template (``transactional_message_id``), or the channel's inline
    fields, which are then required."""
    inline: dict[str, Any] = {name: {"type": "string"} for name in INLINE[channel]}
    if channel == "email":
        inline["_from"] = {"type": "string", "description": "from, as some of Customer.io's clients name it"}
    return {
        "type": "object",
        "required": ["identifiers"],
        "properties": {
            "identifiers": identifiers_schema(allow_phone=False),
            "transactional_message_id": {
                "type": ["integer", "string"],
                "description": "a template's id or trigger_name",
            },
            **inline,
            **{flag: {"type": ["boolean", "null"]} for flag in SEND_FLAGS},
            "to": {"type": ["string", "null"], "minLength": 1},
            "bcc": {"type": ["string", "array", "null"], "items": {"type": "string"}},
            "headers": {**_HEADERS_SCHEMA, "type": ["object", "null"]},
            "custom_data": {"type": ["object", "null"]},
            "message_data": {
                "type": ["object", "null"],
                "description": f"at most {MESSAGE_DATA_MAX_BYTES} bytes as JSON",
            },
            "attachments": {
                "type": ["object", "null"],
                "additionalProperties": {"type": "string", "contentEncoding": "base64"},
                "description": f"file name to base64 content, at most {ATTACHMENTS_MAX_BYTES} bytes decoded",
            },
            "send_at": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_TIMESTAMP},
        },
        "anyOf": [
            {"required": ["transactional_message_id"]},
            {"required": list(INLINE_REQUIRED[channel])},
        ],
    }


# --- delivery settings (``settings``) ---------------------------------------------------------------

MAX_SENDING_RATE = 10_000
MAX_MESSAGE_LIMIT = 1_000_000  # messages per person per window: beyond it there is no limit to speak of
MAX_ADDRESS_LENGTH = 320  # "Name <address>": RFC 5321 caps the address itself at 254
MAX_HOST_LENGTH = 253  # DNS
MAX_SECRET_LENGTH = 1024  # SMTP username and password
SMTP_SECURITY = ("starttls", "tls", "none")
UNSET: Any = object()  # a settings field left out: kept as it is (null clears it)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def sender_address(value: str) -> str:
    """``Name <a@b.c>`` or ``a@b.c`` -> the address."""
    match = re.search(r"<([^>]+)>\s*$", value)
    return match.group(1) if match else value.strip()


def _is_whole(value: Any, low: int, high: int) -> bool:
    """An integer in ``low..high``. JSON's true and false are not numbers, though Python's bool is an int."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _whole(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


# Each reader's message follows the field's dotted path (``read_settings`` puts it in front).


def _read_address(value: Any, path: Path) -> str | None:
    if value is not None and (not isinstance(value, str) or not _EMAIL.match(sender_address(value))):
        raise ShapeError(path, "invalid", "must be an email address")
    if value is not None and len(value) > MAX_ADDRESS_LENGTH:
        raise ShapeError(path, "invalid", f"cannot be longer than {MAX_ADDRESS_LENGTH} characters")
    return value


def _read_host(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_HOST_LENGTH:
        raise ShapeError(path, "invalid", "must be a host name")
    return value


def _read_port(value: Any, path: Path) -> int:
    if not _is_whole(value, 1, 65535):
        raise ShapeError(path, "invalid", "must be a port number")
    return int(value)


def _read_security(value: Any, path: Path) -> str:
    if value not in SMTP_SECURITY:
        raise ShapeError(path, "invalid", f"must be one of {', '.join(SMTP_SECURITY)}")
    return str(value)


def _read_secret(value: Any, path: Path) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ShapeError(path, "invalid", "must be a string")
    if value is not None and len(value) > MAX_SECRET_LENGTH:
        raise ShapeError(path, "invalid", f"cannot be longer than {MAX_SECRET_LENGTH} characters")
    return value


def _read_limit(value: Any, path: Path) -> tuple[int | None, int | None]:
    """(count, days); (None, None) for null, which lifts the limit. Anything but an object is told by its
    count, as a count missing from an object is."""
    if value is None:
        return None, None
    count, days = (value.get("count"), value.get("days")) if isinstance(value, dict) else (None, None)
    if not _is_whole(count, 1, MAX_MESSAGE_LIMIT):
        raise ShapeError((*path, "count"), "invalid", f"must be a whole number from 1 to {MAX_MESSAGE_LIMIT}")
    if not _is_whole(days, 1, 365):
        raise ShapeError((*path, "days"), "invalid", "must be 1 to 365")
    return count, days


def _read_rate(value: Any, path: Path) -> int | None:
    if value is not None and not _is_whole(value, 1, MAX_SENDING_RATE):
        raise ShapeError(path, "invalid", f"must be 1 to {MAX_SENDING_RATE} messages per second")
    return value


def _read_language(value: Any, path: Path) -> str:
    if value not in TEMPLATE_LANGUAGES:
        raise ShapeError(path, "invalid", f"must be one of {', '.join(TEMPLATE_LANGUAGES)}")
    return str(value)


_ADDRESS = Described(
    Leaf(_read_address, {"type": ["string", "null"], "maxLength": MAX_ADDRESS_LENGTH}),
    "a@b.c or Name <a@b.c>; null clears it",
)
_SECRET = Leaf(_read_secret, {"type": ["string", "null"], "maxLength": MAX_SECRET_LENGTH})
# An object of these (null: no SMTP server of its own); a host is required, the rest have defaults.
_SMTP = Open(
    Obj(
        {
            "host": Field(
                Leaf(_read_host, {"type": "string", "minLength": 1, "maxLength": MAX_HOST_LENGTH}),
                default=None,  # read when left out: ``_read_host`` tells it, in its own words
            ),
            "port": Field(Leaf(_read_port, _whole(1, 65535)), default=587),
            "security": Field(Leaf(_read_security, {"enum": list(SMTP_SECURITY)}), default="starttls"),
            "username": Field(_SECRET),
            # Left out: the stored one is kept (it is never read back, so a round trip must not erase it).
            "password": Field(Described(_SECRET, "kept when left out"), absent=UNSET),
        },
        extra={"required": ["host"]},
    )
)
# PUT /v1/settings/delivery: each field present is applied (UNSET when left out), null clears it; checked
# in this order.
SETTINGS = Open(
    Obj(
        {
            "from": Field(_ADDRESS, absent=UNSET),
            "reply_to": Field(_ADDRESS, absent=UNSET),
            "smtp": Field(Nullable(_SMTP), absent=UNSET),
            "message_limit": Field(
                Leaf(
                    _read_limit,
                    {
                        "type": ["object", "null"],
                        "required": ["count", "days"],
                        "properties": {"count": _whole(1, MAX_MESSAGE_LIMIT), "days": _whole(1, 365)},
                    },
                ),
                absent=UNSET,
            ),
            "sending_rate": Field(
                Leaf(_read_rate, {**_whole(1, MAX_SENDING_RATE), "type": ["integer", "null"]}), absent=UNSET
            ),
            "template_language": Field(
                Described(
                    Leaf(_read_language, {"type": "string", "enum": list(TEMPLATE_LANGUAGES)}),
                    "what new templates, layouts, snippets and inline transactional content are "
                    "written in when they do not say",
                ),
                absent=UNSET,
            ),
            # Only true rotates the key: any other value (false, null, a string) leaves it.
            "rotate_webhook_signing_key": Field(
                Described(Leaf(lambda value, _path: value is True, {}), "true: a new webhook signing key"),
            ),
        }
    )
)
SETTINGS_SCHEMA: dict[str, Any] = SETTINGS.schema({})


def read_settings(body: dict[str, Any]) -> dict[str, Any]:
    """The settings body read, or the 400 naming its first problem ("smtp.port must be a port number")."""
    try:
        read: dict[str, Any] = SETTINGS.read(body, ())
    except ShapeError as exc:
        field = ".".join(map(str, exc.path))
        raise InvalidRequest(f"{field} {exc.message}", field=field) from None
    return read
