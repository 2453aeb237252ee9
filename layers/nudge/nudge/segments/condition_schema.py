"""The shape of the segment condition language: its typed tree, its error, and its JSON Schema.

The language is documented in :mod:`nudge.segments.conditions`, which parses JSON into these types.
Both the parser and :data:`CONDITION_SCHEMA` are built from the tables here (operators, value kinds,
patterns, limits), so the two cannot drift apart on anything a JSON Schema can express.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Literal, TypeAlias

from nudge.tracking.limits import MAX_TIMESTAMP

MAX_DEPTH = 6  # nesting of and/or/not groups, counted through event, device and object filters too
# Bounds the events one evaluation may read: "at most K" has to read K+1 of them to say no.
MAX_EVENT_COUNT = 1000
FIELD_PATTERN = r"^[^.]+(\.[^.]+)*$"  # dotted path, no empty segment
# Attribute fields, event names, object type ids and segment ids become parts of storage keys (the
# dependency index's ``attr:<name>``), which DynamoDB caps at 1024/2048 bytes: 150 characters (Customer.io's
# attribute name limit, in bytes) keep every key far below that, whatever the characters.
MAX_NAME_LENGTH = 150
# A segment's (or a template's) id may be given as a number: Nudge answers them as numbers, as Customer.io
# does, so a client echoes back what it was given. Stored as the decimal string.
MAX_NUMERIC_ID = 2**63 - 1
# "amount unit ago / from now" and "within amount units": a million days is beyond any plausible
# timestamp, and the times computed from it stay 12-digit numbers (re-checks are keyed by them).
MAX_RELATIVE_AMOUNT = 1_000_000
NAME_PATTERN = r"\S"  # an event name must not be blank

Rule = Literal[
    "unknown_key",
    "unknown_operator",
    "wrong_type",
    "required",
    "depth_exceeded",
    "invalid_value",
    "unsupported",
]


class ConditionError(ValueError):
    """A condition breaks a rule: ``path`` locates it (``and[1].event.count.value``, "" for the root)."""

    def __init__(self, path: str, rule: Rule, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.rule = rule
        self.message = message


# --- vocabulary ------------------------------------------------------------------------------------


class AttributeOperator(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    IS_TIMESTAMP = "is_timestamp"
    BEFORE = "before"
    AFTER = "after"


class ValueKind(Enum):
    """What an attribute operator takes as its ``value``."""

    NONE = "none"
    SCALAR = "scalar"  # string, number or boolean
    TEXT = "text"
    NUMBER = "number"
    LIST = "list"  # non-empty list of scalars
    RELATIVE_TIME = "relative_time"


VALUE_KINDS: dict[AttributeOperator, ValueKind] = {
    AttributeOperator.EQ: ValueKind.SCALAR,
    AttributeOperator.NEQ: ValueKind.SCALAR,
    AttributeOperator.EXISTS: ValueKind.NONE,
    AttributeOperator.NOT_EXISTS: ValueKind.NONE,
    AttributeOperator.CONTAINS: ValueKind.SCALAR,
    AttributeOperator.STARTS_WITH: ValueKind.TEXT,
    AttributeOperator.GT: ValueKind.NUMBER,
    AttributeOperator.GTE: ValueKind.NUMBER,
    AttributeOperator.LT: ValueKind.NUMBER,
    AttributeOperator.LTE: ValueKind.NUMBER,
    AttributeOperator.IN: ValueKind.LIST,
    AttributeOperator.IS_TIMESTAMP: ValueKind.NONE,
    AttributeOperator.BEFORE: ValueKind.RELATIVE_TIME,
    AttributeOperator.AFTER: ValueKind.RELATIVE_TIME,
}


class TimeUnit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"

    @property
    def seconds(self) -> int:
        return _UNIT_SECONDS[self]


_UNIT_SECONDS = {TimeUnit.MINUTES: 60, TimeUnit.HOURS: 3600, TimeUnit.DAYS: 86400}


class Direction(StrEnum):
    AGO = "ago"
    FROM_NOW = "from_now"


class EventType(StrEnum):
    EVENT = "event"
    PAGE = "page"
    SCREEN = "screen"


class TimeframeType(StrEnum):
    EVER = "ever"
    WITHIN = "within"
    BETWEEN = "between"


class CountOperator(StrEnum):
    AT_LEAST = "at_least"
    AT_MOST = "at_most"
    EXACTLY = "exactly"


class SegmentOperator(StrEnum):
    IN = "in"
    NOT_IN = "not_in"


# --- the typed tree --------------------------------------------------------------------------------

Scalar: TypeAlias = str | int | float | bool


@dataclass(frozen=True)
class RelativeTime:
    """``amount`` ``unit`` ``direction`` from now: the threshold of ``before`` and ``after``."""

    amount: int
    unit: TimeUnit
    direction: Direction

    @property
    def offset(self) -> int:
        """Signed seconds from now to the threshold."""
        seconds = self.amount * self.unit.seconds
        return -seconds if self.direction is Direction.AGO else seconds


AttributeValue: TypeAlias = Scalar | tuple[Scalar, ...] | RelativeTime | None


@dataclass(frozen=True)
class And:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    condition: Condition


@dataclass(frozen=True)
class AttributeCondition:
    field: str
    operator: AttributeOperator
    value: AttributeValue = None


@dataclass(frozen=True)
class EventCount:
    operator: CountOperator = CountOperator.AT_LEAST
    value: int = 1


@dataclass(frozen=True)
class Ever:
    pass


@dataclass(frozen=True)
class Within:
    amount: int
    unit: TimeUnit

    @property
    def seconds(self) -> int:
        return self.amount * self.unit.seconds


@dataclass(frozen=True)
class Between:
    start: int  # inclusive
    end: int  # exclusive


Timeframe: TypeAlias = Ever | Within | Between


@dataclass(frozen=True)
class EventCondition:
    name: str
    type: EventType | None = None  # None: any type
    performed: bool = True
    filters: Condition | None = None  # attribute conditions over the event's data
    count: EventCount = EventCount()
    timeframe: Timeframe = Ever()


@dataclass(frozen=True)
class DeviceCondition:
    condition: Condition  # attribute conditions over one device's fields


@dataclass(frozen=True)
class ObjectCondition:
    object_type_id: str
    filters: Condition | None = None  # over the object's attributes
    relationship: Condition | None = None  # over the relationship's attributes


@dataclass(frozen=True)
class SegmentCondition:
    segment_id: str
    operator: SegmentOperator


Condition: TypeAlias = (
    And
    | Or
    | Not
    | AttributeCondition
    | EventCondition
    | DeviceCondition
    | ObjectCondition
    | SegmentCondition
)


# --- JSON Schema -----------------------------------------------------------------------------------
# Depth is expressed by one definition per nesting level: "person<n>" / "fields<n>" is a condition
# inside n groups, and only levels below MAX_DEPTH offer groups. "fields" conditions (event, device and
# object filters) allow only groups and attribute conditions.

_SCALAR = {"type": ["string", "number", "boolean"]}
_UNIT = {"enum": [unit.value for unit in TimeUnit]}
_TIMESTAMP = {"type": "integer", "minimum": 0, "maximum": MAX_TIMESTAMP}
_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH}
# The one declaration of an id's shape: campaign definitions refer to it (``#/$defs/identifier``).
IDENTIFIER_SCHEMA = {
    "description": "A segment's or template's id, as a string or a number.",
    "anyOf": [_NAME, {"type": "integer", "minimum": 0, "maximum": MAX_NUMERIC_ID}],
}


def _closed(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _enum(values: type[StrEnum]) -> dict[str, Any]:
    return {"enum": [value.value for value in values]}


_VALUE_SCHEMAS: dict[ValueKind, dict[str, Any]] = {
    ValueKind.SCALAR: _SCALAR,
    ValueKind.TEXT: {"type": "string"},
    ValueKind.NUMBER: {"type": "number"},
    ValueKind.LIST: {"type": "array", "minItems": 1, "items": _SCALAR},
    ValueKind.RELATIVE_TIME: _closed(
        {
            "amount": {"type": "integer", "minimum": 0, "maximum": MAX_RELATIVE_AMOUNT},
            "unit": _UNIT,
            "direction": _enum(Direction),
        },
        ["amount", "unit", "direction"],
    ),
}


def _attribute_schema() -> dict[str, Any]:
    """One alternative per value kind, each listing the operators that take that kind of value."""
    alternatives = []
    for kind in ValueKind:
        operators = [op.value for op, op_kind in VALUE_KINDS.items() if op_kind is kind]
        field = {"type": "string", "pattern": FIELD_PATTERN, "maxLength": MAX_NAME_LENGTH}
        properties = {"field": field, "operator": {"enum": operators}}
        required = ["field", "operator"]
        if kind is not ValueKind.NONE:
            properties["value"] = _VALUE_SCHEMAS[kind]
            required.append("value")
        alternatives.append(_closed(properties, required))
    return {"anyOf": alternatives}


def _timeframe_schema() -> dict[str, Any]:
    return {
        "anyOf": [
            _closed({"type": {"const": TimeframeType.EVER.value}}, ["type"]),
            _closed(
                {
                    "type": {"const": TimeframeType.WITHIN.value},
                    "amount": {"type": "integer", "minimum": 1, "maximum": MAX_RELATIVE_AMOUNT},
                    "unit": _UNIT,
                },
                ["type", "amount", "unit"],
            ),
            # parse() also requires end > start, which JSON Schema cannot compare
            _closed(
                {"type": {"const": TimeframeType.BETWEEN.value}, "start": _TIMESTAMP, "end": _TIMESTAMP},
                ["type", "start", "end"],
            ),
        ]
    }


def _event_schema(filters: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "name": {"type": "string", "pattern": NAME_PATTERN, "maxLength": MAX_NAME_LENGTH},
        "type": _enum(EventType),
        "performed": {"type": "boolean"},
        "filters": filters,
        "count": _closed(
            {
                "operator": _enum(CountOperator),
                "value": {"type": "integer", "minimum": 0, "maximum": MAX_EVENT_COUNT},
            },
            ["operator", "value"],
        ),
        "timeframe": _ref("timeframe"),
    }
    return _closed(properties, ["name"])


def _level(scope: str, level: int) -> dict[str, Any]:
    """A condition inside ``level`` groups; ``scope`` is "person" or "fields"."""
    alternatives: list[dict[str, Any]] = []
    if level < MAX_DEPTH:
        child = _ref(f"{scope}{level + 1}")
        group = {"type": "array", "minItems": 1, "items": child}
        alternatives += [_closed({"and": group}, ["and"]), _closed({"or": group}, ["or"])]
        alternatives.append(_closed({"not": child}, ["not"]))
    alternatives.append(_closed({"attribute": _ref("attribute")}, ["attribute"]))
    if scope == "person":
        fields = _ref(f"fields{level}")
        relation = {"object_type_id": _NAME, "filters": fields, "relationship": fields}
        segment = {"id": _ref("identifier"), "operator": _enum(SegmentOperator)}
        alternatives += [
            _closed({"event": _event_schema(fields)}, ["event"]),
            _closed({"device": fields}, ["device"]),
            _closed({"object": _closed(relation, ["object_type_id"])}, ["object"]),
            _closed({"segment": _closed(segment, ["id"])}, ["segment"]),
        ]
    return {"anyOf": alternatives}


def _schema() -> dict[str, Any]:
    defs: dict[str, Any] = {
        "attribute": _attribute_schema(),
        "timeframe": _timeframe_schema(),
        "identifier": IDENTIFIER_SCHEMA,
    }
    for level in range(MAX_DEPTH + 1):
        defs[f"person{level}"] = _level("person", level)
        defs[f"fields{level}"] = _level("fields", level)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:nudge:segment-condition",
        "title": "Nudge segment condition",
        "$ref": "#/$defs/person0",
        "$defs": defs,
    }


CONDITION_SCHEMA: dict[str, Any] = _schema()
