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
order, depth before a group's contents. :data:`CONDITION_SCHEMA` accepts exactly what ``parse`` accepts,
except two things JSON Schema cannot express: a ``between`` window whose end is not after its start, and
non-finite numbers (which JSON cannot carry anyway). ``parse`` takes JSON-decoded data: ``Decimal`` is
not a number to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Any, TypeVar

from nudge.segments.condition_eval import Outcome, PersonContext, evaluate
from nudge.segments.condition_schema import (
    CONDITION_SCHEMA,
    FIELD_PATTERN,
    MAX_DEPTH,
    MAX_EVENT_COUNT,
    MAX_NAME_LENGTH,
    MAX_NUMERIC_ID,
    MAX_RELATIVE_AMOUNT,
    MAX_TIMESTAMP,
    NAME_PATTERN,
    VALUE_KINDS,
    And,
    AttributeCondition,
    AttributeOperator,
    AttributeValue,
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
_NAME_RE = re.compile(NAME_PATTERN)

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


# --- parsing: shared checks ------------------------------------------------------------------------


def _key(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _object(data: Any, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConditionError(path, "wrong_type", "must be an object")
    return data


def _keys(data: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """An object holding only ``allowed`` keys."""
    obj = _object(data, path)
    for key in obj:
        if key not in allowed:
            raise ConditionError(_key(path, key), "unknown_key", f"unknown key; expected {_listing(allowed)}")
    return obj


def _listing(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(names)


def _required(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise ConditionError(_key(path, key), "required", "is required")
    return obj[key]


def _optional(obj: dict[str, Any], key: str, path: str, read: Callable[[Any, str], T], default: T) -> T:
    return read(obj[key], _key(path, key)) if key in obj else default


def _choice(kind: type[E], rule: Rule) -> Callable[[Any, str], E]:
    """A reader for one of an enum's values; an unlisted string breaks ``rule``."""

    def read(value: Any, path: str) -> E:
        if not isinstance(value, str):
            raise ConditionError(path, "wrong_type", "must be a string")
        try:
            return kind(value)
        except ValueError:
            expected = _listing([member.value for member in kind])
            raise ConditionError(path, rule, f"unknown value {value!r}; expected {expected}") from None

    return read


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ConditionError(path, "wrong_type", "must be a string")
    return value


def _non_empty(value: Any, path: str) -> str:
    if not _string(value, path):
        raise ConditionError(path, "invalid_value", "must not be empty")
    return _short(value, path)


def _short(value: str, path: str) -> str:
    """A name that becomes part of a storage key (see ``MAX_NAME_LENGTH``)."""
    if len(value) > MAX_NAME_LENGTH:
        raise ConditionError(path, "invalid_value", f"must be at most {MAX_NAME_LENGTH} characters")
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(path, "wrong_type", "must be a boolean")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any, path: str) -> int | float:
    if not _is_number(value):
        raise ConditionError(path, "wrong_type", "must be a number")
    if isinstance(value, float) and not math.isfinite(value):  # ints are exact, however large
        raise ConditionError(path, "invalid_value", "must be a finite number")
    return value


def _integer(minimum: int, maximum: int | None = None) -> Callable[[Any, str], int]:
    """A reader for an integer in range. A float with no fraction is an integer, as JSON Schema says."""

    def read(value: Any, path: str) -> int:
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            raise ConditionError(path, "wrong_type", "must be an integer")
        number = int(value)
        if number < minimum or (maximum is not None and number > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            raise ConditionError(path, "invalid_value", f"must be {bounds}")
        return number

    return read


# --- parsing: conditions ---------------------------------------------------------------------------


def parse(data: Any) -> Condition:
    """Validate JSON-decoded ``data`` into a condition tree; the first problem raises ConditionError."""
    return _condition(data, "", 0, person=True)


def _condition(data: Any, path: str, depth: int, *, person: bool) -> Condition:
    """``depth`` is the number of enclosing groups; ``person`` False limits it to attribute conditions."""
    kind, body = _single_key(data, path, person)
    body_path = _key(path, kind)
    if kind in _GROUPS:
        return _group(kind, body, body_path, depth, person)
    if kind == "attribute":
        return _attribute(body, body_path)
    if kind == "event":
        return _event(body, body_path, depth)
    if kind == "device":
        return DeviceCondition(_condition(body, body_path, depth, person=False))
    if kind == "object":
        return _related_object(body, body_path, depth)
    return _segment(body, body_path)


def _single_key(data: Any, path: str, person: bool) -> tuple[str, Any]:
    obj = _object(data, path)
    expected = _listing(_PERSON_KINDS if person else _FIELD_KINDS)
    for key in obj:
        if key not in _PERSON_KINDS and key != "message":
            raise ConditionError(
                _key(path, key), "unknown_key", f"unknown condition; expected one of {expected}"
            )
    if len(obj) != 1:
        rule: Rule = "required" if not obj else "invalid_value"
        raise ConditionError(path, rule, f"a condition has exactly one key, one of {expected}")
    ((kind, body),) = obj.items()
    if kind == "message":
        raise ConditionError(_key(path, kind), "unsupported", _MESSAGE_UNSUPPORTED)
    if not person and kind not in _FIELD_KINDS:
        raise ConditionError(
            _key(path, kind), "unsupported", "only and, or, not and attribute conditions apply here"
        )
    return kind, body


def _group(kind: str, body: Any, path: str, depth: int, person: bool) -> Condition:
    if depth >= MAX_DEPTH:
        raise ConditionError(path, "depth_exceeded", f"groups nest at most {MAX_DEPTH} deep")
    if kind == "not":
        return Not(_condition(body, path, depth + 1, person=person))
    if not isinstance(body, list):
        raise ConditionError(path, "wrong_type", "must be a list of conditions")
    if not body:
        raise ConditionError(path, "invalid_value", "must hold at least one condition")
    children = tuple(
        _condition(item, f"{path}[{i}]", depth + 1, person=person) for i, item in enumerate(body)
    )
    return And(children) if kind == "and" else Or(children)


def _field(value: Any, path: str) -> str:
    if not _FIELD_RE.search(_string(value, path)):
        raise ConditionError(path, "invalid_value", "must be a name, or dotted names with no empty part")
    return _short(value, path)


def _attribute(body: Any, path: str) -> AttributeCondition:
    obj = _keys(body, path, ("field", "operator", "value"))
    field = _field(_required(obj, "field", path), _key(path, "field"))
    operator = _choice(AttributeOperator, "unknown_operator")(
        _required(obj, "operator", path), _key(path, "operator")
    )
    kind = VALUE_KINDS[operator]
    if kind is ValueKind.NONE:
        if "value" in obj:
            raise ConditionError(_key(path, "value"), "unknown_key", f"{operator} takes no value")
        return AttributeCondition(field, operator)
    return AttributeCondition(
        field, operator, _VALUE_READERS[kind](_required(obj, "value", path), _key(path, "value"))
    )


def _scalar(value: Any, path: str) -> Scalar:
    if isinstance(value, str | bool):
        return value
    if _is_number(value):
        return _number(value, path)
    raise ConditionError(path, "wrong_type", "must be a string, number or boolean")


def _scalars(value: Any, path: str) -> tuple[Scalar, ...]:
    if not isinstance(value, list):
        raise ConditionError(path, "wrong_type", "must be a list")
    if not value:
        raise ConditionError(path, "invalid_value", "must hold at least one value")
    return tuple(_scalar(item, f"{path}[{i}]") for i, item in enumerate(value))


def _relative_time(value: Any, path: str) -> RelativeTime:
    obj = _keys(value, path, ("amount", "unit", "direction"))
    return RelativeTime(
        _integer(0, MAX_RELATIVE_AMOUNT)(_required(obj, "amount", path), _key(path, "amount")),
        _choice(TimeUnit, "invalid_value")(_required(obj, "unit", path), _key(path, "unit")),
        _choice(Direction, "invalid_value")(_required(obj, "direction", path), _key(path, "direction")),
    )


_VALUE_READERS: dict[ValueKind, Callable[[Any, str], AttributeValue]] = {
    ValueKind.SCALAR: _scalar,
    ValueKind.TEXT: _string,
    ValueKind.NUMBER: _number,
    ValueKind.LIST: _scalars,
    ValueKind.RELATIVE_TIME: _relative_time,
}


def _event(body: Any, path: str, depth: int) -> EventCondition:
    obj = _keys(body, path, ("name", "type", "performed", "filters", "count", "timeframe"))
    name = _string(_required(obj, "name", path), _key(path, "name"))
    if not _NAME_RE.search(name):
        raise ConditionError(_key(path, "name"), "invalid_value", "must not be blank")
    _short(name, _key(path, "name"))
    ever: Timeframe = Ever()
    return EventCondition(
        name=name,
        type=_optional(obj, "type", path, _choice(EventType, "invalid_value"), None),
        performed=_optional(obj, "performed", path, _boolean, True),
        filters=_optional(obj, "filters", path, lambda v, p: _condition(v, p, depth, person=False), None),
        count=_optional(obj, "count", path, _count, EventCount()),
        timeframe=_optional(obj, "timeframe", path, _timeframe, ever),
    )


def _count(value: Any, path: str) -> EventCount:
    obj = _keys(value, path, ("operator", "value"))
    return EventCount(
        _choice(CountOperator, "unknown_operator")(_required(obj, "operator", path), _key(path, "operator")),
        _integer(0, MAX_EVENT_COUNT)(_required(obj, "value", path), _key(path, "value")),
    )


def _timeframe(value: Any, path: str) -> Timeframe:
    # The type decides which other keys belong, so it is read first.
    kind = _choice(TimeframeType, "invalid_value")(
        _required(_object(value, path), "type", path), _key(path, "type")
    )
    if kind is TimeframeType.EVER:
        _keys(value, path, ("type",))
        return Ever()
    if kind is TimeframeType.WITHIN:
        obj = _keys(value, path, ("type", "amount", "unit"))
        return Within(
            _integer(1, MAX_RELATIVE_AMOUNT)(_required(obj, "amount", path), _key(path, "amount")),
            _choice(TimeUnit, "invalid_value")(_required(obj, "unit", path), _key(path, "unit")),
        )
    obj = _keys(value, path, ("type", "start", "end"))
    start = _integer(0, MAX_TIMESTAMP)(_required(obj, "start", path), _key(path, "start"))
    end = _integer(0, MAX_TIMESTAMP)(_required(obj, "end", path), _key(path, "end"))
    if end <= start:
        raise ConditionError(_key(path, "end"), "invalid_value", "must be after start")
    return Between(start, end)


def _related_object(body: Any, path: str, depth: int) -> ObjectCondition:
    obj = _keys(body, path, ("object_type_id", "filters", "relationship"))

    def fields(value: Any, sub: str) -> Condition:
        return _condition(value, sub, depth, person=False)

    return ObjectCondition(
        _non_empty(_required(obj, "object_type_id", path), _key(path, "object_type_id")),
        _optional(obj, "filters", path, fields, None),
        _optional(obj, "relationship", path, fields, None),
    )


def _segment(body: Any, path: str) -> SegmentCondition:
    obj = _keys(body, path, ("id", "operator"))
    return SegmentCondition(
        identifier(_required(obj, "id", path), _key(path, "id")),
        _optional(obj, "operator", path, _choice(SegmentOperator, "unknown_operator"), SegmentOperator.IN),
    )


def identifier(value: Any, path: str) -> str:
    """A segment's id as stored (a string), given as a string or as a number (``IDENTIFIER_SCHEMA``)."""
    if _is_number(value):
        return str(_integer(0, MAX_NUMERIC_ID)(value, path))
    if not isinstance(value, str):
        raise ConditionError(path, "wrong_type", "must be a string or an integer")
    return _non_empty(value, path)


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
