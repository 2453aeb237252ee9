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

The result is the normalized definition: every default filled in (see the ``default`` of each
``Field`` below), conditions in their canonical JSON (``conditions.to_json``), template and segment ids
as strings; an edge that ends the journey is left out. Normalizing is idempotent: a normalized
definition validates to itself, which is what the store relies on when it validates again on activation.

The structure is declared once, as shapes (``nudge.shapes``): ``_DEFINITION`` below both reads a definition
(pass 1) and writes its JSON Schema (draft 2020-12), which :func:`schema` serves with the segment condition
schema embedded. What JSON Schema cannot express is checked only in the readers: the graph (pass 2),
references (pass 3), percentages summing to 100, a time window's start before its end, whether a time
zone exists, and that a topic applies to the send block's channel.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, Literal, TypeAlias, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nudge.delivery.request_shapes import SUBSCRIPTION_CHANNELS, TEMPLATE_CHANNELS
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
from nudge.shapes import (
    AnyValue,
    Choice,
    Defs,
    Described,
    Field,
    Integer,
    Leaf,
    ListOf,
    Nullable,
    Obj,
    Path,
    Ref,
    Schema,
    Shape,
    ShapeError,
    Tagged,
    Text,
    document,
    listing,
    tag,
)
from nudge.tracking.identify_request import NOT_ATTRIBUTES, PREFERENCES, not_an_attribute

MAX_BLOCKS = 200
YEAR_SECONDS = 31_536_000
NAME_MAX = 255
BLOCK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # no dots: block ids are path parts and ASL state names
CHANNELS = TEMPLATE_CHANNELS  # a send block's channel is its template's
# the channels people unsubscribe from, by topic too (``SUBSCRIPTION_CHANNELS``), in the errors' order
TOPIC_CHANNELS = tuple(channel for channel in TEMPLATE_CHANNELS if channel in SUBSCRIPTION_CHANNELS)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WAITING_BLOCKS = ("delay", "wait_until")  # a cycle must pass through one of these
EXITS = ("when_unmatched", "on_goal", "at_end")
AUDIENCES = ("current_and_future", "future_only")
MIN_INTERVAL_SECONDS = 60
MIN_WAIT_SECONDS = 60
MAX_POLL_SECONDS = 86_400
MAX_MULTI_SPLIT_BRANCHES = 20
MAX_RANDOM_SPLIT_BRANCHES = 10

_BLOCK_ID_RE = re.compile(BLOCK_ID_PATTERN)
_SCHEMA_HEAD: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:nudge:campaign-definition",
    "title": "Nudge campaign definition",
    "description": 'The body of POST /v1/campaigns under "campaign". The server checks more than this schema '
    "can say: the workflow graph (edges name blocks, every block reachable from start, every cycle passes "
    "through a delay or wait_until block), that templates and segments exist (a send block's template of "
    "its channel, a segment block's segment manual), random split percentages adding up to 100, a time "
    "window's start before its end, and that the time zone exists.",
}

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
    try:
        definition: dict[str, Any] = _DEFINITION.read(raw, ())
    except ShapeError as exc:
        raise DefinitionError(_to_text_path(exc.path), cast(Rule, exc.rule), exc.message) from None
    _check_graph(definition["workflow"])
    _check_references(definition, list(_conditions(definition)), template_channel, segment_kind)
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
    """The definition's JSON Schema, written from the shapes that read it, with the segment condition
    schema embedded (a resource of its own, ``urn:nudge:segment-condition``)."""
    return copy.deepcopy(_schema())


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return document(_DEFINITION, _SCHEMA_HEAD)


# --- pass 1: structure, declared once as shapes (``nudge.shapes``): the reader and the JSON Schema ------


def _to_text_path(path: Path) -> str:
    return ".".join(map(str, path))


def _condition_parts(inner: str) -> Path:
    """A condition error's path (``and[1].event``) as parts, list indexes as parts of their own."""
    return tuple(re.sub(r"\[(\d+)\]", r".\1", inner).split(".")) if inner else ()


def _read_condition(value: Any, path: Path) -> dict[str, Any]:
    try:
        return to_json(parse(value))
    except ConditionError as exc:
        raise ShapeError((*path, *_condition_parts(exc.path)), exc.rule, exc.message) from exc


