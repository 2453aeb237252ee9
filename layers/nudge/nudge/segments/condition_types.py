"""The segment condition language's vocabulary and typed tree: its limits, operators, nodes and error.

The language is documented in :mod:`nudge.segments.conditions`, whose shapes read JSON into these types
and write the language's JSON Schema from the same declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Literal, TypeAlias

from nudge.tracking.event_types import EventType as EventType  # the Track API's, conditions name them too
from nudge.tracking.limits import MAX_TIMESTAMP as MAX_TIMESTAMP  # the language's timestamps: Track's

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
