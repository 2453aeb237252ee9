"""The segment condition language: parse JSON into a typed tree, write it back, analyse and evaluate it.

A condition is a JSON object with exactly one key.

Groups
    ``{"and": [c, ...]}``, ``{"or": [c, ...]}`` (non-empty lists) and ``{"not": c}``. Groups nest at most
    ``MAX_DEPTH`` (6) deep; the count runs on through event, device and object filters.

Attribute
    ``{"attribute": {"field": "plan", "operator": OP, "value": ...}}``. ``field`` may be dotted
    (``address.city``) to reach into nested maps; dots always mean nesting. A ``null`` value counts as
    missing. Operators:

    - ``eq`` / ``neq`` (value: string, number or boolean). When both sides are numbers or numeric strings
      ("10", "-1.5e3") they compare numerically, so "10" equals 10 and 10.0; otherwise they compare as
      strings, booleans reading "true" / "false" (case-sensitive).
    - ``exists`` / ``not_exists`` (no value).
    - ``contains`` (value: scalar): a string attribute contains the value's text; a list attribute holds
      an element equal to the value (as ``eq`` compares).
    - ``starts_with`` (value: string): a string attribute starts with it.
    - ``gt`` / ``gte`` / ``lt`` / ``lte`` (value: number): numbers and numeric strings compare
      numerically; anything else never matches.
    - ``in`` (value: non-empty list of scalars): a scalar attribute equal (as ``eq``) to one of them.
    - ``is_timestamp`` (no value): a number or numeric string in 0..253402300799 (unix seconds).
    - ``before`` / ``after`` with ``"value": {"amount": N, "unit": "minutes"|"hours"|"days",
      "direction": "ago"|"from_now"}``: threshold = now - N*unit (ago) or now + N*unit (from_now);
      ``before`` is timestamp < threshold, ``after`` is timestamp > threshold (both strict). Values that
      are not timestamps (as ``is_timestamp``) never match. These change with time.

    ``neq`` and ``not_exists`` match a missing attribute; every other operator does not.

Event
    ``{"event": {"name": "purchase", "type": "event"|"page"|"screen", "performed": true,
    "filters": c, "count": {"operator": "at_least"|"at_most"|"exactly", "value": N},
    "timeframe": {...}}}``; only ``name`` is required (``type`` absent: any type; ``performed`` true;
    ``count`` at_least 1; ``timeframe`` ever). Page views are ``type: "page"`` named by their URL. The
    count of events matching ``filters`` (attribute conditions over the event's ``data``) within the
    timeframe must satisfy ``count``; ``performed: false`` negates the whole condition. ``count.value``
    is 0..1000 (it bounds how many events one evaluation reads). Timeframes:

    - ``{"type": "ever"}``;
    - ``{"type": "within", "amount": N >= 1, "unit": ...}``: timestamp >= now - N*unit (an event exactly
      N units old still counts; one dated in the future counts too). This changes with time;
    - ``{"type": "between", "start": unix, "end": unix}``: start <= timestamp < end, end > start.

Device
    ``{"device": c}`` with ``c`` a group of attribute conditions or one: matches when any of the person's
    devices satisfies it. Fields ``id``, ``platform`` and ``last_used`` are the device's own; any other
    field is looked up in the device's attributes.

Object
    ``{"object": {"object_type_id": "1", "filters": c, "relationship": c}}`` (both filters optional):
    matches when the person is related to any object of that type whose attributes satisfy ``filters``
    and whose relationship's attributes satisfy ``relationship``.

Segment
    ``{"segment": {"id": "123", "operator": "in"|"not_in"}}``; the id may be a number (``{"id": 123}``,
    as the API answers segment ids and as Customer.io's clients send them) and ``operator`` defaults to
    ``in`` (Customer.io's ``{"segment": {"id": 3}}``). Read here, once, for every caller: segments,
    campaign filters and goals, broadcast recipients, people searches and exports.

Bounds: an attribute ``field``, an event ``name``, an ``object_type_id`` and a segment ``id`` are at most
``MAX_NAME_LENGTH`` (150) characters (they become parts of storage keys); a relative ``amount``
(``before``/``after``, ``within``) is at most ``MAX_RELATIVE_AMOUNT`` (1,000,000).

Message activity (``{"message": ...}``) is not supported yet. Event, device and object filters accept
only groups and attribute conditions.

``parse`` reports the first problem as a :class:`ConditionError` with a path and a rule. Checks run in
document order: an object's unknown keys first, then its keys in the order listed above, list items in
order, depth before a group's contents. The language is declared once, as shapes (``nudge.shapes``) that
both read it and write :data:`CONDITION_SCHEMA`, which accepts exactly what ``parse`` accepts except two
things JSON Schema cannot express: a ``between`` window whose end is not after its start, and non-finite
numbers (which JSON cannot carry anyway). ``parse`` takes JSON-decoded data: ``Decimal`` is not a number
to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any, cast

from nudge.segments.condition_eval import Outcome, PersonContext, evaluate
from nudge.segments.condition_types import (
    FIELD_PATTERN,
    MAX_DEPTH,
    MAX_EVENT_COUNT,
    MAX_NAME_LENGTH,
    MAX_NUMERIC_ID,
    MAX_RELATIVE_AMOUNT,
    MAX_TIMESTAMP,
    VALUE_KINDS,
    And,
    AttributeCondition,
    AttributeOperator,
    Between,
    Condition,
    ConditionError,
    CountOperator,
    DeviceCondition,
    Direction,
    EventCondition,
    EventCount,
    EventType,
    Ever,
    Not,
    ObjectCondition,
    Or,
    RelativeTime,
    Rule,
    Scalar,
    SegmentCondition,
    SegmentOperator,
    Timeframe,
    TimeframeType,
    TimeUnit,
    ValueKind,
    Within,
)
from nudge.shapes import (
    Boolean,
    Defs,
    Described,
    Field,
    Integer,
    Leaf,
    Mapped,
    Obj,
    Path,
    Ref,
    Schema,
    Shape,
    ShapeError,
    Tagged,
    Text,
    choice_of,
    listing,
    tag,
)

__all__ = [
    "CONDITION_SCHEMA",
    "MAX_DEPTH",
    "MAX_EVENT_COUNT",
    "MAX_NAME_LENGTH",
    "MAX_NUMERIC_ID",
    "MAX_RELATIVE_AMOUNT",
    "MAX_TIMESTAMP",
    "And",
    "AttributeCondition",
    "AttributeOperator",
    "Between",
    "Condition",
    "ConditionError",
    "CountOperator",
    "DeviceCondition",
    "Direction",
    "EventCondition",
    "EventCount",
    "EventType",
    "Ever",
    "Not",
    "ObjectCondition",
    "Or",
    "Outcome",
    "PersonContext",
    "RelativeTime",
    "Rule",
    "Scalar",
    "SegmentCondition",
    "SegmentOperator",
    "TimeUnit",
    "Timeframe",
    "TimeframeType",
    "Within",
    "dependencies",
    "evaluate",
    "identifier",
    "parse",
    "referenced_segments",
    "time_relative",
    "to_json",
]

_GROUPS = ("and", "or", "not")
_FIELD_KINDS = (*_GROUPS, "attribute")
_PERSON_KINDS = (*_FIELD_KINDS, "event", "device", "object", "segment")
_MESSAGE_UNSUPPORTED = "message activity conditions (sent, opened, clicked ...) are not supported yet"
_FIELD_RE = re.compile(FIELD_PATTERN)


# --- the language's shapes: each reads its JSON into the typed tree and writes its JSON Schema ------------


def _path_text(path: Path) -> str:
    """``("and", 1, "event")`` as ``and[1].event``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _string(value: Any, path: Path) -> str:
    if not isinstance(value, str):
        raise ShapeError(path, "wrong_type", "must be a string")
    return value


