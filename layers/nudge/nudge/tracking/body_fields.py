"""A Track API body's members declared once: each field's reader (which answers in Customer.io's exact
words, ``limits``) beside the JSON Schema that documents it, so a route's documented body is written from
the table its parser reads and the two cannot drift apart.

``nudge.shapes`` does the same for the App API's bodies, but its readers answer in their own words
(``ShapeError``); the Track API's errors are Customer.io's, written by the checks in ``limits``, so the
readers here are those checks, and a field's schema says what its check accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nudge.shapes import or_null

_ABSENT: Any = object()

Reader = Callable[[Any, str], Any]  # (the value, its field name in errors) -> the value read


@dataclass(frozen=True)
class BodyField:
    """One member of a body. Absent, it reads as ``absent`` when that is given, or else its reader reads
    None (most checks answer their own "must be present", or a default, for None)."""

    read: Reader
    schema: dict[str, Any]
    attribute: str | None = None  # the typed request's attribute, where it is not the key's name
    required: bool = False  # documented as required: the reader refuses None
    absent: Any = _ABSENT


FieldTable = Mapping[str, BodyField]


def read_fields(fields: FieldTable, body: Mapping[str, Any]) -> dict[str, Any]:
    """Each field of ``body`` read in declared order (so the first broken rule is the one reported), keyed
    by the typed request's attribute names."""
    values: dict[str, Any] = {}
    for key, field in fields.items():
        absent = key not in body and field.absent is not _ABSENT
        values[field.attribute or key] = field.absent if absent else field.read(body.get(key), key)
    return values


def body_schema(fields: FieldTable, **extra: Any) -> dict[str, Any]:
    """The JSON Schema of an object of ``fields`` (and ``extra`` keywords: description, limits)."""
    schema: dict[str, Any] = {"type": "object"}
    required = [key for key, field in fields.items() if field.required]
    if required:
        schema["required"] = required
    return {**schema, "properties": {key: _member_schema(field) for key, field in fields.items()}, **extra}


def _member_schema(field: BodyField) -> dict[str, Any]:
    """A field's schema; null too where its reader reads null as it reads the field left out (an optional
    field without an ``absent`` value: the reader is given None either way)."""
    if field.required or field.absent is not _ABSENT:
        return field.schema
    return or_null(field.schema)
