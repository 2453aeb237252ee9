"""Shapes declared once: each shape both reads a JSON-decoded value and describes itself as JSON Schema.

A body's shape (the campaign definition, ``nudge.campaigns.definition``; the segment condition language,
``nudge.segments.conditions``) is declared as a tree of these shapes; ``read`` walks a value through it
(checking, filling defaults, normalizing, building typed nodes) and ``schema`` writes the JSON Schema
(draft 2020-12) of the same tree, so the validator and the served schema cannot drift apart. What JSON
Schema cannot say (a graph's edges, a sum, two fields compared) is checked in a shape's reader, or after
reading, and left out of the schema.

The first problem raises :class:`ShapeError` with the path to it as a tuple of keys and list indexes; the
caller turns it into its own error (and path format). Checks run in a fixed order, which callers rely on
to report the first problem in document order: an object's unknown keys, then its missing required keys
(``Obj(required_first=True)``), then its fields in declared order.

A leaf whose check is particular to one place is a :class:`Leaf`: its reader and its schema side by side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

Path = tuple[str | int, ...]
Schema = dict[str, Any]
Defs = dict[str, Schema]  # named schemas (``$defs``), filled while writing a schema
MISSING: Any = object()  # a field without a default: absent, it reads as its ``absent`` value
NOT_BLANK = r"\S"
_NOT_BLANK_RE = re.compile(NOT_BLANK)


class ShapeError(ValueError):
    """``value`` at ``path`` breaks ``rule`` (``wrong_type``, ``unknown_key``, ``required``, ...)."""

    def __init__(self, path: Path, rule: str, message: str) -> None:
        super().__init__(f"{'.'.join(map(str, path))}: {message}")
        self.path = path
        self.rule = rule
        self.message = message


def listing(names: Iterable[str]) -> str:
    return ", ".join(names)


class Shape:
    """Reads a JSON-decoded value (the normalized value, or ShapeError) and writes its JSON Schema."""

    __slots__ = ()

    def read(self, value: Any, path: Path) -> Any:
        raise NotImplementedError

    def schema(self, defs: Defs) -> Schema:
        raise NotImplementedError


class Leaf(Shape):
    """A shape whose reader is written by hand, with the schema that says the same."""

    __slots__ = ("json_schema", "reader")

    def __init__(
        self, reader: Callable[[Any, Path], Any], json_schema: Schema | Callable[[Defs], Schema]
    ) -> None:
        self.reader = reader
        self.json_schema = json_schema  # a function when it refers to other shapes

    def read(self, value: Any, path: Path) -> Any:
        return self.reader(value, path)

    def schema(self, defs: Defs) -> Schema:
        return self.json_schema(defs) if callable(self.json_schema) else dict(self.json_schema)


class Ref(Shape):
    """``shape`` under a name in ``$defs``, its schema written once and referred to (``#/$defs/name``)."""

    __slots__ = ("name", "shape")

    def __init__(self, name: str, shape: Shape) -> None:
        self.name = name
        self.shape = shape

    def read(self, value: Any, path: Path) -> Any:
        return self.shape.read(value, path)

    def schema(self, defs: Defs) -> Schema:
        if self.name not in defs:
            defs[self.name] = {}  # taken before writing: a shape may refer to itself
            defs[self.name] = self.shape.schema(defs)
        return {"$ref": f"#/$defs/{self.name}"}


class Described(Shape):
    """``shape`` with a description (and any other annotations) in its schema."""

    __slots__ = ("description", "shape")

    def __init__(self, shape: Shape, description: str) -> None:
        self.shape = shape
        self.description = description

    def read(self, value: Any, path: Path) -> Any:
        return self.shape.read(value, path)

    def schema(self, defs: Defs) -> Schema:
        return {"description": self.description, **self.shape.schema(defs)}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Integer(Shape):
    """An integer in range; a float with no fraction counts, as JSON Schema says."""

    __slots__ = ("maximum", "minimum")

    def __init__(self, minimum: int, maximum: int | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def read(self, value: Any, path: Path) -> int:
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            raise ShapeError(path, "wrong_type", "must be an integer")
        number = int(value)
        if number < self.minimum or (self.maximum is not None and number > self.maximum):
            bounds = (
                f"at least {self.minimum}"
                if self.maximum is None
                else f"between {self.minimum} and {self.maximum}"
            )
            raise ShapeError(path, "invalid_value", f"must be {bounds}")
        return number

    def schema(self, defs: Defs) -> Schema:  # noqa: ARG002 (an override: Shape's signature)
        schema: Schema = {"type": "integer", "minimum": self.minimum}
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


class Text(Shape):
    """A string with something in it besides white space (``strip``: read without the white space around
    it)."""

    __slots__ = ("max_length", "strip")

    def __init__(self, max_length: int | None = None, strip: bool = False) -> None:
        self.max_length = max_length
        self.strip = strip

    def read(self, value: Any, path: Path) -> str:
        if not isinstance(value, str):
            raise ShapeError(path, "wrong_type", "must be a string")
        if not _NOT_BLANK_RE.search(value):
            raise ShapeError(path, "invalid_value", "must not be blank")
        if self.max_length is not None and len(value) > self.max_length:
            raise ShapeError(path, "invalid_value", f"must be at most {self.max_length} characters")
        return value.strip() if self.strip else value

    def schema(self, defs: Defs) -> Schema:  # noqa: ARG002 (an override: Shape's signature)
        schema: Schema = {"type": "string", "pattern": NOT_BLANK}
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return schema


class Choice(Shape):
    """One of ``values`` (strings), read through ``convert`` (an enum's values: see :func:`choice_of`);
    anything else breaks ``rule``."""

    __slots__ = ("convert", "rule", "values")

    def __init__(
        self,
        values: tuple[str, ...],
        rule: str = "invalid_value",
        convert: Callable[[str], Any] | None = None,
    ) -> None:
        self.values = values
        self.rule = rule
        self.convert = convert

    def read(self, value: Any, path: Path) -> Any:
        if not isinstance(value, str):
            raise ShapeError(path, "wrong_type", "must be a string")
        if value not in self.values:
            raise ShapeError(path, self.rule, f"unknown value {value!r}; expected {listing(self.values)}")
        return value if self.convert is None else self.convert(value)

    def schema(self, defs: Defs) -> Schema:  # noqa: ARG002 (an override: Shape's signature)
        return {"enum": list(self.values)}


def choice_of(kind: type[StrEnum], rule: str = "invalid_value") -> Choice:
    """One of an enum's values, read as its member."""
    return Choice(tuple(member.value for member in kind), rule, kind)


class Boolean(Shape):
    def read(self, value: Any, path: Path) -> bool:
        if not isinstance(value, bool):
            raise ShapeError(path, "wrong_type", "must be a boolean")
        return value

    def schema(self, defs: Defs) -> Schema:  # noqa: ARG002 (an override: Shape's signature)
        return {"type": "boolean"}


class Mapped(Shape):
    """``shape``, its value read into ``into`` (a typed tree's node)."""

    __slots__ = ("into", "shape")

    def __init__(self, shape: Shape, into: Callable[[Any], Any]) -> None:
        self.shape = shape
        self.into = into

    def read(self, value: Any, path: Path) -> Any:
        return self.into(self.shape.read(value, path))

    def schema(self, defs: Defs) -> Schema:
        return self.shape.schema(defs)


class Nullable(Shape):
    """null (read as None), or ``shape``."""

    __slots__ = (("shape"),)

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def read(self, value: Any, path: Path) -> Any:
        return None if value is None else self.shape.read(value, path)

    def schema(self, defs: Defs) -> Schema:
        return {"anyOf": [{"type": "null"}, self.shape.schema(defs)]}


class ListOf(Shape):
    """A list of ``minimum`` to ``maximum`` items, each read as ``item``."""

    __slots__ = ("item", "maximum", "minimum")

    def __init__(self, item: Shape, minimum: int, maximum: int) -> None:
        self.item = item
        self.minimum = minimum
        self.maximum = maximum

    def read(self, value: Any, path: Path) -> list[Any]:
        if not isinstance(value, list):
            raise ShapeError(path, "wrong_type", "must be a list")
        if not self.minimum <= len(value) <= self.maximum:
            raise ShapeError(path, "invalid_value", f"must hold {self.minimum} to {self.maximum} items")
        return [self.item.read(item, (*path, i)) for i, item in enumerate(value)]

    def schema(self, defs: Defs) -> Schema:
        return {
            "type": "array",
            "minItems": self.minimum,
            "maxItems": self.maximum,
            "items": self.item.schema(defs),
        }


class AnyValue(Shape):
    """Any JSON value, kept as it is."""

    def read(self, value: Any, path: Path) -> Any:  # noqa: ARG002 (an override: Shape's signature)
        return value

    def schema(self, defs: Defs) -> Schema:  # noqa: ARG002 (an override: Shape's signature)
        return {}


class Field:
    """An object's member. An absent optional field reads ``default`` (through the shape), or else is
    ``absent`` (as it is: a normalized value); ``omit_none`` leaves a None out of the normalized object."""

    __slots__ = ("absent", "default", "guard", "omit_none", "required", "shape")

    def __init__(
        self,
        shape: Shape,
        required: bool = False,
        default: Any = MISSING,
        absent: Any = None,
        omit_none: bool = False,
        # runs before a present field is read, given the object read so far: a check that needs a sibling
        guard: Callable[[dict[str, Any], Any, Path], None] | None = None,
    ) -> None:
        self.shape = shape
        self.required = required
        self.default = default
        self.absent = absent
        self.omit_none = omit_none
        self.guard = guard


class Obj(Shape):
    """An object of ``fields`` and nothing else, read in their declared order into a new dict.

    ``required_first``: all required keys are checked before any field is read (else each when read).
    ``check`` runs on the normalized object (at the object's path) after its fields; ``extra`` is merged
    into the schema (what ``check`` enforces, where JSON Schema can say it). ``into`` makes the result
    (a typed tree's node) from the normalized dict."""

    __slots__ = ("check", "extra", "fields", "into", "required_first")

    def __init__(
        self,
        fields: dict[str, Field],
        required_first: bool = True,
        check: Callable[[dict[str, Any], Path], None] | None = None,
        extra: Schema | None = None,
        into: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.fields = fields
        self.required_first = required_first
        self.check = check
        self.extra = extra or {}
        self.into = into

    def read(self, value: Any, path: Path) -> Any:
        if not isinstance(value, dict):
            raise ShapeError(path, "wrong_type", "must be an object")
        for key in value:
            if key not in self.fields:
                allowed = listing(self.allowed())
                raise ShapeError((*path, key), "unknown_key", f"unknown key; expected {allowed}")
        if self.required_first:
            for name, member in self.fields.items():
                if member.required and name not in value:
                    raise ShapeError((*path, name), "required", "is required")
        result: dict[str, Any] = {}
        for name, member in self.fields.items():
            if name in value:
                if member.guard is not None:
                    member.guard(result, value[name], (*path, name))
                read = member.shape.read(value[name], (*path, name))
            elif member.required:
                raise ShapeError((*path, name), "required", "is required")
            elif member.default is not MISSING:
                read = member.shape.read(member.default, (*path, name))
            else:
                read = member.absent
            if read is not None or not member.omit_none:
                result[name] = read
        if self.check is not None:
            self.check(result, path)
        return result if self.into is None else self.into(result)

    def allowed(self) -> list[str]:
        """The field names as an error lists them: the required ones first."""
        names = list(self.fields)
        return [n for n in names if self.fields[n].required] + [
            n for n in names if not self.fields[n].required
        ]

    def schema(self, defs: Defs) -> Schema:
        return {
            "type": "object",
            "properties": {name: member.shape.schema(defs) for name, member in self.fields.items()},
            "required": [name for name, member in self.fields.items() if member.required],
            "additionalProperties": False,
            **self.extra,
        }


class Open(Shape):
    """``obj``, its unknown keys left out of the result instead of refused (a request body that has always
    ignored what it does not read, as Customer.io's do); its schema allows them."""

    __slots__ = ("obj",)

    def __init__(self, obj: Obj) -> None:
        self.obj = obj

    def read(self, value: Any, path: Path) -> Any:
        if isinstance(value, dict):
            value = {key: item for key, item in value.items() if key in self.obj.fields}
        return self.obj.read(value, path)

    def schema(self, defs: Defs) -> Schema:
        return {k: v for k, v in self.obj.schema(defs).items() if k != "additionalProperties"}


class Tagged(Shape):
    """An object whose ``tag`` (read first: it decides which other keys belong) picks its shape.

    ``variants`` pairs the tag values with the object shape they share (whose ``tag`` field lists
    them: see :func:`tag`); an unknown tag value breaks ``rule`` ("unknown ``unknown`` 'x'; expected ...").
    The schema offers the variants as ``combinator`` (``oneOf``, or ``anyOf``)."""

    __slots__ = ("combinator", "rule", "tag", "unknown", "variants")

    def __init__(
        self,
        variants: tuple[tuple[tuple[str, ...], Obj], ...],
        rule: str = "invalid_value",
        tag: str = "type",
        unknown: str = "type",
        combinator: str = "oneOf",
    ) -> None:
        self.variants = variants
        self.rule = rule
        self.tag = tag
        self.unknown = unknown
        self.combinator = combinator

    def read(self, value: Any, path: Path) -> Any:
        if not isinstance(value, dict):
            raise ShapeError(path, "wrong_type", "must be an object")
        if self.tag not in value:
            raise ShapeError((*path, self.tag), "required", "is required")
        kind = value[self.tag]
        if not isinstance(kind, str):
            raise ShapeError((*path, self.tag), "wrong_type", "must be a string")
        for kinds, shape in self.variants:
            if kind in kinds:
                return shape.read(value, path)
        expected = listing(k for kinds, _ in self.variants for k in kinds)
        raise ShapeError(
            (*path, self.tag), self.rule, f"unknown {self.unknown} {kind!r}; expected {expected}"
        )

    def schema(self, defs: Defs) -> Schema:
        return {self.combinator: [shape.schema(defs) for _, shape in self.variants]}


def tag(*kinds: str) -> Field:
    """A tagged object's ``type`` field: one of ``kinds`` (already checked by :class:`Tagged`)."""
    schema: Schema = {"const": kinds[0]} if len(kinds) == 1 else {"enum": list(kinds)}
    return Field(Leaf(lambda value, _path: value, schema), required=True)


def document(shape: Shape, head: Schema, defs: Defs | None = None) -> Schema:
    """The complete JSON Schema of ``shape``: ``head`` (``$schema``, ``$id``, title ...), the shape's own
    schema, and the ``$defs`` it refers to (``defs`` given: written into it first, in that order)."""
    collected: Defs = dict(defs or {})
    body = shape.schema(collected)
    return {**head, **body, "$defs": collected}


def or_null(schema: Schema) -> Schema:
    """``schema``, null allowed too (as it is, where it allows null already)."""
    if _allows_null(schema):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _allows_null(schema: Schema) -> bool:
    kind = schema.get("type")
    nullable_kind = kind == "null" or (isinstance(kind, list) and "null" in kind)
    return nullable_kind or any(_allows_null(option) for option in schema.get("anyOf", ()))
