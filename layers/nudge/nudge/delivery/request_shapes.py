"""What the delivery routes read from a request body, declared once (``nudge.shapes``): each field's
check beside its JSON Schema, which the parsers (``template_store``, ``transactional``, ``settings``)
read the fields through and from which the App API's OpenAPI document writes the same bodies' schemas.
``read`` turns a field's problem into the 400 naming it (newsletters and exports read theirs with it).

Kept apart from the parsers because the route table names these schemas when it is imported, and the
parsers import jinja2, MIME and SMTP, which a cold start should pay for only when a route renders or
sends (see ``nudge.http.app_api.delivery``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from nudge.delivery.channel_names import CHANNELS, WEBHOOK
from nudge.errors import InvalidRequest
from nudge.shapes import (
    NOT_BLANK,
    Defs,
    Described,
    Field,
    Leaf,
    Nullable,
    Obj,
    Open,
    Path,
    Shape,
    ShapeError,
    or_null,
)
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


def read(shape: Shape, value: Any, path: Path) -> Any:
    """``value`` read through ``shape``, or the 400 naming the field its first problem is at (the readers
    write the whole message)."""
    try:
        return shape.read(value, path)
    except ShapeError as exc:
        raise InvalidRequest(exc.message, field=".".join(map(str, exc.path)), reason=exc.rule) from None


# Each field's check beside its schema; ``template_store`` reads the fields through them in its order,
# between the checks that need the workspace (its default language, its layouts and topics).


def _read_name(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_MAX:
        raise ShapeError(path, "invalid", f"name must be 1 to {NAME_MAX} characters")
    return value.strip()


def _read_channel(value: Any, path: Path) -> str:
    if value not in TEMPLATE_CHANNELS:
        raise ShapeError(path, "invalid", f"channel must be one of {', '.join(TEMPLATE_CHANNELS)}")
    return str(value)


def _read_language(value: Any, path: Path) -> str | None:
    """The language asked for; None when not said (then the stored one, or the workspace's default)."""
    if value is not None and value not in TEMPLATE_LANGUAGES:
        raise ShapeError(path, "invalid", f"language must be one of {', '.join(TEMPLATE_LANGUAGES)}")
    return None if value is None else str(value)


def _read_source(value: Any, path: Path) -> str:
    """Template source (its syntax is checked in its language: ``template_store._check``)."""
    if not isinstance(value, str) or len(value) > SOURCE_MAX:
        raise ShapeError(path, "invalid", f"{path[-1]} must be a string of at most {SOURCE_MAX} characters")
    return value


def _read_headers(value: Any, path: Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ShapeError(path, "invalid", "headers must be an object of strings")
    return value


def _read_method(value: Any, path: Path) -> str:
    if value not in WEBHOOK_METHODS:
        raise ShapeError(path, "invalid", f"method must be {' or '.join(WEBHOOK_METHODS)}")
    return str(value)


def _read_trigger(value: Any, path: Path) -> str | None:
    if value is not None and (not isinstance(value, str) or not TRIGGER_NAME.match(value)):
        message = "trigger_name must start with a letter and hold only letters, digits, _ . -"
        raise ShapeError(path, "invalid", message)
    return value


def _read_flag(value: Any, path: Path) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ShapeError(path, "invalid", f"{path[-1]} must be true or false")
    return value


def _read_layout_body(value: Any, path: Path) -> str:
    if not isinstance(value, str) or len(value) > SOURCE_MAX:
        raise ShapeError(path, "invalid", f"body must be a string of at most {SOURCE_MAX} characters")
    if not re.search(LAYOUT_CONTENT, value):
        raise ShapeError(path, "invalid", "a layout must place the message with {{ content }}")
    return value


def _read_snippet_name(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not SNIPPET_NAME.match(value):
        raise ShapeError(path, "invalid", "snippet names are letters, digits and _ (at most 64)")
    return value


WEBHOOK_METHODS = ("POST", "PUT")
NAME = Leaf(_read_name, {"type": "string", "maxLength": NAME_MAX, "pattern": NOT_BLANK})
CHANNEL = Leaf(_read_channel, {"enum": list(TEMPLATE_CHANNELS)})
LANGUAGE = Described(
    Leaf(_read_language, {"enum": [*TEMPLATE_LANGUAGES, None]}),
    "the template language: the workspace's default when created, the stored one on update",
)
# A field of content given as null is left out (a required one is then missing).
SOURCE = Leaf(_read_source, {"type": ["string", "null"], "maxLength": SOURCE_MAX})
HEADERS = Leaf(_read_headers, {"type": "object", "additionalProperties": {"type": "string"}})
TRIGGER = Leaf(_read_trigger, {"type": ["string", "null"], "pattern": TRIGGER_NAME.pattern})
SEND_TO_UNSUBSCRIBED = Described(
    Leaf(_read_flag, {"type": ["boolean", "null"]}),
    "sent as a transactional message: still to people who unsubscribed (default true); false honours "
    "their global and topic choices",
)
LAYOUT_BODY = Leaf(_read_layout_body, {"type": "string", "maxLength": SOURCE_MAX, "pattern": LAYOUT_CONTENT})
SNIPPET_NAME_SHAPE = Leaf(_read_snippet_name, {"type": "string", "pattern": SNIPPET_NAME.pattern})
# A template's fields that are not template source; the rest (FIELDS) are SOURCE.
CONTENT_SHAPES: dict[str, Shape] = {
    "headers": HEADERS,
    "method": Leaf(_read_method, {"type": "string", "enum": list(WEBHOOK_METHODS)}),
    # Any value, as the id of a layout that must exist (``template_store`` looks it up).
    "layout_id": Leaf(
        lambda value, _path: str(value), {"type": "string", "description": "a layout of this workspace"}
    ),
}
# Read by ``template_store._subscription`` (the channel, then the workspace's topics: ``topics.require``).
_TOPIC_SCHEMA: dict[str, Any] = {
    "type": ["integer", "string", "null"],
    "description": "the subscription topic its messages belong to (4 or topic_4): email, sms, push",
}
_DEFS: Defs = {}  # these shapes refer to no named schema


# PUT /v1/templates/{id}: a template's fields. The channel is the stored one (it cannot change), and
# the fields it requires must be given again: a PUT replaces them all.
TEMPLATE_UPDATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": NAME.schema(_DEFS),
        "trigger_name": TRIGGER.schema(_DEFS),
        "language": LANGUAGE.schema(_DEFS),
        "topic_id": _TOPIC_SCHEMA,
        "send_to_unsubscribed": SEND_TO_UNSUBSCRIBED.schema(_DEFS),
        **{
            # null reads as the field left out (``template_store``)
            key: or_null(CONTENT_SHAPES.get(key, SOURCE).schema(_DEFS))
            for required, optional in FIELDS.values()
            for key in required + optional
        },
    },
}
# POST /v1/templates: a name, a channel and that channel's required fields.
TEMPLATE_SCHEMA: dict[str, Any] = {
    **TEMPLATE_UPDATE_SCHEMA,
    "required": ["name", "channel"],
    "properties": {"channel": CHANNEL.schema(_DEFS), **TEMPLATE_UPDATE_SCHEMA["properties"]},
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
LAYOUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "body"],
    "properties": {
        "name": NAME.schema(_DEFS),
        "body": LAYOUT_BODY.schema(_DEFS),
        "language": LANGUAGE.schema(_DEFS),
    },
}

