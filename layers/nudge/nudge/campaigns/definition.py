"""The campaign definition (format: :mod:`nudge.campaigns`), validated and normalized.

``validate`` checks a JSON-decoded definition in three passes and raises the first problem as a
:class:`DefinitionError` whose ``path`` names it (``workflow.blocks.b3.next``; list items are numbered:
``workflow.blocks.b6.branches.0.next``):

1. structure, in document order: unknown keys, types, enums, ranges, conditions (parsed by
   :func:`nudge.segments.conditions.parse`, their own paths appended), at most ``MAX_BLOCKS`` blocks,
   random split percentages summing to 100. A trigger's or block's ``type`` is read before its other
   keys, since it decides which keys belong;
2. the workflow graph: ``start`` and every edge (``next``, ``true``, ``false``, ``default``, a branch's
   ``next``) name a block, every block is reachable from ``start``, and every cycle passes through a
   ``delay`` or ``wait_until`` block (anything else would spin through state transitions unboundedly);
3. references, looked up through the callables the caller passes (so this module reads no tables):
   templates exist and are of the send block's channel; segments named by the trigger, the goal,
   ``segment`` blocks (manual segments only) and segment conditions exist.

The result is the normalized definition: every default filled in (see ``_SETTINGS_DEFAULTS`` and the
block readers), conditions in their canonical JSON (``conditions.to_json``), template and segment ids
as strings; an edge that ends the journey is left out. Normalizing is idempotent: a normalized
definition validates to itself, which is what the store relies on when it validates again on activation.

``schema.json`` describes the same structure as JSON Schema (draft 2020-12); :func:`schema` serves it
with the segment condition schema filled in. What JSON Schema cannot express is only checked here: the
graph (pass 2), references (pass 3), percentages summing to 100, a time window's start before its end,
and whether a time zone exists.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nudge.segments.conditions import (
    CONDITION_SCHEMA,
    MAX_TIMESTAMP,
    Condition,
    ConditionError,
    EventCondition,
    identifier,
    parse,
    referenced_segments,
    to_json,
)
from nudge.segments.conditions import Rule as ConditionRule

MAX_BLOCKS = 200
YEAR_SECONDS = 31_536_000
NAME_MAX = 255
BLOCK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # no dots: block ids are path parts and ASL state names
CHANNELS = ("email", "sms", "push", "in_app", "webhook")
TOPIC_CHANNELS = ("email", "sms", "push")  # the channels people unsubscribe from, by topic too
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TRIGGER_TYPES = (
    "event",
    "segment_entry",
    "segment_exit",
    "attribute_change",
    "date_attribute",
    "api",
    "broadcast",
)
BLOCK_TYPES = (
    "send",
    "delay",
    "wait_until",
    "time_window",
    "branch",
    "multi_split",
    "random_split",
    "set_attribute",
    "segment",
    "exit",
)
WAITING_BLOCKS = ("delay", "wait_until")  # a cycle must pass through one of these
FREQUENCIES = ("once", "every_match", "interval")
EXITS = ("when_unmatched", "on_goal", "at_end")
AUDIENCES = ("current_and_future", "future_only")
MIN_INTERVAL_SECONDS = 60
MIN_WAIT_SECONDS = 60
MAX_POLL_SECONDS = 86_400
MAX_MULTI_SPLIT_BRANCHES = 20
MAX_RANDOM_SPLIT_BRANCHES = 10

_SETTINGS_DEFAULTS: dict[str, Any] = {
    "frequency": {"type": "once"},
    "exit": "at_end",
    "goal": None,
    "goal_window_seconds": 604_800,
    "audience": "future_only",
    "timezone": "UTC",
}
_WAIT_DEFAULTS: dict[str, Any] = {"max_seconds": None, "poll_seconds": 3600, "on_timeout": "continue"}
_BLOCK_ID_RE = re.compile(BLOCK_ID_PATTERN)
_NOT_BLANK_RE = re.compile(r"\S")
_SCHEMA_FILE = Path(__file__).with_name("schema.json")

Rule: TypeAlias = (
    Literal[
        "unknown_trigger",
        "unknown_block",
        "too_many_blocks",
        "percent_sum",
        "dangling_edge",
        "unreachable",
        "cycle_without_delay",
        "unknown_template",
        "unknown_topic",
        "channel_mismatch",
        "unknown_segment",
        "not_manual_segment",
        "invalid_range",
        "unknown_timezone",
        "reserved_attribute",
    ]
    | ConditionRule  # unknown_key, wrong_type, required, invalid_value, and the conditions' own
)


# identify's reserved keys (``nudge.tracking.people``) and the identifiers a workflow must not change.
RESERVED_ATTRIBUTES = frozenset(
    {"id", "email", "anonymous_id", "created_at", "_timestamp", "_update", "cio_relationships", "cio_id"}
)


class DefinitionError(ValueError):
    """The definition breaks ``rule`` at ``path`` (dotted, "" for the whole definition)."""

    def __init__(self, path: str, rule: Rule, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.rule = rule
        self.message = message


TemplateChannel: TypeAlias = Callable[[str], str | None]  # template id -> its channel, None when missing
SegmentKind: TypeAlias = Callable[[str], str | None]  # segment id -> "manual" | "dynamic", None if missing
TopicExists: TypeAlias = Callable[[int], bool]  # subscription topic id -> whether the workspace has it


# --- the entry points ---------------------------------------------------------------------------------


def validate(
    raw: Any,
    *,
    template_channel: TemplateChannel,
    segment_kind: SegmentKind,
    topic_exists: TopicExists | None = None,
) -> dict[str, Any]:
    """The normalized definition, or DefinitionError naming the first problem. ``topic_exists`` checks the
    send blocks' subscription topics (none given: not checked)."""
    reader = _Reader()
    definition = reader.definition(raw)
    _check_graph(definition["workflow"])
    _check_references(definition, reader.conditions, template_channel, segment_kind)
    if topic_exists is not None:
        for block_id, block in definition["workflow"]["blocks"].items():
            if "topic_id" in block and not topic_exists(block["topic_id"]):
                raise DefinitionError(
                    f"workflow.blocks.{block_id}.topic_id",
                    "unknown_topic",
                    f"unknown subscription topic {block['topic_id']}",
                )
    return definition