def _short(value: str, path: Path) -> str:
    """A name that becomes part of a storage key (see ``MAX_NAME_LENGTH``)."""
    if len(value) > MAX_NAME_LENGTH:
        raise ShapeError(path, "invalid_value", f"must be at most {MAX_NAME_LENGTH} characters")
    return value


def _non_empty(value: Any, path: Path) -> str:
    if not _string(value, path):
        raise ShapeError(path, "invalid_value", "must not be empty")
    return _short(value, path)


def _field(value: Any, path: Path) -> str:
    if not _FIELD_RE.search(_string(value, path)):
        raise ShapeError(path, "invalid_value", "must be a name, or dotted names with no empty part")
    return _short(value, path)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, path: Path) -> int | float:
    if not _is_number(value):
        raise ShapeError(path, "wrong_type", "must be a number")
    if isinstance(value, float) and not math.isfinite(value):  # ints are exact, however large
        raise ShapeError(path, "invalid_value", "must be a finite number")
    return value


def _scalar(value: Any, path: Path) -> Scalar:
    if isinstance(value, str | bool):
        return value
    if _is_number(value):
        return _number(value, path)
    raise ShapeError(path, "wrong_type", "must be a string, number or boolean")


def _scalars(value: Any, path: Path) -> tuple[Scalar, ...]:
    if not isinstance(value, list):
        raise ShapeError(path, "wrong_type", "must be a list")
    if not value:
        raise ShapeError(path, "invalid_value", "must hold at least one value")
    return tuple(_scalar(item, (*path, i)) for i, item in enumerate(value))