def _read_event_filters(value: Any, path: Path) -> dict[str, Any] | None:
    """Conditions over an event's data: exactly an event condition's ``filters`` (groups and attribute
    conditions only), so they are parsed as those, through the conditions' public entry point."""
    prefix = "event.filters"
    try:
        parsed = parse({"event": {"name": "trigger", "filters": value}})
    except ConditionError as exc:
        inner = exc.path[len(prefix) + 1 :] if exc.path.startswith(prefix + ".") else ""
        raise ShapeError((*path, *_condition_parts(inner)), exc.rule, exc.message) from exc
    filters = parsed.filters if isinstance(parsed, EventCondition) else None
    return None if filters is None else to_json(filters)


def _read_identifier(value: Any, path: Path) -> str:
    """A template's or segment's id, as a string or a number: read as a segment condition reads one
    (``nudge.segments.conditions.identifier``), so every place a client names a segment takes the same."""
    try:
        return identifier(value, _to_text_path(path))
    except ConditionError as exc:
        raise ShapeError(path, exc.rule, exc.message) from exc


def _read_topic_id(value: Any, path: Path) -> int | None:
    """A subscription topic as Customer.io names it: its number (4) or identifier ("topic_4")."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    match = re.fullmatch(r"(?:topic_)?([1-9][0-9]{0,8})", text)
    if match is None:
        raise ShapeError(path, "invalid_value", "must be a topic's id (4) or identifier (topic_4)")
    return int(match.group(1))


def _topic_channel(block: dict[str, Any], value: Any, path: Path) -> None:
    if value is not None and block["channel"] not in TOPIC_CHANNELS:
        raise ShapeError(path, "invalid_value", f"applies to {listing(TOPIC_CHANNELS)} only")


def _read_edge(value: Any, path: Path) -> str | None:
    """A block id, or null (like leaving the edge out: the journey ends there)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ShapeError(path, "wrong_type", "must be a block id or null")
    if not _BLOCK_ID_RE.fullmatch(value):
        raise ShapeError(path, "invalid_value", "must be a block id (1-64 of A-Z a-z 0-9 _ -)")
    return value


def _read_start(value: Any, path: Path) -> str:
    if value in ("", None):  # the console sends "" for a trigger with nothing after it yet
        raise ShapeError(path, "required", "the workflow has no first block: add one after the trigger")
    start = _read_edge(value, path)
    assert start is not None  # only null reads as None
    return start


def _read_to_value(value: Any, path: Path) -> str | int | float | bool | None:
    """An attribute change trigger's ``to``: a scalar, or null for any new value."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ShapeError(path, "wrong_type", "must be a string, number, boolean or null")


def _read_hours(value: Any, path: Path) -> list[int]:
    """``[start, end)`` in whole hours of the day, 0..24, start before end."""
    if not isinstance(value, list):
        raise ShapeError(path, "wrong_type", "must be a list [start, end]")
    if len(value) != 2:
        raise ShapeError(path, "invalid_value", "must be [start, end]")
    start, end = (_HOUR.read(hour, (*path, i)) for i, hour in enumerate(value))
    if start >= end:
        raise ShapeError(path, "invalid_range", "the start hour must be before the end hour")
    return [start, end]


def _read_days(value: Any, path: Path) -> list[str]:
    if not isinstance(value, list):
        raise ShapeError(path, "wrong_type", "must be a list of days")
    if not value:
        raise ShapeError(path, "invalid_value", "must hold at least one day")
    chosen = [_DAY.read(day, (*path, i)) for i, day in enumerate(value)]
    if len(set(chosen)) != len(chosen):
        raise ShapeError(path, "invalid_value", "lists a day twice")
    return [day for day in DAYS if day in chosen]


def _read_attribute(value: Any, path: Path) -> str:
    attribute: str = _TEXT.read(value, path)
    if not_an_attribute(attribute):
        # Identifiers, merges and relationships are not attributes a workflow may set: they would
        # re-key the person or write events and objects mid-journey.
        raise ShapeError(path, "reserved_attribute", f"{attribute} cannot be set by a workflow")
    return attribute


def _read_goal(value: Any, path: Path) -> dict[str, str] | None:
    """``{"event": name}`` or ``{"segment_id": id}``: exactly one of the two (keys checked before values)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ShapeError(path, "wrong_type", "must be an object")
    for key in value:
        if key not in _GOALS:
            raise ShapeError((*path, key), "unknown_key", f"unknown key; expected {listing(_GOALS)}")
    if len(value) != 1:
        raise ShapeError(path, "invalid_value", "a goal is an event or a segment_id, exactly one")
    ((key, given),) = value.items()
    return {key: _GOALS[key].read(given, (*path, key))}