def trigger_keys(definition: dict[str, Any]) -> list[str]:
    """The trigger index keys a normalized definition's trigger is found under (none for API-triggered
    and one-time broadcasts, which nothing but a request starts)."""
    trigger = definition["trigger"]
    kind = trigger["type"]
    if kind == "event":
        return [f"event#{trigger['name']}"]
    if kind in ("segment_entry", "segment_exit"):
        return [f"segment#{trigger['segment_id']}"]
    if kind == "attribute_change":
        return [f"attribute#{trigger['attribute']}"]
    if kind == "date_attribute":
        return [f"date#{trigger['attribute']}"]
    return []


def send_topic(block: dict[str, Any]) -> str | None:
    """The subscription topic a normalized send block's messages carry, as profiles name it
    (``topic_4``): the send gate checks the person's choice of it. Every path that queues a campaign's
    message (the compiled send step, a page that sends by itself) reads it here."""
    return f"topic_{block['topic_id']}" if block.get("topic_id") else None


def successors(block: dict[str, Any]) -> list[str]:
    """The blocks a normalized block can lead to, in its edges' order (duplicates kept)."""
    return [target for _, target in _edges(block)]


def schema() -> dict[str, Any]:
    """The definition's JSON Schema, complete: ``schema.json`` with the segment condition schema
    (an embedded resource, ``urn:nudge:segment-condition``) in place of its three placeholders."""
    return copy.deepcopy(_schema())


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_SCHEMA_FILE.read_text())
    defs = document["$defs"]
    defs["condition"] = CONDITION_SCHEMA
    # An event trigger's filters are an event condition's filters: that schema's "fields" conditions.
    defs["event_filters"] = {"$ref": f"{CONDITION_SCHEMA['$id']}#/$defs/fields0"}
    defs["identifier"] = {"$ref": f"{CONDITION_SCHEMA['$id']}#/$defs/identifier"}
    return document


