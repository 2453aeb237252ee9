"""How a person is addressed: path identifiers, body identifier maps, and their lookup keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import unquote

from nudge.errors import InvalidRequest
from nudge.tracking.limits import IDENTIFIER_SCHEMA, check_identifier

Kind = Literal["id", "email", "cio_id", "phone"]
KINDS: tuple[Kind, ...] = get_args(Kind)  # in the order errors and schemas list them
# Without phone: the v1 APIs' identifiers (Customer.io added phone in v2), and what a 400 offers.
V1_KINDS: tuple[Kind, ...] = tuple(kind for kind in KINDS if kind != "phone")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
NOT_AN_EMAIL = "not_an_email"  # the reason of an email identifier's refusal: nobody can have that email


@dataclass(frozen=True)
class PersonRef:
    kind: Kind
    value: str

    @property
    def lookup_value(self) -> str:
        """Emails match case-insensitively; everything else exactly."""
        return self.value.lower() if self.kind == "email" else self.value

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def looks_like_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def from_path(raw: str) -> PersonRef:
    """A percent-encoded path identifier: ``cio_<x>``, an email, or else an id."""
    return from_identifier(unquote(raw), "id")


def from_identifier(value: Any, field: str) -> PersonRef:
    """An identifier read as a path's is: ``cio_<x>``, an email, or else an id (the Pipelines API's
    ``userId`` lands as the same value in a Track API path would)."""
    text = check_identifier(value, field)
    if text.startswith("cio_") and len(text) > 4:
        return PersonRef("cio_id", text[4:])
    if looks_like_email(text):
        return PersonRef("email", text)
    return PersonRef("id", text)


def from_typed(id_type: str, value: Any, field: str = "id") -> PersonRef:
    """An identifier whose kind is named by the caller (``?id_type=``, v2 ``identifiers``)."""
    if id_type not in KINDS:
        raise InvalidRequest(f"{field}: id_type must be one of {', '.join(V1_KINDS)}", field=field)
    text = check_identifier(value, field)
    if id_type == "cio_id" and text.startswith("cio_"):
        text = text[4:]
    if id_type == "email" and not looks_like_email(text):  # as an identify's email attribute is checked
        raise InvalidRequest(f"{field} must be an email address", field=field, reason=NOT_AN_EMAIL)
    return PersonRef(id_type, text)


def identifiers_schema(*, allow_phone: bool = True) -> dict[str, Any]:
    """What ``from_map`` reads, as JSON Schema: an object with exactly one identifier."""
    allowed = KINDS if allow_phone else V1_KINDS
    return {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {key: IDENTIFIER_SCHEMA for key in allowed},
    }


def from_map(identifiers: Any, field: str = "identifiers", *, allow_phone: bool = True) -> PersonRef:
    """Exactly one of ``id``, ``email``, ``cio_id`` (and ``phone`` in v2)."""
    allowed = KINDS if allow_phone else V1_KINDS
    if not isinstance(identifiers, dict) or not identifiers:
        raise InvalidRequest(f"{field} must be an object with one of {', '.join(allowed)}", field=field)
    keys = [k for k in identifiers if k in allowed]
    if len(keys) != 1 or len(identifiers) != 1:
        raise InvalidRequest(f"{field} must contain exactly one of {', '.join(allowed)}", field=field)
    return from_typed(keys[0], identifiers[keys[0]], f"{field}.{keys[0]}")