def _goal_schema(defs: Defs) -> Schema:
    alternatives = [Obj({key: Field(shape, required=True)}).schema(defs) for key, shape in _GOALS.items()]
    return {"anyOf": [{"type": "null"}, *alternatives]}


def _read_timezone(value: Any, path: Path) -> str:
    if not isinstance(value, str):
        raise ShapeError(path, "wrong_type", "must be a string")
    if not value:
        raise ShapeError(path, "invalid_value", "must not be empty")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not even shaped like a zone key
        raise ShapeError(path, "unknown_timezone", f"unknown time zone {value!r}") from None
    return value


def _read_blocks(value: Any, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(path, "wrong_type", "must be an object of blocks by id")
    if not value:
        raise ShapeError(path, "invalid_value", "must hold at least one block")
    if len(value) > MAX_BLOCKS:
        raise ShapeError(path, "too_many_blocks", f"a workflow has at most {MAX_BLOCKS} blocks")
    normalized = {}
    for block_id, block in value.items():
        if not _BLOCK_ID_RE.fullmatch(block_id):
            raise ShapeError((*path, block_id), "invalid_value", "a block id is 1-64 of A-Z a-z 0-9 _ -")
        normalized[block_id] = _BLOCK.read(block, (*path, block_id))
    return normalized


def _percentages(block: dict[str, Any], path: Path) -> None:
    total = sum(branch["percent"] for branch in block["branches"])
    if total != 100:
        raise ShapeError((*path, "branches"), "percent_sum", f"percentages must add up to 100, not {total}")


def _goal_for_exit(settings: dict[str, Any], path: Path) -> None:
    if settings["exit"] == "on_goal" and settings["goal"] is None:
        raise ShapeError((*path, "goal"), "required", "exit on_goal needs a goal")


_TEXT = Ref("text", Text())
_HOUR = Integer(0, 24)
_DAY = Choice(DAYS)
_IDENTIFIER = Ref(
    "identifier", Leaf(_read_identifier, {"$ref": f"{CONDITION_SCHEMA['$id']}#/$defs/identifier"})
)
_CONDITION = Ref("condition", Leaf(_read_condition, CONDITION_SCHEMA))
# An event trigger's filters are an event condition's filters: that schema's "fields" conditions.
_EVENT_FILTERS = Ref(
    "event_filters", Leaf(_read_event_filters, {"$ref": f"{CONDITION_SCHEMA['$id']}#/$defs/fields0"})
)
_BLOCK_ID = Ref("block_id", Leaf(_read_start, {"type": "string", "pattern": BLOCK_ID_PATTERN}))
_EDGE = Field(
    Ref(
        "edge",
        Described(
            Leaf(_read_edge, lambda defs: {"anyOf": [{"type": "null"}, _BLOCK_ID.schema(defs)]}),
            "The next block; null or absent ends the journey.",
        ),
    ),
    omit_none=True,
)
_GOALS: dict[str, Shape] = {"event": _TEXT, "segment_id": _IDENTIFIER}

_TRIGGER = Tagged(
    (
        (
            ("event",),
            Obj(
                {
                    "type": tag("event"),
                    "name": Field(_TEXT, required=True),
                    "filters": Field(Nullable(_EVENT_FILTERS)),
                }
            ),
        ),
        (
            ("segment_entry", "segment_exit"),
            Obj(
                {
                    "type": tag("segment_entry", "segment_exit"),
                    "segment_id": Field(_IDENTIFIER, required=True),
                }
            ),
        ),
        (
            ("attribute_change",),
            Obj(
                {
                    "type": tag("attribute_change"),
                    "attribute": Field(_TEXT, required=True),
                    "to": Field(
                        Described(
                            Leaf(_read_to_value, {"type": ["string", "number", "boolean", "null"]}),
                            "The new value that triggers; null or absent: any change.",
                        )
                    ),
                }
            ),
        ),
        (
            ("date_attribute",),
            Obj(
                {
                    "type": tag("date_attribute"),
                    "attribute": Field(_TEXT, required=True),
                    "offset_seconds": Field(Integer(-YEAR_SECONDS, YEAR_SECONDS), default=0),
                }
            ),
        ),
        (("api",), Obj({"type": tag("api")})),
        (
            ("broadcast",),
            Obj(
                {
                    "type": tag("broadcast"),
                    "segment_id": Field(_IDENTIFIER, required=True),
                    "send_at": Field(Nullable(Integer(0, MAX_TIMESTAMP))),
                }
            ),
        ),
    ),
    rule="unknown_trigger",
)

_WAIT_SECONDS = Integer(MIN_WAIT_SECONDS, YEAR_SECONDS)
_BLOCK = Ref(
    "block",
    Tagged(
        (
            (
                ("send",),
                Obj(
                    {
                        "type": tag("send"),
                        "channel": Field(Choice(CHANNELS), required=True),
                        "template_id": Field(_IDENTIFIER, required=True),
                        "topic_id": Field(
                            Described(
                                Leaf(
                                    _read_topic_id,
                                    {
                                        "anyOf": [
                                            {"type": "integer", "minimum": 1},
                                            {"type": "string", "pattern": "^(topic_)?[1-9][0-9]{0,8}$"},
                                        ]
                                    },
                                ),
                                "The subscription topic its messages belong to (email, sms, push): 4 or "
                                "topic_4. "
                                "People who left the topic, or never joined an opt-in one, are not sent it.",
                            ),
                            omit_none=True,
                            guard=_topic_channel,
                        ),
                        "next": _EDGE,
                    }
                ),
            ),
            (
                ("delay",),
                Obj(
                    {
                        "type": tag("delay"),
                        "seconds": Field(Integer(1, YEAR_SECONDS), required=True),
                        "next": _EDGE,
                    }
                ),
            ),
            (
                ("wait_until",),
                Obj(
                    {
                        "type": tag("wait_until"),
                        "condition": Field(_CONDITION, required=True),
                        "max_seconds": Field(Nullable(_WAIT_SECONDS)),
                        "poll_seconds": Field(Integer(MIN_WAIT_SECONDS, MAX_POLL_SECONDS), default=3600),
                        "on_timeout": Field(Choice(("continue", "exit")), default="continue"),
                        "next": _EDGE,
                    }
                ),
            ),
            (
                ("time_window",),
                Obj(
                    {
                        "type": tag("time_window"),
                        "hours": Field(
                            Described(
                                Leaf(
                                    _read_hours,
                                    {
                                        "type": "array",
                                        "items": _HOUR.schema({}),
                                        "minItems": 2,
                                        "maxItems": 2,
                                    },
                                ),
                                "[start, end) hours of the day; start before end.",
                            ),
                            default=[0, 24],
                        ),
                        "days": Field(
                            Leaf(
                                _read_days,
                                {
                                    "type": "array",
                                    "items": _DAY.schema({}),
                                    "minItems": 1,
                                    "uniqueItems": True,
                                },
                            ),
                            default=list(DAYS),
                        ),
                        "next": _EDGE,
                    }
                ),
            ),
            (
                ("branch",),
                Obj(
                    {
                        "type": tag("branch"),
                        "condition": Field(_CONDITION, required=True),
                        "true": _EDGE,
                        "false": _EDGE,
                    }
                ),
            ),
            (
                ("multi_split",),
                Obj(
                    {
                        "type": tag("multi_split"),
                        "branches": Field(
                            ListOf(
                                Obj({"condition": Field(_CONDITION, required=True), "next": _EDGE}),
                                1,
                                MAX_MULTI_SPLIT_BRANCHES,
                            ),
                            required=True,
                        ),
                        "default": _EDGE,
                    }
                ),
            ),
            (
                ("random_split",),
                Obj(
                    {
                        "type": tag("random_split"),
                        "branches": Field(
                            Described(
                                ListOf(
                                    Obj({"percent": Field(Integer(1, 100), required=True), "next": _EDGE}),
                                    2,
                                    MAX_RANDOM_SPLIT_BRANCHES,
                                ),
                                "Percentages add up to 100.",
                            ),
                            required=True,
                        ),
                    },
                    check=_percentages,
                ),
            ),
            (
                ("set_attribute",),
                Obj(
                    {
                        "type": tag("set_attribute"),
                        "attribute": Field(
                            Described(
                                Leaf(
                                    _read_attribute,
                                    lambda defs: {
                                        "allOf": [
                                            _TEXT.schema(defs),
                                            {"not": {"enum": sorted(NOT_ATTRIBUTES)}},
                                            {"not": {"pattern": f"^{PREFERENCES}"}},
                                        ]
                                    },
                                ),
                                "Any attribute but identify's reserved keys and the person's identifiers.",
                            ),
                            required=True,
                        ),
                        # any JSON value, as an identify call could set
                        "value": Field(Described(AnyValue(), "Any JSON value."), required=True),
                        "next": _EDGE,
                    }
                ),
            ),
            (
                ("segment",),
                Obj(
                    {
                        "type": tag("segment"),
                        "action": Field(Choice(("add", "remove")), required=True),
                        "segment_id": Field(_IDENTIFIER, required=True),
                        "next": _EDGE,
                    }
                ),
            ),
            (("exit",), Obj({"type": tag("exit")})),
        ),
        rule="unknown_block",
    ),
)

_WORKFLOW = Obj(
    {
        "start": Field(_BLOCK_ID, required=True),
        "blocks": Field(
            Leaf(
                _read_blocks,
                lambda defs: {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": MAX_BLOCKS,
                    "propertyNames": _BLOCK_ID.schema(defs),
                    "additionalProperties": _BLOCK.schema(defs),
                },
            ),
            required=True,
        ),
    }
)

_SETTINGS = Obj(
    {
        "frequency": Field(
            Tagged(
                (
                    (("once", "every_match"), Obj({"type": tag("once", "every_match")})),
                    (
                        ("interval",),
                        Obj(
                            {
                                "type": tag("interval"),
                                "seconds": Field(Integer(MIN_INTERVAL_SECONDS), required=True),
                            }
                        ),
                    ),
                )
            ),
            default={"type": "once"},
        ),
        "exit": Field(Choice(EXITS), default="at_end"),
        "goal": Field(Leaf(_read_goal, _goal_schema)),
        "goal_window_seconds": Field(_WAIT_SECONDS, default=604_800),
        "audience": Field(Choice(AUDIENCES), default="future_only"),
        "timezone": Field(
            Described(Leaf(_read_timezone, {"type": "string", "minLength": 1}), "An IANA time zone name."),
            default="UTC",
        ),
    },
    check=_goal_for_exit,
    extra={
        "if": {"properties": {"exit": {"const": "on_goal"}}, "required": ["exit"]},
        "then": {"properties": {"goal": {"type": "object"}}, "required": ["goal"]},
    },
)

_DEFINITION = Obj(
    {
        "name": Field(Ref("name", Text(NAME_MAX, strip=True)), required=True),
        "trigger": Field(Ref("trigger", _TRIGGER), required=True),
        "filters": Field(Described(Nullable(_CONDITION), "Audience filter: a segment condition, or null.")),
        "workflow": Field(Ref("workflow", _WORKFLOW), required=True),
        "settings": Field(Ref("settings", _SETTINGS), default={}),
    }
)


def _conditions(definition: dict[str, Any]) -> Iterator[tuple[str, Condition]]:
    """The definition's segment conditions (not the trigger's event filters), in document order: the
    filters, then the blocks'."""
    if definition["filters"] is not None:
        yield "filters", parse(definition["filters"])
    for block_id, block in definition["workflow"]["blocks"].items():
        path = f"workflow.blocks.{block_id}"
        if "condition" in block:
            yield f"{path}.condition", parse(block["condition"])
        if block["type"] == "multi_split":
            for i, branch in enumerate(block["branches"]):
                yield f"{path}.branches.{i}.condition", parse(branch["condition"])


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