def _identifier(value: Any, path: Path) -> str:
    if _is_number(value):
        return str(_NUMERIC_ID.read(value, path))
    if not isinstance(value, str):
        raise ShapeError(path, "wrong_type", "must be a string or an integer")
    return _non_empty(value, path)


_SCALAR_SCHEMA = {"type": ["string", "number", "boolean"]}
_NAME = Leaf(_non_empty, {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH})
_NUMERIC_ID = Integer(0, MAX_NUMERIC_ID)
# The one declaration of an id's shape: campaign definitions refer to it (``#/$defs/identifier``).
_IDENTIFIER = Ref(
    "identifier",
    Described(
        Leaf(_identifier, lambda defs: {"anyOf": [_NAME.schema(defs), _NUMERIC_ID.schema(defs)]}),
        "A segment's or template's id, as a string or a number.",
    ),
)
_TIMESTAMP = Integer(0, MAX_TIMESTAMP)
_UNIT = choice_of(TimeUnit)

# What each kind of attribute operator takes as its value (``VALUE_KINDS``); ValueKind.NONE takes none.
_VALUES: dict[ValueKind, Shape] = {
    ValueKind.SCALAR: Leaf(_scalar, _SCALAR_SCHEMA),
    ValueKind.TEXT: Leaf(_string, {"type": "string"}),
    ValueKind.NUMBER: Leaf(_number, {"type": "number"}),
    ValueKind.LIST: Leaf(_scalars, {"type": "array", "minItems": 1, "items": _SCALAR_SCHEMA}),
    ValueKind.RELATIVE_TIME: Obj(
        {
            "amount": Field(Integer(0, MAX_RELATIVE_AMOUNT), required=True),
            "unit": Field(_UNIT, required=True),
            "direction": Field(choice_of(Direction), required=True),
        },
        required_first=False,
        into=lambda fields: RelativeTime(**fields),
    ),
}


_FIELD = Leaf(_field, {"type": "string", "pattern": FIELD_PATTERN, "maxLength": MAX_NAME_LENGTH})
_OPERATOR = choice_of(AttributeOperator, "unknown_operator")


class _Attribute(Shape):
    """``{"field", "operator", "value"}``: the operator decides the value's shape (``VALUE_KINDS``)."""

    def read(self, value: Any, path: Path) -> AttributeCondition:
        obj = _keys(value, path, ("field", "operator", "value"))
        field = _FIELD.read(_required(obj, "field", path), (*path, "field"))
        operator = _OPERATOR.read(_required(obj, "operator", path), (*path, "operator"))
        kind = VALUE_KINDS[operator]
        if kind is ValueKind.NONE:
            if "value" in obj:
                raise ShapeError((*path, "value"), "unknown_key", f"{operator} takes no value")
            return AttributeCondition(field, operator)
        return AttributeCondition(
            field, operator, _VALUES[kind].read(_required(obj, "value", path), (*path, "value"))
        )

    def schema(self, defs: Defs) -> Schema:
        """One alternative per value kind, each listing the operators that take that kind of value."""
        alternatives = []
        for kind in ValueKind:
            operators = [op.value for op, op_kind in VALUE_KINDS.items() if op_kind is kind]
            properties = {"field": _FIELD.schema(defs), "operator": {"enum": operators}}
            required = ["field", "operator"]
            if kind is not ValueKind.NONE:
                properties["value"] = _VALUES[kind].schema(defs)
                required.append("value")
            alternatives.append(_closed(properties, required))
        return {"anyOf": alternatives}


def _keys(value: Any, path: Path, allowed: tuple[str, ...]) -> dict[str, Any]:
    """An object holding only ``allowed`` keys."""
    if not isinstance(value, dict):
        raise ShapeError(path, "wrong_type", "must be an object")
    for key in value:
        if key not in allowed:
            raise ShapeError((*path, key), "unknown_key", f"unknown key; expected {listing(allowed)}")
    return value


