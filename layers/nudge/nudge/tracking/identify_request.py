"""An identify's body (the Track API's ``PUT /api/v1/customers/{identifier}``, a v2 person identify's
attributes, the Pipelines API's traits) read into a typed :class:`IdentifyRequest`.

The reserved keys are declared once, in ``_FIELDS``: each one's reader (Customer.io's exact errors) beside
its JSON Schema, from which ``IDENTIFY_SCHEMA`` (the route's documented body) is written. Every other key
is a plain attribute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from nudge.errors import InvalidRequest
from nudge.tracking.body_fields import BodyField, body_schema, read_fields
from nudge.tracking.identifiers import PersonRef, looks_like_email
from nudge.tracking.limits import (
    MAX_ATTRIBUTES,
    MAX_IDENTIFIER_BYTES,
    OPTIONAL_IDENTIFIER_SCHEMA,
    TIMESTAMP_SCHEMA,
    check_attributes,
    check_timestamp,
    optional_identifier,
)
from nudge.tracking.object_refs import IDENTIFY_LINKS_SCHEMA, ObjectLinks

PREFERENCES = "cio_subscription_preferences"
_DOTTED = PREFERENCES + "."  # a topic's opt-in as one key: cio_subscription_preferences.topics.<id>
_RELATIONSHIPS = "cio_relationships"
_NOT_COUNTED = (PREFERENCES, _RELATIONSHIPS)  # checked by their own rules, not as attributes
_TRUE = (True, 1, "1", "true")
_FALSE = (False, 0, "0", "false")


@dataclass(frozen=True)
class IdentifyRequest:
    """An identify body split into reserved fields and plain attributes."""

    attributes: dict[str, Any] = field(default_factory=dict)
    new_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None
    created_at: int | None = None
    timestamp: int | None = None
    update_only: bool = False
    unsubscribed: bool | None = None
    preferences: dict[str, Any] = field(default_factory=dict)
    relationships: ObjectLinks | None = None

    @classmethod
    def parse(cls, body: dict[str, Any], path: PersonRef | None = None) -> IdentifyRequest:
        """``body`` read and checked, for the person ``path`` addresses (whose id the body's may not
        contradict). Raises InvalidRequest with Customer.io's words for the first broken rule."""
        check_attributes({k: v for k, v in body.items() if k not in _NOT_COUNTED})
        dotted = [(k, v) for k, v in body.items() if k.startswith(_DOTTED)]
        attributes = {k: v for k, v in body.items() if k not in _FIELDS and not k.startswith(_DOTTED)}
        # Topic opt-ins come as the nested object and/or dot-notation keys: one field, read together.
        source = {**body, PREFERENCES: _Preferences(body.get(PREFERENCES), dotted)}
        req = cls(attributes=attributes, **read_fields(_FIELDS, source))
        if path is not None and path.kind == "id" and req.new_id and req.new_id != path.value:
            raise InvalidRequest(
                "id in the body differs from the id in the path: to change an id, address the person by "
                "cio_ or email",
                field="id",
            )
        return req


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, str):
        value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidRequest(f"{name} must be true or false", field=name)


def _email(value: Any, name: str) -> str | None:
    email = optional_identifier(value, name)
    if email is not None and not looks_like_email(email):
        raise InvalidRequest("email must be an email address", field="email")
    return email


class _Preferences(NamedTuple):
    nested: Any  # the cio_subscription_preferences object, or None
    dotted: list[tuple[str, Any]]  # cio_subscription_preferences.<path> keys, in the body's order


def _preferences(value: _Preferences, name: str) -> dict[str, Any]:
    """Topic opt-ins flattened to ``topics.<name>``: the nested object first, then the dotted keys."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, inner: Any) -> None:
        if isinstance(inner, dict):
            for key, item in inner.items():
                walk(f"{prefix}.{key}" if prefix else str(key), item)
        else:
            flat[prefix] = _flag(inner, f"{name}.{prefix}")

    if value.nested is not None:
        if not isinstance(value.nested, dict):
            raise InvalidRequest(f"{name} must be an object", field=name)
        walk("", value.nested)
    for key, item in value.dotted:
        walk(key[len(name) + 1 :], item)
    return flat


def _relationships(value: Any, _name: str) -> ObjectLinks | None:
    return None if value is None else ObjectLinks.parse_identify(value)


_FIELDS: dict[str, BodyField] = {
    "id": BodyField(optional_identifier, OPTIONAL_IDENTIFIER_SCHEMA, attribute="new_id"),
    "email": BodyField(_email, {"type": "string", "format": "email", "maxLength": MAX_IDENTIFIER_BYTES}),
    "anonymous_id": BodyField(optional_identifier, OPTIONAL_IDENTIFIER_SCHEMA),
    "created_at": BodyField(check_timestamp, {**TIMESTAMP_SCHEMA, "description": "unix seconds"}),
    "_timestamp": BodyField(
        check_timestamp,
        {**TIMESTAMP_SCHEMA, "description": "ordering: older updates never overwrite newer"},
        attribute="timestamp",
    ),
    "_update": BodyField(
        lambda value, _name: value in _TRUE,
        {"description": "update only, never create: true (or another form of true); anything else is false"},
        attribute="update_only",
    ),
    "unsubscribed": BodyField(
        _flag, {"oneOf": [{"type": "boolean"}, {"type": "integer"}, {"type": "string"}]}, absent=None
    ),
    PREFERENCES: BodyField(_preferences, {"type": "object"}, attribute="preferences"),
    _RELATIONSHIPS: BodyField(_relationships, IDENTIFY_LINKS_SCHEMA, attribute="relationships"),
}

# What a change made outside an identify (the console's attribute edits, a workflow's set_attribute) may
# not name, as it would re-key the person or write objects: identify's reserved fields and the person's
# cio_id, and topic opt-ins in either form (``PREFERENCES`` as a prefix). ``unsubscribed`` stays settable.
NOT_ATTRIBUTES = (frozenset(_FIELDS) - {"unsubscribed", PREFERENCES}) | {"cio_id"}


def not_an_attribute(name: str) -> bool:
    return name in NOT_ATTRIBUTES or name.startswith(PREFERENCES)


IDENTIFY_SCHEMA: dict[str, Any] = body_schema(
    _FIELDS,
    description="Flat attribute map with reserved keys.",
    maxProperties=MAX_ATTRIBUTES + len(_NOT_COUNTED),
    additionalProperties=True,
)