# A snippet's content is Customer.io's ``value``; Nudge's first form named it ``body``, still accepted and
# still answered, so clients of either form read what they wrote (null: not given).
SNIPPET_CONTENT = ("value", "body")
# PUT /v1/snippets/{name}: Nudge's first form, the name in the path.
SNIPPET_CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{key: SOURCE.schema(_DEFS) for key in SNIPPET_CONTENT},
        "language": LANGUAGE.schema(_DEFS),
    },
    "anyOf": [{"required": [key], "properties": {key: {"type": "string"}}} for key in SNIPPET_CONTENT],
}
# PUT and POST /v1/snippets: Customer.io's form, the name in the body.
SNIPPET_SCHEMA: dict[str, Any] = {
    **SNIPPET_CONTENT_SCHEMA,
    "required": ["name"],
    "properties": {"name": SNIPPET_NAME_SHAPE.schema(_DEFS), **SNIPPET_CONTENT_SCHEMA["properties"]},
}
# POST /v1/templates/preview: content not saved yet (the console's live preview), rendered for a person;
# a draft layout and a draft snippet may stand in for the stored ones. Each part is checked as saving it
# would be (``template_store.draft``, ``layout_draft``, ``snippet_draft``), a name left out as "draft".
DRAFT_PREVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["template", "identifiers"],
    "properties": {
        "template": {**TEMPLATE_SCHEMA, "required": ["channel"]},
        "layout": {**LAYOUT_SCHEMA, "type": ["object", "null"], "required": ["body"]},
        "snippet": {**SNIPPET_SCHEMA, "type": ["object", "null"]},
        "identifiers": identifiers_schema(allow_phone=False),
        "message_data": {"type": ["object", "null"]},
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
MAX_RECIPIENTS = 15  # to and bcc together, as Customer.io limits a transactional send
ATTACHMENTS_MAX_BYTES = 200_000  # decoded; stored as base64 (~270 KB) in one DynamoDB item (400 KB)
MESSAGE_DATA_MAX_BYTES = 50_000


def _read_to(value: Any, path: Path) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ShapeError(path, "invalid", "to must be a non-empty string")
    return value.strip()


def _read_bcc(value: Any, path: Path) -> list[str] | None:
    """Addresses, as a list or a comma-separated string (or both)."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ShapeError(path, "invalid", "bcc must be a string or a list of strings")
    return [v for part in items for v in (p.strip() for p in part.split(",")) if v]


def _read_custom_data(value: Any, path: Path) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise ShapeError(path, "invalid", "custom_data must be an object")
    return value


def _read_message_data(value: Any, path: Path) -> dict[str, Any]:
    """An object of bounded size, as a send keeps it."""
    if not isinstance(value, dict):
        raise ShapeError(path, "invalid", "message_data must be an object")
    if len(json.dumps(value)) > MESSAGE_DATA_MAX_BYTES:
        raise ShapeError(
            path, "invalid", f"message_data cannot be longer than {MESSAGE_DATA_MAX_BYTES} bytes"
        )
    return value


def _read_attachments(value: Any, path: Path) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ShapeError(path, "invalid", "attachments must be an object of file name to base64 content")
    total = 0
    for name, data in value.items():
        if not isinstance(data, str):
            raise ShapeError(path, "invalid", f"attachment {name} must be base64 text")
        try:
            total += len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise ShapeError(path, "invalid", f"attachment {name} is not valid base64") from None
    if total > ATTACHMENTS_MAX_BYTES:
        message = f"attachments cannot be larger than {ATTACHMENTS_MAX_BYTES} bytes in total"
        raise ShapeError(path, "invalid", message)
    return value


def _read_send_at(value: Any, path: Path) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIMESTAMP:
        raise ShapeError(path, "invalid", "send_at must be a unix timestamp in seconds")
    return value


MESSAGE_DATA = Described(
    Leaf(_read_message_data, {"type": "object"}), f"at most {MESSAGE_DATA_MAX_BYTES} bytes as JSON"
)
# A send's options, read (in this order, null as not given) after its person, template and content.
SEND_OPTIONS = Open(
    Obj(
        {
            **{flag: Field(Leaf(_read_flag, {"type": ["boolean", "null"]})) for flag in SEND_FLAGS},
            "to": Field(
                Described(
                    Leaf(_read_to, {"type": ["string", "null"], "pattern": NOT_BLANK}),
                    "email: one address, a@b.c or Name <a@b.c>; sms: a phone number in E.164 form",
                )
            ),
            "bcc": Field(
                Described(
                    Leaf(_read_bcc, {"type": ["string", "array", "null"], "items": {"type": "string"}}),
                    f"email addresses, a list or comma-separated; at most {MAX_RECIPIENTS} with to",
                )
            ),
            "headers": Field(Nullable(HEADERS)),
            "custom_data": Field(Leaf(_read_custom_data, {"type": ["object", "null"]})),
            "message_data": Field(Nullable(MESSAGE_DATA)),
            "attachments": Field(
                Described(
                    Leaf(
                        _read_attachments,
                        {
                            "type": ["object", "null"],
                            "additionalProperties": {"type": "string", "contentEncoding": "base64"},
                        },
                    ),
                    f"file name to base64 content, at most {ATTACHMENTS_MAX_BYTES} bytes decoded",
                )
            ),
            "send_at": Field(
                Leaf(_read_send_at, {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_TIMESTAMP})
            ),
        }
    )
)


# POST /v1/templates/{id}/test: whom to render it for (optional), the data, and (an API key's) recipient
# (``to``: read by the App API, ``members.normalize_email``).
TEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "identifiers": {"oneOf": [identifiers_schema(allow_phone=False), {"type": "null"}]},
        "message_data": Nullable(MESSAGE_DATA).schema(_DEFS),  # ``template_tests`` reads it so
        "to": {"type": ["string", "null"], "format": "email"},
    },
}


def send_schema(channel: str) -> dict[str, Any]:
    """``POST /v1/send/<channel>``: a template (``transactional_message_id``), or the channel's inline
    fields, which are then required (``transactional._inline``: template source, null as not given)."""
    inline: dict[str, Any] = {name: {"type": ["string", "null"]} for name in INLINE[channel]}
    if channel == "email":
        inline["_from"] = {
            "type": ["string", "null"],
            "description": "from, as some of Customer.io's clients name it",
        }
    options = SEND_OPTIONS.schema(_DEFS)
    return {
        "type": "object",
        "required": ["identifiers"],
        "properties": {
            "identifiers": identifiers_schema(allow_phone=False),
            "transactional_message_id": {
                "type": ["integer", "string", "null"],
                "description": "a template's id or trigger_name",
            },
            **inline,
            **options["properties"],
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


def is_email_address(value: str) -> bool:
    """One address, ``a@b.c`` or ``Name <a@b.c>``, of a length mail systems take."""
    return len(value) <= MAX_ADDRESS_LENGTH and bool(_EMAIL.match(sender_address(value)))


def _is_whole(value: Any, low: int, high: int) -> bool:
    """An integer in ``low..high``. JSON's true and false are not numbers, though Python's bool is an int."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _whole(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


# Each reader's message follows the field's dotted path (``read_settings`` puts it in front).


def _read_address(value: Any, path: Path) -> str | None:
    if value is not None and (not isinstance(value, str) or not _EMAIL.match(sender_address(value))):
        raise ShapeError(path, "invalid", "must be an email address")  # its length is told apart, below
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


def _read_default_language(value: Any, path: Path) -> str:
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
                    Leaf(_read_default_language, {"type": "string", "enum": list(TEMPLATE_LANGUAGES)}),
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