# --- pass 1: structure --------------------------------------------------------------------------------


def _at(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _listing(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _object(
    value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An object with all of ``required``, and nothing but those and ``optional``."""
    if not isinstance(value, dict):
        raise DefinitionError(path, "wrong_type", "must be an object")
    allowed = required + optional
    for key in value:
        if key not in allowed:
            raise DefinitionError(_at(path, key), "unknown_key", f"unknown key; expected {_listing(allowed)}")
    for key in required:
        if key not in value:
            raise DefinitionError(_at(path, key), "required", "is required")
    return value


def _typed(value: Any, path: str, types: tuple[str, ...], rule: Rule) -> str:
    """An object's ``type``, read first: it decides which other keys belong."""
    if not isinstance(value, dict):
        raise DefinitionError(path, "wrong_type", "must be an object")
    if "type" not in value:
        raise DefinitionError(_at(path, "type"), "required", "is required")
    kind = value["type"]
    if not isinstance(kind, str):
        raise DefinitionError(_at(path, "type"), "wrong_type", "must be a string")
    if kind not in types:
        raise DefinitionError(_at(path, "type"), rule, f"unknown type {kind!r}; expected {_listing(types)}")
    return kind


def _text(value: Any, path: str, max_length: int | None = None) -> str:
    """A string with something in it besides white space."""
    if not isinstance(value, str):
        raise DefinitionError(path, "wrong_type", "must be a string")
    if not _NOT_BLANK_RE.search(value):
        raise DefinitionError(path, "invalid_value", "must not be blank")
    if max_length is not None and len(value) > max_length:
        raise DefinitionError(path, "invalid_value", f"must be at most {max_length} characters")
    return value


def _identifier(value: Any, path: str) -> str:
    """A template's or segment's id, as a string or a number: read as a segment condition reads one
    (``nudge.segments.conditions.identifier``), so every place a client names a segment takes the same."""
    try:
        return identifier(value, path)
    except ConditionError as exc:
        raise DefinitionError(exc.path, exc.rule, exc.message) from exc


def _topic_id(value: Any, path: str) -> int:
    """A subscription topic as Customer.io names it: its number (4) or identifier ("topic_4")."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    match = re.fullmatch(r"(?:topic_)?([1-9][0-9]{0,8})", text)
    if match is None:
        raise DefinitionError(path, "invalid_value", "must be a topic's id (4) or identifier (topic_4)")
    return int(match.group(1))


def _integer(value: Any, path: str, minimum: int, maximum: int | None = None) -> int:
    """An integer in range; a float with no fraction counts, as JSON Schema says."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or (isinstance(value, float) and not value.is_integer()):
        raise DefinitionError(path, "wrong_type", "must be an integer")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise DefinitionError(path, "invalid_value", f"must be {bounds}")
    return number


def _choice(value: Any, path: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise DefinitionError(path, "wrong_type", "must be a string")
    if value not in choices:
        raise DefinitionError(path, "invalid_value", f"unknown value {value!r}; expected {_listing(choices)}")
    return value


def _edge(value: Any, path: str) -> str | None:
    """A block id, or null (like leaving the edge out: the journey ends there)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DefinitionError(path, "wrong_type", "must be a block id or null")
    if not _BLOCK_ID_RE.fullmatch(value):
        raise DefinitionError(path, "invalid_value", "must be a block id (1-64 of A-Z a-z 0-9 _ -)")
    return value


def _condition_path(path: str, inner: str) -> str:
    """A condition error's path (``and[1].event``) under ``path``, with list indexes as parts."""
    return _at(path, re.sub(r"\[(\d+)\]", r".\1", inner)) if inner else path


class _Reader:
    """Reads the structure (pass 1), collecting parsed conditions for the reference checks."""

    def __init__(self) -> None:
        self.conditions: list[tuple[str, Condition]] = []

    def definition(self, raw: Any) -> dict[str, Any]:
        obj = _object(raw, "", ("name", "trigger", "workflow"), ("filters", "settings"))
        return {
            "name": _text(obj["name"], "name", NAME_MAX).strip(),
            "trigger": self.trigger(obj["trigger"], "trigger"),
            "filters": self.optional_condition(obj.get("filters"), "filters"),
            "workflow": self.workflow(obj["workflow"], "workflow"),
            "settings": self.settings(obj.get("settings", {}), "settings"),
        }

    # conditions

    def condition(self, value: Any, path: str) -> dict[str, Any]:
        try:
            condition = parse(value)
        except ConditionError as exc:
            raise DefinitionError(_condition_path(path, exc.path), exc.rule, exc.message) from exc
        self.conditions.append((path, condition))
        return to_json(condition)

    def optional_condition(self, value: Any, path: str) -> dict[str, Any] | None:
        return None if value is None else self.condition(value, path)

    def event_filters(self, value: Any, path: str) -> dict[str, Any] | None:
        """Conditions over an event's data: exactly an event condition's ``filters`` (groups and attribute
        conditions only), so they are parsed as those, through the conditions' public entry point."""
        if value is None:
            return None
        prefix = "event.filters"
        try:
            parsed = parse({"event": {"name": "trigger", "filters": value}})
        except ConditionError as exc:
            inner = exc.path[len(prefix) + 1 :] if exc.path.startswith(prefix + ".") else ""
            raise DefinitionError(_condition_path(path, inner), exc.rule, exc.message) from exc
        filters = parsed.filters if isinstance(parsed, EventCondition) else None
        return None if filters is None else to_json(filters)

    # trigger

    def trigger(self, value: Any, path: str) -> dict[str, Any]:
        kind = _typed(value, path, TRIGGER_TYPES, "unknown_trigger")
        if kind == "event":
            obj = _object(value, path, ("type", "name"), ("filters",))
            return {
                "type": kind,
                "name": _text(obj["name"], _at(path, "name")),
                "filters": self.event_filters(obj.get("filters"), _at(path, "filters")),
            }
        if kind in ("segment_entry", "segment_exit"):
            obj = _object(value, path, ("type", "segment_id"))
            return {"type": kind, "segment_id": _identifier(obj["segment_id"], _at(path, "segment_id"))}
        if kind == "attribute_change":
            obj = _object(value, path, ("type", "attribute"), ("to",))
            return {
                "type": kind,
                "attribute": _text(obj["attribute"], _at(path, "attribute")),
                "to": _to_value(obj.get("to"), _at(path, "to")),
            }
        if kind == "date_attribute":
            obj = _object(value, path, ("type", "attribute"), ("offset_seconds",))
            return {
                "type": kind,
                "attribute": _text(obj["attribute"], _at(path, "attribute")),
                "offset_seconds": _integer(
                    obj.get("offset_seconds", 0), _at(path, "offset_seconds"), -YEAR_SECONDS, YEAR_SECONDS
                ),
            }
        if kind == "api":
            _object(value, path, ("type",))
            return {"type": kind}
        obj = _object(value, path, ("type", "segment_id"), ("send_at",))
        send_at = obj.get("send_at")
        return {
            "type": kind,
            "segment_id": _identifier(obj["segment_id"], _at(path, "segment_id")),
            "send_at": None if send_at is None else _integer(send_at, _at(path, "send_at"), 0, MAX_TIMESTAMP),
        }

    # workflow

    def workflow(self, value: Any, path: str) -> dict[str, Any]:
        obj = _object(value, path, ("start", "blocks"))
        start_path, blocks_path = _at(path, "start"), _at(path, "blocks")
        start = _edge(obj["start"], start_path)
        if start is None:
            raise DefinitionError(start_path, "wrong_type", "must be a block id")
        blocks = obj["blocks"]
        if not isinstance(blocks, dict):
            raise DefinitionError(blocks_path, "wrong_type", "must be an object of blocks by id")
        if not blocks:
            raise DefinitionError(blocks_path, "invalid_value", "must hold at least one block")
        if len(blocks) > MAX_BLOCKS:
            raise DefinitionError(
                blocks_path, "too_many_blocks", f"a workflow has at most {MAX_BLOCKS} blocks"
            )
        normalized = {}
        for block_id, block in blocks.items():
            block_path = _at(blocks_path, block_id)
            if not _BLOCK_ID_RE.fullmatch(block_id):
                raise DefinitionError(block_path, "invalid_value", "a block id is 1-64 of A-Z a-z 0-9 _ -")
            normalized[block_id] = self.block(block, block_path)
        return {"start": start, "blocks": normalized}

    def block(self, value: Any, path: str) -> dict[str, Any]:
        kind = _typed(value, path, BLOCK_TYPES, "unknown_block")
        readers: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "send": self._send,
            "delay": self._delay,
            "wait_until": self._wait_until,
            "time_window": self._time_window,
            "branch": self._branch,
            "multi_split": self._multi_split,
            "random_split": self._random_split,
            "set_attribute": self._set_attribute,
            "segment": self._segment,
            "exit": self._exit,
        }
        return readers[kind](value, path)

    def _send(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "channel", "template_id"), ("topic_id", "next"))
        block: dict[str, Any] = {
            "type": "send",
            "channel": _choice(obj["channel"], _at(path, "channel"), CHANNELS),
            "template_id": _identifier(obj["template_id"], _at(path, "template_id")),
        }
        if obj.get("topic_id") is not None:
            if block["channel"] not in TOPIC_CHANNELS:
                raise DefinitionError(
                    _at(path, "topic_id"), "invalid_value", f"applies to {_listing(TOPIC_CHANNELS)} only"
                )
            block["topic_id"] = _topic_id(obj["topic_id"], _at(path, "topic_id"))
        return _with_next(block, obj, path)

    def _delay(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "seconds"), ("next",))
        block = {"type": "delay", "seconds": _integer(obj["seconds"], _at(path, "seconds"), 1, YEAR_SECONDS)}
        return _with_next(block, obj, path)

    def _wait_until(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(
            value, path, ("type", "condition"), ("max_seconds", "poll_seconds", "on_timeout", "next")
        )
        fields = {**_WAIT_DEFAULTS, **obj}
        max_seconds = fields["max_seconds"]
        block = {
            "type": "wait_until",
            "condition": self.condition(obj["condition"], _at(path, "condition")),
            "max_seconds": None
            if max_seconds is None
            else _integer(max_seconds, _at(path, "max_seconds"), MIN_WAIT_SECONDS, YEAR_SECONDS),
            "poll_seconds": _integer(
                fields["poll_seconds"], _at(path, "poll_seconds"), MIN_WAIT_SECONDS, MAX_POLL_SECONDS
            ),
            "on_timeout": _choice(fields["on_timeout"], _at(path, "on_timeout"), ("continue", "exit")),
        }
        return _with_next(block, obj, path)

    def _time_window(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type",), ("hours", "days", "next"))
        block = {
            "type": "time_window",
            "hours": _hours(obj.get("hours", [0, 24]), _at(path, "hours")),
            "days": _days(obj.get("days", list(DAYS)), _at(path, "days")),
        }
        return _with_next(block, obj, path)

    def _branch(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "condition"), ("true", "false"))
        block: dict[str, Any] = {
            "type": "branch",
            "condition": self.condition(obj["condition"], _at(path, "condition")),
        }
        for side in ("true", "false"):
            target = _edge(obj.get(side), _at(path, side))
            if target is not None:
                block[side] = target
        return block

    def _multi_split(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "branches"), ("default",))
        branches_path = _at(path, "branches")
        items = _list(obj["branches"], branches_path, 1, MAX_MULTI_SPLIT_BRANCHES)
        branches = []
        for i, item in enumerate(items):
            item_path = _at(branches_path, i)
            branch = _object(item, item_path, ("condition",), ("next",))
            normalized = {"condition": self.condition(branch["condition"], _at(item_path, "condition"))}
            branches.append(_with_next(normalized, branch, item_path))
        block: dict[str, Any] = {"type": "multi_split", "branches": branches}
        default = _edge(obj.get("default"), _at(path, "default"))
        if default is not None:
            block["default"] = default
        return block

    def _random_split(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "branches"))
        branches_path = _at(path, "branches")
        items = _list(obj["branches"], branches_path, 2, MAX_RANDOM_SPLIT_BRANCHES)
        branches = []
        for i, item in enumerate(items):
            item_path = _at(branches_path, i)
            branch = _object(item, item_path, ("percent",), ("next",))
            normalized = {"percent": _integer(branch["percent"], _at(item_path, "percent"), 1, 100)}
            branches.append(_with_next(normalized, branch, item_path))
        total = sum(branch["percent"] for branch in branches)
        if total != 100:
            raise DefinitionError(
                branches_path, "percent_sum", f"percentages must add up to 100, not {total}"
            )
        return {"type": "random_split", "branches": branches}

    def _set_attribute(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "attribute", "value"), ("next",))
        attribute = _text(obj["attribute"], _at(path, "attribute"))
        if attribute in RESERVED_ATTRIBUTES or attribute.startswith("cio_subscription_preferences"):
            # Identifiers, merges and relationships are not attributes a workflow may set: they would
            # re-key the person or write events and objects mid-journey.
            raise DefinitionError(
                _at(path, "attribute"), "reserved_attribute", f"{attribute} cannot be set by a workflow"
            )
        block = {
            "type": "set_attribute",
            "attribute": attribute,
            "value": obj["value"],  # any JSON value, as an identify call could set
        }
        return _with_next(block, obj, path)

    def _segment(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        obj = _object(value, path, ("type", "action", "segment_id"), ("next",))
        block = {
            "type": "segment",
            "action": _choice(obj["action"], _at(path, "action"), ("add", "remove")),
            "segment_id": _identifier(obj["segment_id"], _at(path, "segment_id")),
        }
        return _with_next(block, obj, path)

    def _exit(self, value: dict[str, Any], path: str) -> dict[str, Any]:
        _object(value, path, ("type",))
        return {"type": "exit"}

    # settings

    def settings(self, value: Any, path: str) -> dict[str, Any]:
        obj = _object(value, path, (), tuple(_SETTINGS_DEFAULTS))
        fields = {**_SETTINGS_DEFAULTS, **obj}
        settings = {
            "frequency": _frequency(fields["frequency"], _at(path, "frequency")),
            "exit": _choice(fields["exit"], _at(path, "exit"), EXITS),
            "goal": _goal(fields["goal"], _at(path, "goal")),
            "goal_window_seconds": _integer(
                fields["goal_window_seconds"],
                _at(path, "goal_window_seconds"),
                MIN_WAIT_SECONDS,
                YEAR_SECONDS,
            ),
            "audience": _choice(fields["audience"], _at(path, "audience"), AUDIENCES),
            "timezone": _timezone(fields["timezone"], _at(path, "timezone")),
        }
        if settings["exit"] == "on_goal" and settings["goal"] is None:
            raise DefinitionError(_at(path, "goal"), "required", "exit on_goal needs a goal")
        return settings


def _with_next(block: dict[str, Any], obj: dict[str, Any], path: str) -> dict[str, Any]:
    target = _edge(obj.get("next"), _at(path, "next"))
    if target is not None:
        block["next"] = target
    return block


def _to_value(value: Any, path: str) -> str | int | float | bool | None:
    """An attribute change trigger's ``to``: a scalar, or null for any new value."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise DefinitionError(path, "wrong_type", "must be a string, number, boolean or null")


def _list(value: Any, path: str, minimum: int, maximum: int) -> list[Any]:
    if not isinstance(value, list):
        raise DefinitionError(path, "wrong_type", "must be a list")
    if not minimum <= len(value) <= maximum:
        raise DefinitionError(path, "invalid_value", f"must hold {minimum} to {maximum} items")
    return value


def _hours(value: Any, path: str) -> list[int]:
    """``[start, end)`` in whole hours of the day, 0..24, start before end."""
    if not isinstance(value, list):
        raise DefinitionError(path, "wrong_type", "must be a list [start, end]")
    if len(value) != 2:
        raise DefinitionError(path, "invalid_value", "must be [start, end]")
    start, end = (_integer(hour, _at(path, i), 0, 24) for i, hour in enumerate(value))
    if start >= end:
        raise DefinitionError(path, "invalid_range", "the start hour must be before the end hour")
    return [start, end]


def _days(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise DefinitionError(path, "wrong_type", "must be a list of days")
    if not value:
        raise DefinitionError(path, "invalid_value", "must hold at least one day")
    chosen = [_choice(day, _at(path, i), DAYS) for i, day in enumerate(value)]
    if len(set(chosen)) != len(chosen):
        raise DefinitionError(path, "invalid_value", "lists a day twice")
    return [day for day in DAYS if day in chosen]


def _frequency(value: Any, path: str) -> dict[str, Any]:
    kind = _typed(value, path, FREQUENCIES, "invalid_value")
    if kind != "interval":
        _object(value, path, ("type",))
        return {"type": kind}
    obj = _object(value, path, ("type", "seconds"))
    return {"type": kind, "seconds": _integer(obj["seconds"], _at(path, "seconds"), MIN_INTERVAL_SECONDS)}


def _goal(value: Any, path: str) -> dict[str, str] | None:
    """``{"event": name}`` or ``{"segment_id": id}``: exactly one of the two."""
    if value is None:
        return None
    obj = _object(value, path, (), ("event", "segment_id"))
    if len(obj) != 1:
        raise DefinitionError(path, "invalid_value", "a goal is an event or a segment_id, exactly one")
    if "event" in obj:
        return {"event": _text(obj["event"], _at(path, "event"))}
    return {"segment_id": _identifier(obj["segment_id"], _at(path, "segment_id"))}


def _timezone(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise DefinitionError(path, "wrong_type", "must be a string")
    if not value:
        raise DefinitionError(path, "invalid_value", "must not be empty")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not even shaped like a zone key
        raise DefinitionError(path, "unknown_timezone", f"unknown time zone {value!r}") from None
    return value


# --- pass 2: the graph --------------------------------------------------------------------------------


def _edges(block: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(field path within the block, target)`` for each of a normalized block's edges."""
    for key in ("next", "true", "false"):
        if key in block:
            yield key, block[key]
    for i, branch in enumerate(block.get("branches", ())):
        if "next" in branch:
            yield f"branches.{i}.next", branch["next"]
    if "default" in block:
        yield "default", block["default"]


def _check_graph(workflow: dict[str, Any]) -> None:
    blocks: dict[str, dict[str, Any]] = workflow["blocks"]
    if workflow["start"] not in blocks:
        raise DefinitionError("workflow.start", "dangling_edge", f"no block {workflow['start']!r}")
    for block_id, block in blocks.items():
        for field, target in _edges(block):
            if target not in blocks:
                raise DefinitionError(
                    f"workflow.blocks.{block_id}.{field}", "dangling_edge", f"no block {target!r}"
                )
    reached = _reachable(workflow["start"], blocks)
    unreachable = [block_id for block_id in blocks if block_id not in reached]
    if unreachable:
        raise DefinitionError(
            f"workflow.blocks.{unreachable[0]}",
            "unreachable",
            f"not reachable from start: {', '.join(unreachable)}",
        )
    cycle = _cycle_without_delay(blocks)
    if cycle:
        raise DefinitionError(
            f"workflow.blocks.{cycle[0]}",
            "cycle_without_delay",
            f"cycle without a delay: {' -> '.join(cycle)}",
        )


def _reachable(start: str, blocks: dict[str, dict[str, Any]]) -> set[str]:
    seen, pending = {start}, [start]
    while pending:
        for target in successors(blocks[pending.pop()]):
            if target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def _cycle_without_delay(blocks: dict[str, dict[str, Any]]) -> list[str] | None:
    """A cycle among blocks that never wait, as ``[a, b, ..., a]``; None when every cycle waits.

    Waiting blocks are left out of the graph, so any cycle that remains has none. Depth-first search in
    document order finds the first back edge; the stack from its target on is the cycle.
    """
    instant = {block_id for block_id, block in blocks.items() if block["type"] not in WAITING_BLOCKS}
    done: set[str] = set()
    for root in blocks:
        if root not in instant or root in done:
            continue
        stack: list[str] = [root]
        on_stack = {root}
        pending: list[Iterator[str]] = [iter(successors(blocks[root]))]
        while pending:
            target = next(pending[-1], None)
            if target is None:
                pending.pop()
                on_stack.discard(stack[-1])
                done.add(stack.pop())
            elif target in on_stack:
                return [*stack[stack.index(target) :], target]
            elif target in instant and target not in done:
                stack.append(target)
                on_stack.add(target)
                pending.append(iter(successors(blocks[target])))
    return None


# --- pass 3: references -------------------------------------------------------------------------------


def _check_references(
    definition: dict[str, Any],
    conditions: list[tuple[str, Condition]],
    template_channel: TemplateChannel,
    segment_kind: SegmentKind,
) -> None:
    """Every template and segment the definition names exists (each looked up once)."""
    kinds: dict[str, str | None] = {}

    def kind_of(segment_id: str) -> str | None:
        if segment_id not in kinds:
            kinds[segment_id] = segment_kind(segment_id)
        return kinds[segment_id]

    def segment(segment_id: str, path: str, *, manual: bool = False) -> None:
        kind = kind_of(segment_id)
        if kind is None:
            raise DefinitionError(path, "unknown_segment", f"unknown segment {segment_id}")
        if manual and kind != "manual":
            raise DefinitionError(path, "not_manual_segment", f"segment {segment_id} is not a manual segment")

    trigger = definition["trigger"]
    if "segment_id" in trigger:
        segment(trigger["segment_id"], "trigger.segment_id")
    for path, condition in conditions:  # in document order: filters, then the blocks'
        for segment_id in sorted(referenced_segments(condition)):
            segment(segment_id, path)
    for block_id, block in definition["workflow"]["blocks"].items():
        path = f"workflow.blocks.{block_id}"
        if block["type"] == "send":
            channel = template_channel(block["template_id"])
            if channel is None:
                raise DefinitionError(
                    f"{path}.template_id", "unknown_template", f"unknown template {block['template_id']}"
                )
            if channel != block["channel"]:
                raise DefinitionError(
                    f"{path}.channel",
                    "channel_mismatch",
                    f"template {block['template_id']} is a {channel} template",
                )
        elif block["type"] == "segment":
            segment(block["segment_id"], f"{path}.segment_id", manual=True)
    goal = definition["settings"]["goal"]
    if goal is not None and "segment_id" in goal:
        segment(goal["segment_id"], "settings.goal.segment_id")
