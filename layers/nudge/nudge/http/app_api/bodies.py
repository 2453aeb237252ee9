"""An App API body declared once (``nudge.shapes``): the route reads its parsed body through the shape
(``SHAPE.read(parse_json_object(...), ())``) whose schema it documents (``body_schema=SHAPE.schema({})``).
The object's own errors cannot happen there: the body is an object (or a 400 already), and an Open
object refuses no key.

These bodies have always been read by the domain's own checks (``members.normalize_email``,
``roles.parse_role``, ...), which answer the 400 naming the field themselves; a :func:`checked` field is
such a check beside the JSON Schema that says the same, so the messages stay the domain's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nudge.shapes import Field, Leaf, Obj, Open, Schema


def checked(check: Callable[[Any, str], Any], json_schema: Schema) -> Field:
    """A field read by ``check(value, field name)``. Left out, it is read as None: a required field's
    check refuses that with the message it gives a wrong value (what the parsers always answered), not
    with Obj's "is required"."""
    return Field(Leaf(lambda value, path: check(value, str(path[-1])), json_schema), default=None)


def body(fields: dict[str, Field], required: tuple[str, ...] = ()) -> Open:
    """An object of ``fields``, read in their order; keys it does not know are ignored, as they always
    were. ``required``: the fields whose checks refuse them left out (see :func:`checked`)."""
    return Open(Obj(fields, extra={"required": list(required)}))