def _required(obj: dict[str, Any], key: str, path: Path) -> Any:
    if key not in obj:
        raise ShapeError((*path, key), "required", "is required")
    return obj[key]


def _closed(properties: dict[str, Any], required: list[str]) -> Schema:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _after_start(window: dict[str, Any], path: Path) -> None:
    # JSON Schema cannot compare the two
    if window["end"] <= window["start"]:
        raise ShapeError((*path, "end"), "invalid_value", "must be after start")


_TIMEFRAME = Ref(
    "timeframe",
    Tagged(
        (
            ((TimeframeType.EVER.value,), Obj({"type": tag("ever")}, into=lambda _: Ever())),
            (
                (TimeframeType.WITHIN.value,),
                Obj(
                    {
                        "type": tag("within"),
                        "amount": Field(Integer(1, MAX_RELATIVE_AMOUNT), required=True),
                        "unit": Field(_UNIT, required=True),
                    },
                    required_first=False,
                    into=lambda fields: Within(fields["amount"], fields["unit"]),
                ),
            ),
            (
                (TimeframeType.BETWEEN.value,),
                Obj(
                    {
                        "type": tag("between"),
                        "start": Field(_TIMESTAMP, required=True),
                        "end": Field(_TIMESTAMP, required=True),
                    },
                    required_first=False,
                    check=_after_start,
                    into=lambda fields: Between(fields["start"], fields["end"]),
                ),
            ),
        ),
        unknown="value",
        combinator="anyOf",
    ),
)
_ATTRIBUTE = Ref("attribute", _Attribute())


class _TooDeep(Shape):
    """A group below ``MAX_DEPTH``: a known key that no schema level offers."""

    def read(self, value: Any, path: Path) -> Any:  # noqa: ARG002 (an override: Shape's signature)
        raise ShapeError(path, "depth_exceeded", f"groups nest at most {MAX_DEPTH} deep")

    def schema(self, defs: Defs) -> Schema:  # noqa: ARG002 (an override: Shape's signature)
        raise TypeError("a level too deep for groups has no group alternatives")


class _Group(Shape):
    """``and`` / ``or``: a non-empty list of conditions one level deeper."""

    __slots__ = ("child", "into")

    def __init__(self, child: Shape, into: Callable[[tuple[Condition, ...]], Condition]) -> None:
        self.child = child
        self.into = into

    def read(self, value: Any, path: Path) -> Condition:
        if not isinstance(value, list):
            raise ShapeError(path, "wrong_type", "must be a list of conditions")
        if not value:
            raise ShapeError(path, "invalid_value", "must hold at least one condition")
        return self.into(tuple(self.child.read(item, (*path, i)) for i, item in enumerate(value)))

    def schema(self, defs: Defs) -> Schema:
        return {"type": "array", "minItems": 1, "items": self.child.schema(defs)}


class _Level(Shape):
    """A condition inside ``level`` groups: an object with exactly one key, the kind of condition.

    Depth is expressed by one schema per nesting level ("person<n>" / "fields<n>"), and only levels
    below MAX_DEPTH offer groups. ``kinds`` are what applies here: every kind for a person, groups and
    attribute conditions only in event, device and object filters ("fields")."""

    __slots__ = ("kinds",)

    def __init__(self, kinds: dict[str, Shape]) -> None:
        self.kinds = kinds

    def read(self, value: Any, path: Path) -> Condition:
        if not isinstance(value, dict):
            raise ShapeError(path, "wrong_type", "must be an object")
        expected = listing(self.kinds)
        for key in value:
            if key not in _PERSON_KINDS and key != "message":
                raise ShapeError(
                    (*path, key), "unknown_key", f"unknown condition; expected one of {expected}"
                )
        if len(value) != 1:
            rule = "required" if not value else "invalid_value"
            raise ShapeError(path, rule, f"a condition has exactly one key, one of {expected}")
        ((kind, body),) = value.items()
        if kind == "message":
            raise ShapeError((*path, kind), "unsupported", _MESSAGE_UNSUPPORTED)
        if kind not in self.kinds:
            raise ShapeError(
                (*path, kind), "unsupported", "only and, or, not and attribute conditions apply here"
            )
        result: Condition = self.kinds[kind].read(body, (*path, kind))
        return result

    def schema(self, defs: Defs) -> Schema:
        return {
            "anyOf": [
                _closed({kind: shape.schema(defs)}, [kind])
                for kind, shape in self.kinds.items()
                if not isinstance(shape, _TooDeep)
            ]
        }


