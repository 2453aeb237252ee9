"""Evaluating a condition tree for one person, and when its outcome could next change on its own.

The semantics are documented in :mod:`nudge.segments.conditions`. Every evaluation also answers
``recheck_at``: the earliest future second at which the outcome could flip with no new data. It may be
early (a re-check that changes nothing is harmless) but never late. Groups short-circuit: an ``and``
with a false child is false at least until that child can flip, so later children are not evaluated
(which spares their event queries) and that child's re-check time is the group's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from nudge.segments.condition_types import (
    MAX_TIMESTAMP,
    And,
    AttributeCondition,
    AttributeOperator,
    AttributeValue,
    Between,
    Condition,
    CountOperator,
    DeviceCondition,
    EventCondition,
    EventCount,
    Not,
    ObjectCondition,
    Or,
    RelativeTime,
    SegmentOperator,
    Timeframe,
    Within,
)


class PersonContext(Protocol):
    """What the evaluator may read about one person. Everything beyond the profile may be read lazily."""

    @property
    def now(self) -> int: ...  # unix seconds

    @property
    def attributes(self) -> Mapping[str, Any]: ...  # with "id", "email", "created_at" folded in

    def devices(
        self,
    ) -> Sequence[Mapping[str, Any]]: ...  # each {"id", "platform", "last_used", "attributes"}

    def related_objects(self, object_type_id: str) -> Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        """(object attributes, relationship attributes) for each related object of that type."""
        ...

    def events(
        self, name: str, event_type: str | None, since: int | None, until: int | None
    ) -> Iterable[Mapping[str, Any]]:
        """Events with since <= timestamp < until, NEWEST FIRST, each {"timestamp": int, "data": {...}}."""
        ...

    def in_segment(self, segment_id: str) -> bool: ...


class FieldsOnly:
    """A ``PersonContext`` of plain fields and nothing else (no devices, objects, events or segments):
    for evaluating conditions over an event's data, or a person who has nothing yet."""

    def __init__(self, fields: Mapping[str, Any], now: int) -> None:
        self.attributes = fields
        self.now = now

    def devices(self) -> list[Mapping[str, Any]]:
        return []

    def related_objects(self, object_type_id: str) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:  # noqa: ARG002 (PersonView's signature: a person with nothing yet)
        return []

    def events(self, name: str, event_type: str | None, since: int | None, until: int | None) -> list[Any]:  # noqa: ARG002 (PersonView's signature: a person with nothing yet)
        return []

    def in_segment(self, segment_id: str) -> bool:  # noqa: ARG002 (PersonView's signature: a person with nothing yet)
        return False


@dataclass(frozen=True)
class Outcome:
    matched: bool
    recheck_at: int | None  # earliest future second the outcome could flip with no new data; None: never


_MISSING: Any = object()  # a field that is absent or null
_STATIC = Outcome(True, None)
Resolve = Callable[[str], Any]  # field name -> value, or _MISSING


def evaluate(condition: Condition, ctx: PersonContext) -> Outcome:
    """Whether the person matches, and when that could next change on its own."""
    return _evaluate(condition, ctx, partial(_lookup, ctx.attributes))


def _evaluate(condition: Condition, ctx: PersonContext, resolve: Resolve) -> Outcome:
    """``resolve`` reads the fields attribute conditions name: the profile's, or a filter's subject's."""
    if isinstance(condition, And):
        return _all(_evaluate(c, ctx, resolve) for c in condition.conditions)
    if isinstance(condition, Or):
        return _any(_evaluate(c, ctx, resolve) for c in condition.conditions)
    if isinstance(condition, Not):
        inner = _evaluate(condition.condition, ctx, resolve)
        return Outcome(not inner.matched, inner.recheck_at)  # flips exactly when the child does
    if isinstance(condition, AttributeCondition):
        return _attribute(condition, resolve(condition.field), ctx.now)
    if isinstance(condition, EventCondition):
        return _event(condition, ctx)
    if isinstance(condition, DeviceCondition):
        return _any(_evaluate(condition.condition, ctx, partial(_device_field, d)) for d in ctx.devices())
    if isinstance(condition, ObjectCondition):
        return _object(condition, ctx)
    return Outcome(ctx.in_segment(condition.segment_id) == (condition.operator is SegmentOperator.IN), None)


# --- combining -------------------------------------------------------------------------------------


