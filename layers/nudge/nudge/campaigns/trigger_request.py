"""What an API-triggered broadcast is asked for (``POST /v1/campaigns/{id}/triggers``, Customer.io's
body), declared once: each part's reader beside the JSON Schema that says the same, and
``TRIGGER_BODY_SCHEMA`` written from them.

Kept apart from ``broadcasts`` (which reads the body with :func:`read` and resolves its ``recipients``)
because the App API's route table names the schema when it is imported, and ``broadcasts`` brings the
segment evaluator and the execution machinery, which most App API calls never need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nudge.errors import InvalidRequest
from nudge.segments.conditions import CONDITION_SCHEMA
from nudge.tracking.identifiers import looks_like_email
from nudge.tracking.limits import IDENTIFIER_SCHEMA, MAX_IDENTIFIER_BYTES, byte_len, check_identifier

MAX_RECIPIENTS = 10_000
MAX_BODY_BYTES = 300_000
MAX_DATA_BYTES = 100_000  # ``data`` and each person's data: an execution's input is at most 256 KB
_FLAGS = ("id_ignore_missing", "email_ignore_missing")
_NULL: dict[str, Any] = {"type": "null"}  # a member given as null is a member left out

DATA_SCHEMA: dict[str, Any] = {
    "anyOf": [_NULL, {"type": "object"}],
    "description": f"trigger.* in templates; at most {MAX_DATA_BYTES} bytes",
}


def _data(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path} must be an object", field=path)
    if byte_len(value) > MAX_DATA_BYTES:
        raise InvalidRequest(f"{path} cannot be longer than {MAX_DATA_BYTES} bytes", field=path)
    return value


# An identifier (trimmed) that looks like an email (``identifiers.looks_like_email``).
EMAIL_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*[^@\s]+@[^@\s]+\s*$",
    "maxLength": MAX_IDENTIFIER_BYTES,
}


def _email(value: Any, path: str) -> str:
    text = check_identifier(value, path)
    if not looks_like_email(text):
        raise InvalidRequest(f"{path} must be an email address", field=path)
    return text


_PER_USER_KEYS: dict[str, Any] = {
    "id": IDENTIFIER_SCHEMA,
    "email": EMAIL_SCHEMA,
    "data": DATA_SCHEMA,
}


def _exactly_one(keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One of ``keys`` given (not null), the others left out or null: a ``oneOf``'s branches."""
    return [{"required": [key], "properties": {key: {"not": _NULL}}} for key in keys]


PER_USER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {key: {"anyOf": [_NULL, schema]} for key, schema in _PER_USER_KEYS.items()},
    "additionalProperties": False,
    "oneOf": _exactly_one(("id", "email")),
}


def _per_user(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path} must be an object", field=path)
    unknown = sorted(set(value) - set(_PER_USER_KEYS))
    if unknown:
        raise InvalidRequest(f"{path}.{unknown[0]} is not a known field", field=f"{path}.{unknown[0]}")
    keys = [key for key in ("id", "email") if value.get(key) is not None]
    if len(keys) != 1:
        raise InvalidRequest(f"{path} must have exactly one of id or email", field=path)
    key = keys[0]
    identifier = (
        check_identifier(value[key], f"{path}.{key}") if key == "id" else _email(value[key], f"{path}.{key}")
    )
    return {key: identifier, "data": _data(value.get("data"), f"{path}.data")}


# The recipient lists: each item's reader and schema.
_LISTS: dict[str, tuple[Callable[[Any, str], Any], dict[str, Any]]] = {
    "ids": (check_identifier, IDENTIFIER_SCHEMA),
    "emails": (_email, EMAIL_SCHEMA),
    "per_user_data": (_per_user, PER_USER_SCHEMA),
}
_KINDS = ("recipients", *_LISTS)


def read(body: dict[str, Any], recipients: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """The body as a stored recipient spec, or InvalidRequest naming the field; ``recipients`` reads
    a ``recipients`` filter (its segments are looked up)."""
    if byte_len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(f"request body cannot be longer than {MAX_BODY_BYTES} bytes", field="body")
    if "data_file_url" in body:
        raise InvalidRequest(
            "data_file_url is not supported: send ids, emails or per_user_data", field="data_file_url"
        )
    given = [key for key in _KINDS if body.get(key) is not None]
    if len(given) != 1:
        raise InvalidRequest(
            "exactly one of recipients, ids, emails or per_user_data must be given",
            field=given[1] if len(given) > 1 else "recipients",
        )
    kind = given[0]
    spec: dict[str, Any] = {"data": _data(body.get("data"), "data")}
    for flag in _FLAGS:
        if body.get(flag) is not None and not isinstance(body[flag], bool):
            raise InvalidRequest(f"{flag} must be true or false", field=flag)
    if kind == "recipients":
        spec.update(recipients(body["recipients"]))
        return spec
    values = body[kind]
    if not isinstance(values, list) or not values:
        raise InvalidRequest(f"{kind} must be a non-empty list", field=kind)
    if len(values) > MAX_RECIPIENTS:
        raise InvalidRequest(f"{kind} cannot hold more than {MAX_RECIPIENTS} entries", field=kind)
    for flag in _FLAGS:
        spec[flag] = bool(body.get(flag))
    item = _LISTS[kind][0]
    spec.update(kind=kind, values=[item(v, f"{kind}.{i}") for i, v in enumerate(values)])
    return spec


# Other members are ignored. What JSON Schema cannot say: the body's and each data's size in bytes.
TRIGGER_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": DATA_SCHEMA,
        "recipients": {
            "description": 'a segment\'s members ({"segment": {"id": 3}}), or a filter over everyone',
            "anyOf": [_NULL, CONDITION_SCHEMA],
        },
        **{
            kind: {
                "anyOf": [
                    _NULL,
                    {"type": "array", "minItems": 1, "maxItems": MAX_RECIPIENTS, "items": schema},
                ]
            }
            for kind, (_, schema) in _LISTS.items()
        },
        **{flag: {"type": ["boolean", "null"]} for flag in _FLAGS},
        "data_file_url": {"not": {}, "description": "not supported: send ids, emails or per_user_data"},
    },
    "oneOf": _exactly_one(_KINDS),
    "description": f"at most {MAX_BODY_BYTES} bytes",
}