def _levels() -> tuple[list[Ref], list[Ref]]:
    """The conditions at each depth, for a person and in filters, built from the deepest up."""
    fields: list[Ref] = [Ref("", _TooDeep())] * (MAX_DEPTH + 1)
    person: list[Ref] = list(fields)
    for level in range(MAX_DEPTH, -1, -1):
        for scope, levels in (("fields", fields), ("person", person)):
            if level < MAX_DEPTH:
                child = levels[level + 1]
                kinds: dict[str, Shape] = {
                    "and": _Group(child, And),
                    "or": _Group(child, Or),
                    "not": Mapped(child, Not),
                }
            else:
                kinds = dict.fromkeys(_GROUPS, _TooDeep())
            kinds["attribute"] = _ATTRIBUTE
            if scope == "person":
                kinds.update(_person_kinds(fields[level]))
            levels[level] = Ref(f"{scope}{level}", _Level(kinds))
    return person, fields


def _person_kinds(filters: Ref) -> dict[str, Shape]:
    """The conditions on a person's events, devices, related objects and segments, their filters at
    the same level (``filters``)."""
    return {
        "event": Obj(
            {
                "name": Field(Text(MAX_NAME_LENGTH), required=True),
                "type": Field(choice_of(EventType)),
                "performed": Field(Boolean(), absent=True),
                "filters": Field(filters),
                "count": Field(
                    Obj(
                        {
                            "operator": Field(choice_of(CountOperator, "unknown_operator"), required=True),
                            "value": Field(Integer(0, MAX_EVENT_COUNT), required=True),
                        },
                        required_first=False,
                        into=lambda fields: EventCount(**fields),
                    ),
                    absent=EventCount(),
                ),
                "timeframe": Field(_TIMEFRAME, absent=Ever()),
            },
            required_first=False,
            into=lambda fields: EventCondition(**fields),
        ),
        "device": Mapped(filters, DeviceCondition),
        "object": Obj(
            {
                "object_type_id": Field(_NAME, required=True),
                "filters": Field(filters),
                "relationship": Field(filters),
            },
            required_first=False,
            into=lambda fields: ObjectCondition(**fields),
        ),
        "segment": Obj(
            {
                "id": Field(_IDENTIFIER, required=True),
                "operator": Field(choice_of(SegmentOperator, "unknown_operator"), absent=SegmentOperator.IN),
            },
            required_first=False,
            into=lambda fields: SegmentCondition(fields["id"], fields["operator"]),
        ),
    }


_PERSON, _FIELDS = _levels()


def _schema() -> Schema:
    defs: Defs = {}
    for shape in (_ATTRIBUTE, _TIMEFRAME, _IDENTIFIER, *_PERSON, *_FIELDS):
        shape.schema(defs)
    order = ["attribute", "timeframe", "identifier"]
    order += [f"{scope}{level}" for level in range(MAX_DEPTH + 1) for scope in ("person", "fields")]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:nudge:segment-condition",
        "title": "Nudge segment condition",
        "$ref": "#/$defs/person0",
        "$defs": {name: defs[name] for name in order},
    }


CONDITION_SCHEMA: dict[str, Any] = _schema()


def parse(data: Any) -> Condition:
    """Validate JSON-decoded ``data`` into a condition tree; the first problem raises ConditionError."""
    try:
        condition: Condition = _PERSON[0].read(data, ())
    except ShapeError as exc:
        raise ConditionError(_path_text(exc.path), cast(Rule, exc.rule), exc.message) from None
    return condition


def identifier(value: Any, path: str) -> str:
    """A segment's id as stored (a string), given as a string or as a number (``#/$defs/identifier``)."""
    try:
        return _identifier(value, ())
    except ShapeError as exc:
        raise ConditionError(path, cast(Rule, exc.rule), exc.message) from None


# --- writing ---------------------------------------------------------------------------------------


def to_json(condition: Condition) -> dict[str, Any]:
    """The canonical JSON of a condition (defaults spelled out): ``parse(to_json(c)) == c``."""
    if isinstance(condition, And | Or):
        return {"and" if isinstance(condition, And) else "or": [to_json(c) for c in condition.conditions]}
    if isinstance(condition, Not):
        return {"not": to_json(condition.condition)}
    if isinstance(condition, AttributeCondition):
        return {"attribute": _attribute_json(condition)}
    if isinstance(condition, EventCondition):
        return {"event": _event_json(condition)}
    if isinstance(condition, DeviceCondition):
        return {"device": to_json(condition.condition)}
    if isinstance(condition, ObjectCondition):
        return {"object": _object_json(condition)}
    return {"segment": {"id": condition.segment_id, "operator": condition.operator.value}}