def _earliest(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def _all(outcomes: Iterable[Outcome]) -> Outcome:
    """True while every outcome is; a false one decides alone, until it can flip."""
    recheck = None
    for outcome in outcomes:
        if not outcome.matched:
            return outcome
        recheck = _earliest(recheck, outcome.recheck_at)
    return Outcome(True, recheck)


def _any(outcomes: Iterable[Outcome]) -> Outcome:
    """True while any outcome is; a true one decides alone, until it can flip."""
    recheck = None
    for outcome in outcomes:
        if outcome.matched:
            return outcome
        recheck = _earliest(recheck, outcome.recheck_at)
    return Outcome(False, recheck)


def _fields(condition: Condition | None, subject: Mapping[str, Any], ctx: PersonContext) -> Outcome:
    """An optional filter over ``subject``'s fields; no filter lets everything through."""
    return _STATIC if condition is None else _evaluate(condition, ctx, partial(_lookup, subject))


def _object(condition: ObjectCondition, ctx: PersonContext) -> Outcome:
    return _any(
        _all(
            _fields(filters, subject, ctx)
            for filters, subject in ((condition.filters, obj), (condition.relationship, relationship))
        )
        for obj, relationship in ctx.related_objects(condition.object_type_id)
    )


# --- field values ----------------------------------------------------------------------------------


def _lookup(subject: Mapping[str, Any], field: str) -> Any:
    value: Any = subject
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return _MISSING if value is None else value


_DEVICE_FIELDS = frozenset({"id", "platform", "last_used"})


def _device_field(device: Mapping[str, Any], field: str) -> Any:
    if field.split(".", 1)[0] in _DEVICE_FIELDS:
        return _lookup(device, field)
    attributes = device.get("attributes")
    return _lookup(attributes if isinstance(attributes, Mapping) else {}, field)


_NUMERIC = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _number(value: Any) -> Decimal | None:
    """A number, or a string spelling one; exact (Decimal) so that "0.1" equals 0.1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, Decimal):  # what DynamoDB hands back
        return value if value.is_finite() else None
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        return Decimal(value)
    return None


def _text(value: Any) -> str | None:
    """A scalar as a string compares: booleans as JSON spells them, numbers without a needless ".0"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    number = _number(value)
    if number is None:
        return None
    return str(int(number)) if number == number.to_integral_value() else str(number)


def _equal(actual: Any, expected: Any) -> bool:
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    text = _text(actual)
    return text is not None and text == _text(expected)


def _timestamp(value: Any) -> Decimal | None:
    number = _number(value)
    return number if number is not None and 0 <= number <= MAX_TIMESTAMP else None


# --- attribute operators ---------------------------------------------------------------------------


def _eq(actual: Any, expected: AttributeValue) -> bool:
    return actual is not _MISSING and _equal(actual, expected)


def _contains(actual: Any, expected: AttributeValue) -> bool:
    if isinstance(actual, str):
        text = _text(expected)
        return text is not None and text in actual
    if isinstance(actual, list | tuple):
        return any(_equal(item, expected) for item in actual)
    return False


def _in(actual: Any, expected: AttributeValue) -> bool:
    if actual is _MISSING or isinstance(actual, Mapping | list | tuple) or not isinstance(expected, tuple):
        return False
    return any(_equal(actual, item) for item in expected)


def _starts_with(actual: Any, expected: AttributeValue) -> bool:
    return isinstance(actual, str) and isinstance(expected, str) and actual.startswith(expected)


def _compare(test: Callable[[Decimal, Decimal], bool]) -> Callable[[Any, AttributeValue], bool]:
    def match(actual: Any, expected: AttributeValue) -> bool:
        number, threshold = _number(actual), _number(expected)
        return number is not None and threshold is not None and test(number, threshold)

    return match


_MATCHERS: dict[AttributeOperator, Callable[[Any, AttributeValue], bool]] = {
    AttributeOperator.EQ: _eq,
    AttributeOperator.NEQ: lambda actual, expected: not _eq(actual, expected),
    AttributeOperator.EXISTS: lambda actual, _: actual is not _MISSING,
    AttributeOperator.NOT_EXISTS: lambda actual, _: actual is _MISSING,
    AttributeOperator.CONTAINS: _contains,
    AttributeOperator.STARTS_WITH: _starts_with,
    AttributeOperator.GT: _compare(lambda a, b: a > b),
    AttributeOperator.GTE: _compare(lambda a, b: a >= b),
    AttributeOperator.LT: _compare(lambda a, b: a < b),
    AttributeOperator.LTE: _compare(lambda a, b: a <= b),
    AttributeOperator.IN: _in,
    AttributeOperator.IS_TIMESTAMP: lambda actual, _: _timestamp(actual) is not None,
}


def _attribute(condition: AttributeCondition, actual: Any, now: int) -> Outcome:
    if isinstance(condition.value, RelativeTime):
        return _relative_time(condition.operator, condition.value, actual, now)
    return Outcome(_MATCHERS[condition.operator](actual, condition.value), None)


def _relative_time(operator: AttributeOperator, value: RelativeTime, actual: Any, now: int) -> Outcome:
    """``before``: ts < now + offset; ``after``: ts > now + offset. As now grows, ``after`` can only turn
    false and ``before`` only true; the flip second is exact, in integers, whatever fraction ts has."""
    ts = _timestamp(actual)
    if ts is None:
        return Outcome(False, None)
    offset = value.offset
    if operator is AttributeOperator.AFTER:
        # holds until the first second t with t + offset >= ts
        return Outcome(True, math.ceil(ts) - offset) if ts > now + offset else Outcome(False, None)
    # starts to hold at the first second t with t + offset > ts
    return Outcome(True, None) if ts < now + offset else Outcome(False, math.floor(ts) - offset + 1)


# --- events ----------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """What was learnt from the events read: matches counted, and when any of that could change."""

    matches: int = 0
    oldest_match: int | None = None
    filter_flip: int | None = None  # earliest second a read event's filters could flip


def _event(condition: EventCondition, ctx: PersonContext) -> Outcome:
    count = condition.count
    if count.operator is CountOperator.AT_LEAST and count.value == 0:
        return Outcome(condition.performed, None)  # zero or more: decided without reading anything
    since, until = _bounds(condition.timeframe, ctx.now)
    tally = _read(condition, ctx, since, until)
    satisfied = _satisfies(count, tally.matches)
    return Outcome(satisfied == condition.performed, _event_recheck(count, tally, condition.timeframe))


def _bounds(timeframe: Timeframe, now: int) -> tuple[int | None, int | None]:
    if isinstance(timeframe, Within):
        return now - timeframe.seconds, None  # inclusive start; future-dated events count too
    if isinstance(timeframe, Between):
        return timeframe.start, timeframe.end
    return None, None


def _read(condition: EventCondition, ctx: PersonContext, since: int | None, until: int | None) -> _Tally:
    """Count matching events, newest first, stopping as soon as the count decides the answer: at K for
    "at least K", at K+1 for "at most" / "exactly K" (each read may be a DynamoDB page)."""
    count = condition.count
    cap = count.value if count.operator is CountOperator.AT_LEAST else count.value + 1
    event_type = condition.type.value if condition.type is not None else None
    tally = _Tally()
    for event in ctx.events(condition.name, event_type, since, until):
        data = event.get("data")
        outcome = _fields(condition.filters, data if isinstance(data, Mapping) else {}, ctx)
        tally.filter_flip = _earliest(tally.filter_flip, outcome.recheck_at)
        if outcome.matched:
            tally.matches += 1
            ts = math.floor(event["timestamp"])
            tally.oldest_match = ts if tally.oldest_match is None else min(tally.oldest_match, ts)
            if tally.matches >= cap:
                break
    return tally


def _satisfies(count: EventCount, matches: int) -> bool:
    if count.operator is CountOperator.AT_LEAST:
        return matches >= count.value
    if count.operator is CountOperator.AT_MOST:
        return matches <= count.value
    return matches == count.value


def _event_recheck(count: EventCount, tally: _Tally, timeframe: Timeframe) -> int | None:
    """Time changes the count only by matched events leaving a ``within`` window, oldest first; the first
    to leave matters when one fewer match would change the verdict. (Events not read are older than the
    ones read, or beyond the cap, so they cannot change a decided verdict sooner.) Filters with time
    rules can flip on their own too."""
    recheck = tally.filter_flip
    if not isinstance(timeframe, Within) or tally.oldest_match is None:
        return recheck
    if _satisfies(count, tally.matches) != _satisfies(count, tally.matches - 1):
        # in the window while now - seconds <= ts: it leaves at ts + seconds + 1
        recheck = _earliest(recheck, tally.oldest_match + timeframe.seconds + 1)
    return recheck