def _attribute_json(condition: AttributeCondition) -> dict[str, Any]:
    body: dict[str, Any] = {"field": condition.field, "operator": condition.operator.value}
    value = condition.value
    if isinstance(value, RelativeTime):
        body["value"] = {"amount": value.amount, "unit": value.unit.value, "direction": value.direction.value}
    elif isinstance(value, tuple):
        body["value"] = list(value)
    elif value is not None:
        body["value"] = value
    return body


def _event_json(condition: EventCondition) -> dict[str, Any]:
    body: dict[str, Any] = {"name": condition.name, "performed": condition.performed}
    if condition.type is not None:
        body["type"] = condition.type.value
    if condition.filters is not None:
        body["filters"] = to_json(condition.filters)
    body["count"] = {"operator": condition.count.operator.value, "value": condition.count.value}
    body["timeframe"] = _timeframe_json(condition.timeframe)
    return body


def _timeframe_json(timeframe: Timeframe) -> dict[str, Any]:
    if isinstance(timeframe, Within):
        return {"type": TimeframeType.WITHIN.value, "amount": timeframe.amount, "unit": timeframe.unit.value}
    if isinstance(timeframe, Between):
        return {"type": TimeframeType.BETWEEN.value, "start": timeframe.start, "end": timeframe.end}
    return {"type": TimeframeType.EVER.value}


def _object_json(condition: ObjectCondition) -> dict[str, Any]:
    body: dict[str, Any] = {"object_type_id": condition.object_type_id}
    if condition.filters is not None:
        body["filters"] = to_json(condition.filters)
    if condition.relationship is not None:
        body["relationship"] = to_json(condition.relationship)
    return body


# --- analysis --------------------------------------------------------------------------------------


def dependencies(condition: Condition) -> frozenset[str]:
    """The keys a change must touch for the outcome to possibly change: ``attr:<top-level name>``,
    ``event:<name>``, ``device``, ``object:<object_type_id>``, ``segment:<id>``."""
    return frozenset(_dependencies(condition))


def _dependencies(condition: Condition) -> Iterator[str]:
    # Filters need no keys of their own: they read the event, device or object their parent depends on.
    if isinstance(condition, And | Or):
        for child in condition.conditions:
            yield from _dependencies(child)
    elif isinstance(condition, Not):
        yield from _dependencies(condition.condition)
    elif isinstance(condition, AttributeCondition):
        yield "attr:" + condition.field.split(".", 1)[0]
    elif isinstance(condition, EventCondition):
        yield f"event:{condition.name}"
    elif isinstance(condition, DeviceCondition):
        yield "device"
    elif isinstance(condition, ObjectCondition):
        yield f"object:{condition.object_type_id}"
    else:
        yield f"segment:{condition.segment_id}"


def referenced_segments(condition: Condition) -> frozenset[str]:
    """The ids of the segments whose membership this condition reads."""
    return frozenset(n.segment_id for n in _nodes(condition) if isinstance(n, SegmentCondition))


def time_relative(condition: Condition) -> bool:
    """True when the outcome can change with the mere passage of time (``before``/``after`` anywhere, or
    an event counted ``within`` a window)."""
    return any(_is_time_rule(node) for node in _nodes(condition))


def _is_time_rule(node: Condition) -> bool:
    if isinstance(node, AttributeCondition):
        return node.operator in (AttributeOperator.BEFORE, AttributeOperator.AFTER)
    return isinstance(node, EventCondition) and isinstance(node.timeframe, Within)


def _nodes(condition: Condition) -> Iterator[Condition]:
    """Every node of the tree, filters included."""
    yield condition
    children: tuple[Condition | None, ...] = ()
    if isinstance(condition, And | Or):
        children = condition.conditions
    elif isinstance(condition, Not | DeviceCondition):
        children = (condition.condition,)
    elif isinstance(condition, EventCondition):
        children = (condition.filters,)
    elif isinstance(condition, ObjectCondition):
        children = (condition.filters, condition.relationship)
    for child in children:
        if child is not None:
            yield from _nodes(child)
