"""Campaign definitions: every rule's error (path and rule), normalization, trigger keys, and the JSON
Schema agreeing with the validator on everything structural."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest

from nudge.campaigns.definition import (
    MAX_BLOCKS,
    YEAR_SECONDS,
    DefinitionError,
    schema,
    successors,
    trigger_keys,
    validate,
)
from tests.support.schemas import validator

TEMPLATES = {"1": "email", "2": "sms"}
SEGMENTS = {"10": "manual", "20": "dynamic"}

ATTR = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
EVENT = {"event": {"name": "purchased"}}
IN_DYNAMIC = {"segment": {"id": "20", "operator": "in"}}

# Every block type, every trigger field and setting spelled out: the mutation tests start from here.
FULL: dict[str, Any] = {
    "name": "Welcome",
    "trigger": {"type": "event", "name": "signed_up", "filters": ATTR},
    "filters": {"attribute": {"field": "email", "operator": "exists"}},
    "workflow": {
        "start": "b1",
        "blocks": {
            "b1": {"type": "send", "channel": "email", "template_id": "1", "next": "b2"},
            "b2": {"type": "delay", "seconds": 86400, "next": "b3"},
            "b3": {"type": "branch", "condition": ATTR, "true": "b4", "false": "b5"},
            "b4": {
                "type": "wait_until",
                "condition": EVENT,
                "max_seconds": 604800,
                "poll_seconds": 600,
                "on_timeout": "exit",
                "next": "b6",
            },
            "b5": {"type": "time_window", "hours": [9, 17], "days": ["mon", "tue", "wed"], "next": "b6"},
            "b6": {
                "type": "multi_split",
                "branches": [{"condition": IN_DYNAMIC, "next": "b7"}],
                "default": "b8",
            },
            "b7": {
                "type": "random_split",
                "branches": [{"percent": 50, "next": "b8"}, {"percent": 50, "next": "b9"}],
            },
            "b8": {"type": "set_attribute", "attribute": "onboarded", "value": True, "next": "b9"},
            "b9": {"type": "segment", "action": "add", "segment_id": "10", "next": "b10"},
            "b10": {"type": "exit"},
        },
    },
    "settings": {
        "frequency": {"type": "interval", "seconds": 2592000},
        "exit": "on_goal",
        "goal": {"event": "purchased"},
        "goal_window_seconds": 86400,
        "audience": "current_and_future",
        "timezone": "Europe/Berlin",
    },
}

MINIMAL: dict[str, Any] = {
    "name": "Hello",
    "trigger": {"type": "event", "name": "signed_up"},
    "workflow": {"start": "b1", "blocks": {"b1": {"type": "send", "channel": "email", "template_id": "1"}}},
}

TRIGGERS = [
    {"type": "event", "name": "signed_up"},
    {"type": "segment_entry", "segment_id": "20"},
    {"type": "segment_exit", "segment_id": 20},
    {"type": "attribute_change", "attribute": "plan", "to": "pro"},
    {"type": "attribute_change", "attribute": "plan"},
    {"type": "date_attribute", "attribute": "trial_end", "offset_seconds": -259200},
    {"type": "api"},
    {"type": "broadcast", "segment_id": "20", "send_at": 1760000000},
]


def check(raw: Any, **lookups: Callable[[str], str | None]) -> dict[str, Any]:
    return validate(
        raw,
        template_channel=lookups.get("template_channel", TEMPLATES.get),
        segment_kind=lookups.get("segment_kind", SEGMENTS.get),
    )


def error(raw: Any) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        check(raw)
    return caught.value


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with the value at dotted ``path`` replaced (``...`` deletes it)."""
    data = copy.deepcopy(base)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return data


def blocks(start: str = "b1", **by_id: dict[str, Any]) -> dict[str, Any]:
    """MINIMAL with these blocks."""
    return {**MINIMAL, "workflow": {"start": start, "blocks": by_id}}


def send(next_block: str | None = None) -> dict[str, Any]:
    block = {"type": "send", "channel": "email", "template_id": "1"}
    return block if next_block is None else {**block, "next": next_block}


# --- normalization ------------------------------------------------------------------------------------


def test_the_full_example_is_valid():
    check(FULL)


def test_defaults_are_filled_in():
    normalized = check(MINIMAL)

    assert normalized == {
        "name": "Hello",
        "trigger": {"type": "event", "name": "signed_up", "filters": None},
        "filters": None,
        "workflow": {
            "start": "b1",
            "blocks": {"b1": {"type": "send", "channel": "email", "template_id": "1"}},
        },
        "settings": {
            "frequency": {"type": "once"},
            "exit": "at_end",
            "goal": None,
            "goal_window_seconds": 604800,
            "audience": "future_only",
            "timezone": "UTC",
        },
    }


def test_block_defaults_are_filled_in_and_ends_left_out():
    raw = blocks(b1={"type": "wait_until", "condition": ATTR, "next": "b2"}, b2={"type": "time_window"})

    normalized = check(raw)["workflow"]["blocks"]

    assert normalized["b1"] == {
        "type": "wait_until",
        "condition": ATTR,
        "max_seconds": None,
        "poll_seconds": 3600,
        "on_timeout": "continue",
        "next": "b2",
    }
    assert normalized["b2"] == {
        "type": "time_window",
        "hours": [0, 24],
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    }


def test_a_null_edge_ends_the_journey_like_a_missing_one():
    normalized = check(
        blocks(
            b1={"type": "branch", "condition": ATTR, "true": "b2", "false": None},
            b2={"type": "multi_split", "branches": [{"condition": ATTR, "next": None}], "default": None},
        )
    )["workflow"]["blocks"]

    assert normalized["b1"] == {"type": "branch", "condition": ATTR, "true": "b2"}
    assert normalized["b2"] == {"type": "multi_split", "branches": [{"condition": ATTR}]}


def test_ids_numbers_become_strings_names_are_trimmed_days_are_ordered():
    raw = blocks(
        b1={"type": "send", "channel": "email", "template_id": 1, "next": "b2"},
        b2={"type": "segment", "action": "remove", "segment_id": 10, "next": "b3"},
        b3={"type": "time_window", "hours": [9.0, 17], "days": ["fri", "mon"]},
    )
    raw["name"] = "  Hello  "
    raw["trigger"] = {"type": "segment_entry", "segment_id": 20}

    normalized = check(raw)

    assert normalized["name"] == "Hello"
    assert normalized["trigger"] == {"type": "segment_entry", "segment_id": "20"}
    assert normalized["workflow"]["blocks"]["b1"]["template_id"] == "1"
    assert normalized["workflow"]["blocks"]["b2"]["segment_id"] == "10"
    assert normalized["workflow"]["blocks"]["b3"]["hours"] == [9, 17]
    assert normalized["workflow"]["blocks"]["b3"]["days"] == ["mon", "fri"]


def test_conditions_are_written_back_in_canonical_form():
    raw = changed(MINIMAL, "filters", EVENT)

    assert check(raw)["filters"] == {
        "event": {
            "name": "purchased",
            "performed": True,
            "count": {"operator": "at_least", "value": 1},
            "timeframe": {"type": "ever"},
        }
    }


@pytest.mark.parametrize("trigger", TRIGGERS, ids=lambda t: t["type"])
def test_every_trigger_normalizes_idempotently(trigger):
    normalized = check({**MINIMAL, "trigger": trigger})

    assert check(normalized) == normalized


def test_normalizing_is_idempotent():
    normalized = check(FULL)

    assert check(normalized) == normalized
    assert check(json.loads(json.dumps(normalized))) == normalized


def test_trigger_defaults():
    def trigger(raw):
        return check({**MINIMAL, "trigger": raw})["trigger"]

    assert trigger({"type": "attribute_change", "attribute": "plan"}) == {
        "type": "attribute_change",
        "attribute": "plan",
        "to": None,
    }
    assert trigger({"type": "date_attribute", "attribute": "trial_end"})["offset_seconds"] == 0
    assert trigger({"type": "broadcast", "segment_id": "20"})["send_at"] is None


def test_references_are_looked_up_once_each_and_only_for_a_sound_structure():
    asked: list[str] = []

    def kind(segment_id: str) -> str | None:
        asked.append(segment_id)
        return SEGMENTS.get(segment_id)

    raw = blocks(
        b1={"type": "branch", "condition": IN_DYNAMIC, "true": "b2", "false": "b2"},
        b2={"type": "multi_split", "branches": [{"condition": IN_DYNAMIC}]},
    )
    check(raw, segment_kind=kind)
    assert asked == ["20"]

    asked.clear()
    with pytest.raises(DefinitionError) as caught:
        check(changed(raw, "workflow.blocks.b1.true", "nowhere"), segment_kind=kind)
    assert caught.value.rule == "dangling_edge"
    assert asked == []


def test_successors_lists_every_edge():
    normalized = check(FULL)["workflow"]["blocks"]

    assert successors(normalized["b3"]) == ["b4", "b5"]
    assert successors(normalized["b6"]) == ["b7", "b8"]
    assert successors(normalized["b7"]) == ["b8", "b9"]
    assert successors(normalized["b10"]) == []


# --- trigger keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "keys"),
    [
        ({"type": "event", "name": "signed_up"}, ["event#signed_up"]),
        ({"type": "segment_entry", "segment_id": "20"}, ["segment#20"]),
        ({"type": "segment_exit", "segment_id": 20}, ["segment#20"]),
        ({"type": "attribute_change", "attribute": "plan"}, ["attribute#plan"]),
        ({"type": "date_attribute", "attribute": "trial_end"}, ["date#trial_end"]),
        ({"type": "api"}, []),
        ({"type": "broadcast", "segment_id": "20"}, []),
    ],
)
def test_trigger_keys(trigger, keys):
    assert trigger_keys(check({**MINIMAL, "trigger": trigger})) == keys


# --- one error per rule -------------------------------------------------------------------------------


def _too_many_blocks() -> dict[str, Any]:
    chain = {f"b{i}": send(f"b{i + 1}") for i in range(MAX_BLOCKS)}
    chain[f"b{MAX_BLOCKS}"] = send()
    return blocks(**chain)


# (definition, path, rule): the paths the App API turns into pointers under /campaign.
INVALID: list[tuple[Any, str, str]] = [
    # the document
    ([], "", "wrong_type"),
    (changed(MINIMAL, "extra", 1), "extra", "unknown_key"),
    (changed(MINIMAL, "name", ...), "name", "required"),
    (changed(MINIMAL, "name", " "), "name", "invalid_value"),
    (changed(MINIMAL, "name", "x" * 256), "name", "invalid_value"),
    (changed(MINIMAL, "name", 5), "name", "wrong_type"),
    (changed(MINIMAL, "trigger", ...), "trigger", "required"),
    (changed(MINIMAL, "workflow", ...), "workflow", "required"),
    # triggers
    (changed(MINIMAL, "trigger", "event"), "trigger", "wrong_type"),
    (changed(MINIMAL, "trigger", {"name": "x"}), "trigger.type", "required"),
    (changed(MINIMAL, "trigger.type", "webhook"), "trigger.type", "unknown_trigger"),
    (changed(MINIMAL, "trigger.type", 3), "trigger.type", "wrong_type"),
    (changed(MINIMAL, "trigger.name", ...), "trigger.name", "required"),
    (changed(MINIMAL, "trigger.name", ""), "trigger.name", "invalid_value"),
    (changed(MINIMAL, "trigger.extra", 1), "trigger.extra", "unknown_key"),
    (changed(MINIMAL, "trigger.filters", EVENT), "trigger.filters.event", "unsupported"),
    (
        changed(
            MINIMAL, "trigger.filters", {"and": [ATTR, {"attribute": {"field": "a", "operator": "near"}}]}
        ),
        "trigger.filters.and.1.attribute.operator",
        "unknown_operator",
    ),
    ({**MINIMAL, "trigger": {"type": "segment_entry"}}, "trigger.segment_id", "required"),
    (
        {**MINIMAL, "trigger": {"type": "segment_exit", "segment_id": ""}},
        "trigger.segment_id",
        "invalid_value",
    ),
    (
        {**MINIMAL, "trigger": {"type": "segment_entry", "segment_id": -1}},
        "trigger.segment_id",
        "invalid_value",
    ),
    (
        {**MINIMAL, "trigger": {"type": "segment_entry", "segment_id": True}},
        "trigger.segment_id",
        "wrong_type",
    ),
    (
        {**MINIMAL, "trigger": {"type": "attribute_change", "attribute": "plan", "to": ["pro"]}},
        "trigger.to",
        "wrong_type",
    ),
    (
        {
            **MINIMAL,
            "trigger": {"type": "date_attribute", "attribute": "t", "offset_seconds": YEAR_SECONDS + 1},
        },
        "trigger.offset_seconds",
        "invalid_value",
    ),
    (
        {
            **MINIMAL,
            "trigger": {"type": "date_attribute", "attribute": "t", "offset_seconds": -YEAR_SECONDS - 1},
        },
        "trigger.offset_seconds",
        "invalid_value",
    ),
    ({**MINIMAL, "trigger": {"type": "api", "segment_id": "20"}}, "trigger.segment_id", "unknown_key"),
    (
        {**MINIMAL, "trigger": {"type": "broadcast", "segment_id": "20", "send_at": -5}},
        "trigger.send_at",
        "invalid_value",
    ),
    (
        {**MINIMAL, "trigger": {"type": "broadcast", "segment_id": "20", "send_at": 253_402_300_800}},
        "trigger.send_at",
        "invalid_value",
    ),
    (
        {**MINIMAL, "trigger": {"type": "broadcast", "segment_id": "2" * 151}},
        "trigger.segment_id",
        "invalid_value",
    ),
    (
        {**MINIMAL, "trigger": {"type": "broadcast", "segment_id": 2**63}},
        "trigger.segment_id",
        "invalid_value",
    ),
    # audience filters
    (changed(MINIMAL, "filters", {"attribute": {"field": "a"}}), "filters.attribute.operator", "required"),
    (changed(MINIMAL, "filters", {"message": {}}), "filters.message", "unsupported"),
    # the workflow
    (changed(MINIMAL, "workflow.start", ...), "workflow.start", "required"),
    (changed(MINIMAL, "workflow.start", None), "workflow.start", "required"),
    (changed(MINIMAL, "workflow.start", ""), "workflow.start", "required"),  # nothing after the trigger
    (changed(MINIMAL, "workflow.start", "b9"), "workflow.start", "dangling_edge"),
    (changed(MINIMAL, "workflow.blocks", {}), "workflow.blocks", "invalid_value"),
    (changed(MINIMAL, "workflow.blocks", []), "workflow.blocks", "wrong_type"),
    (changed(MINIMAL, "workflow.extra", 1), "workflow.extra", "unknown_key"),
    (_too_many_blocks(), "workflow.blocks", "too_many_blocks"),
    (blocks(**{"b.1": send()}), "workflow.blocks.b.1", "invalid_value"),
    (changed(MINIMAL, "workflow.blocks.b1", "send"), "workflow.blocks.b1", "wrong_type"),
    (changed(MINIMAL, "workflow.blocks.b1.type", "sleep"), "workflow.blocks.b1.type", "unknown_block"),
    (changed(MINIMAL, "workflow.blocks.b1.type", ...), "workflow.blocks.b1.type", "required"),
    (changed(MINIMAL, "workflow.blocks.b1.seconds", 5), "workflow.blocks.b1.seconds", "unknown_key"),
    (changed(MINIMAL, "workflow.blocks.b1.next", 7), "workflow.blocks.b1.next", "wrong_type"),
    (changed(MINIMAL, "workflow.blocks.b1.next", "b 2"), "workflow.blocks.b1.next", "invalid_value"),
    # edges, reachability, cycles
    (changed(MINIMAL, "workflow.blocks.b1.next", "b2"), "workflow.blocks.b1.next", "dangling_edge"),
    (changed(FULL, "workflow.blocks.b3.false", "b99"), "workflow.blocks.b3.false", "dangling_edge"),
    (
        changed(FULL, "workflow.blocks.b6.branches.0.next", "b99"),
        "workflow.blocks.b6.branches.0.next",
        "dangling_edge",
    ),
    (changed(FULL, "workflow.blocks.b6.default", "b99"), "workflow.blocks.b6.default", "dangling_edge"),
    (
        changed(FULL, "workflow.blocks.b7.branches.1.next", "b99"),
        "workflow.blocks.b7.branches.1.next",
        "dangling_edge",
    ),
    (blocks(b1=send(), b2=send("b3"), b3=send()), "workflow.blocks.b2", "unreachable"),
    (
        blocks(
            b1=send("b2"), b2={"type": "branch", "condition": ATTR, "true": "b1", "false": "b3"}, b3=send()
        ),
        "workflow.blocks.b1",
        "cycle_without_delay",
    ),
    (
        blocks(b1={"type": "set_attribute", "attribute": "a", "value": 1, "next": "b1"}),
        "workflow.blocks.b1",
        "cycle_without_delay",
    ),
    # send
    (changed(MINIMAL, "workflow.blocks.b1.channel", "fax"), "workflow.blocks.b1.channel", "invalid_value"),
    (changed(MINIMAL, "workflow.blocks.b1.template_id", ...), "workflow.blocks.b1.template_id", "required"),
    (
        changed(MINIMAL, "workflow.blocks.b1.template_id", "99"),
        "workflow.blocks.b1.template_id",
        "unknown_template",
    ),
    (changed(MINIMAL, "workflow.blocks.b1.template_id", 2), "workflow.blocks.b1.channel", "channel_mismatch"),
    # delay
    (blocks(b1={"type": "delay", "seconds": 0}), "workflow.blocks.b1.seconds", "invalid_value"),
    (
        blocks(b1={"type": "delay", "seconds": YEAR_SECONDS + 1}),
        "workflow.blocks.b1.seconds",
        "invalid_value",
    ),
    (blocks(b1={"type": "delay", "seconds": "60"}), "workflow.blocks.b1.seconds", "wrong_type"),
    (blocks(b1={"type": "delay", "seconds": 1.5}), "workflow.blocks.b1.seconds", "wrong_type"),
    (blocks(b1={"type": "delay"}), "workflow.blocks.b1.seconds", "required"),
    # wait until
    (blocks(b1={"type": "wait_until"}), "workflow.blocks.b1.condition", "required"),
    (
        blocks(b1={"type": "wait_until", "condition": {"or": []}}),
        "workflow.blocks.b1.condition.or",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "wait_until", "condition": ATTR, "max_seconds": 59}),
        "workflow.blocks.b1.max_seconds",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "wait_until", "condition": ATTR, "max_seconds": YEAR_SECONDS + 1}),
        "workflow.blocks.b1.max_seconds",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "wait_until", "condition": ATTR, "poll_seconds": 10}),
        "workflow.blocks.b1.poll_seconds",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "wait_until", "condition": ATTR, "on_timeout": "stop"}),
        "workflow.blocks.b1.on_timeout",
        "invalid_value",
    ),
    # time window
    (blocks(b1={"type": "time_window", "hours": [17, 9]}), "workflow.blocks.b1.hours", "invalid_range"),
    (blocks(b1={"type": "time_window", "hours": [9, 9]}), "workflow.blocks.b1.hours", "invalid_range"),
    (blocks(b1={"type": "time_window", "hours": [0, 25]}), "workflow.blocks.b1.hours.1", "invalid_value"),
    (blocks(b1={"type": "time_window", "hours": [-1, 5]}), "workflow.blocks.b1.hours.0", "invalid_value"),
    (blocks(b1={"type": "time_window", "hours": [9]}), "workflow.blocks.b1.hours", "invalid_value"),
    (blocks(b1={"type": "time_window", "hours": "9-17"}), "workflow.blocks.b1.hours", "wrong_type"),
    (blocks(b1={"type": "time_window", "days": ["mon", "mo"]}), "workflow.blocks.b1.days.1", "invalid_value"),
    (blocks(b1={"type": "time_window", "days": ["mon", "mon"]}), "workflow.blocks.b1.days", "invalid_value"),
    (blocks(b1={"type": "time_window", "days": []}), "workflow.blocks.b1.days", "invalid_value"),
    # branches and splits
    (blocks(b1={"type": "branch", "true": "b1"}), "workflow.blocks.b1.condition", "required"),
    (
        blocks(b1={"type": "branch", "condition": {"segment": {"id": False}}}),
        "workflow.blocks.b1.condition.segment.id",
        "wrong_type",
    ),
    (blocks(b1={"type": "multi_split", "branches": []}), "workflow.blocks.b1.branches", "invalid_value"),
    (
        blocks(b1={"type": "multi_split", "branches": [{"next": "b1"}]}),
        "workflow.blocks.b1.branches.0.condition",
        "required",
    ),
    (
        blocks(b1={"type": "random_split", "branches": [{"percent": 60}, {"percent": 50}]}),
        "workflow.blocks.b1.branches",
        "percent_sum",
    ),
    (
        blocks(b1={"type": "random_split", "branches": [{"percent": 100}]}),
        "workflow.blocks.b1.branches",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "random_split", "branches": [{"percent": 50.5}, {"percent": 49.5}]}),
        "workflow.blocks.b1.branches.0.percent",
        "wrong_type",
    ),
    (
        blocks(b1={"type": "random_split", "branches": [{"percent": 0}, {"percent": 100}]}),
        "workflow.blocks.b1.branches.0.percent",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "random_split", "branches": [{"percent": 50}, {"percent": 50, "weight": 1}]}),
        "workflow.blocks.b1.branches.1.weight",
        "unknown_key",
    ),
    # attributes, segments, exit
    (blocks(b1={"type": "set_attribute", "attribute": "a"}), "workflow.blocks.b1.value", "required"),
    (
        blocks(b1={"type": "set_attribute", "attribute": "", "value": 1}),
        "workflow.blocks.b1.attribute",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "set_attribute", "attribute": "anonymous_id", "value": "a"}),
        "workflow.blocks.b1.attribute",
        "reserved_attribute",
    ),
    (
        blocks(b1={"type": "set_attribute", "attribute": "email", "value": "x@y.z"}),
        "workflow.blocks.b1.attribute",
        "reserved_attribute",
    ),
    (
        blocks(b1={"type": "segment", "action": "toggle", "segment_id": "10"}),
        "workflow.blocks.b1.action",
        "invalid_value",
    ),
    (
        blocks(b1={"type": "segment", "action": "add", "segment_id": "99"}),
        "workflow.blocks.b1.segment_id",
        "unknown_segment",
    ),
    (
        blocks(b1={"type": "segment", "action": "add", "segment_id": "20"}),
        "workflow.blocks.b1.segment_id",
        "not_manual_segment",
    ),
    (blocks(b1={"type": "exit", "next": "b1"}), "workflow.blocks.b1.next", "unknown_key"),
    # segments in triggers, conditions and goals
    (
        {**MINIMAL, "trigger": {"type": "segment_entry", "segment_id": "99"}},
        "trigger.segment_id",
        "unknown_segment",
    ),
    (
        {**MINIMAL, "trigger": {"type": "broadcast", "segment_id": "99"}},
        "trigger.segment_id",
        "unknown_segment",
    ),
    (changed(MINIMAL, "filters", {"segment": {"id": "99", "operator": "in"}}), "filters", "unknown_segment"),
    (
        blocks(b1={"type": "branch", "condition": {"not": {"segment": {"id": "99", "operator": "in"}}}}),
        "workflow.blocks.b1.condition",
        "unknown_segment",
    ),
    (
        changed(
            FULL, "workflow.blocks.b6.branches.0.condition", {"segment": {"id": "99", "operator": "not_in"}}
        ),
        "workflow.blocks.b6.branches.0.condition",
        "unknown_segment",
    ),
    (
        changed(MINIMAL, "settings", {"goal": {"segment_id": "99"}}),
        "settings.goal.segment_id",
        "unknown_segment",
    ),
    # settings
    (changed(MINIMAL, "settings", None), "settings", "wrong_type"),
    (changed(MINIMAL, "settings", {"retries": 1}), "settings.retries", "unknown_key"),
    (
        changed(MINIMAL, "settings", {"frequency": {"type": "daily"}}),
        "settings.frequency.type",
        "invalid_value",
    ),
    (
        changed(MINIMAL, "settings", {"frequency": {"type": "interval"}}),
        "settings.frequency.seconds",
        "required",
    ),
    (
        changed(MINIMAL, "settings", {"frequency": {"type": "interval", "seconds": 59}}),
        "settings.frequency.seconds",
        "invalid_value",
    ),
    (
        changed(MINIMAL, "settings", {"frequency": {"type": "once", "seconds": 60}}),
        "settings.frequency.seconds",
        "unknown_key",
    ),
    (changed(MINIMAL, "settings", {"exit": "never"}), "settings.exit", "invalid_value"),
    (changed(MINIMAL, "settings", {"exit": "on_goal"}), "settings.goal", "required"),
    (changed(MINIMAL, "settings", {"goal": {"event": " "}}), "settings.goal.event", "invalid_value"),
    (changed(MINIMAL, "settings", {"goal": {}}), "settings.goal", "invalid_value"),
    (
        changed(MINIMAL, "settings", {"goal": {"event": "a", "segment_id": "10"}}),
        "settings.goal",
        "invalid_value",
    ),
    (changed(MINIMAL, "settings", {"goal": {"url": "x"}}), "settings.goal.url", "unknown_key"),
    (
        changed(MINIMAL, "settings", {"goal_window_seconds": 0}),
        "settings.goal_window_seconds",
        "invalid_value",
    ),
    (changed(MINIMAL, "settings", {"audience": "everyone"}), "settings.audience", "invalid_value"),
    (changed(MINIMAL, "settings", {"timezone": "Mars/Olympus"}), "settings.timezone", "unknown_timezone"),
    (changed(MINIMAL, "settings", {"timezone": "../etc/passwd"}), "settings.timezone", "unknown_timezone"),
    (changed(MINIMAL, "settings", {"timezone": ""}), "settings.timezone", "invalid_value"),
]


@pytest.mark.parametrize(("raw", "path", "rule"), INVALID, ids=[f"{p}:{r}" for _, p, r in INVALID])
def test_each_rule_names_its_path(raw, path, rule):
    problem = error(raw)

    assert (problem.path, problem.rule) == (path, rule), problem.message
    assert problem.message


def test_an_unreachable_error_lists_every_unreachable_block():
    problem = error(blocks(b1=send(), b2=send("b3"), b3=send(), b4=send()))

    assert problem.message == "not reachable from start: b2, b3, b4"


def test_a_cycle_error_lists_the_cycle():
    problem = error(
        blocks(
            b1=send("b2"),
            b2={"type": "set_attribute", "attribute": "a", "value": 1, "next": "b3"},
            b3={"type": "branch", "condition": ATTR, "true": "b2", "false": "b4"},
            b4=send(),
        )
    )

    assert problem.path == "workflow.blocks.b2"
    assert problem.message == "cycle without a delay: b2 -> b3 -> b2"


@pytest.mark.parametrize(
    "waiting", [{"type": "delay", "seconds": 60}, {"type": "wait_until", "condition": ATTR}]
)
def test_a_cycle_through_a_delay_or_wait_is_allowed(waiting):
    raw = blocks(
        b1=send("b2"),
        b2={**waiting, "next": "b3"},
        b3={"type": "branch", "condition": ATTR, "true": "b1", "false": "b4"},
        b4={"type": "exit"},
    )

    check(raw)


def test_a_delay_on_another_path_does_not_break_a_cycle():
    raw = blocks(
        b1={"type": "branch", "condition": ATTR, "true": "b2", "false": "b3"},
        b2={"type": "delay", "seconds": 60, "next": "b1"},
        b3={"type": "set_attribute", "attribute": "a", "value": 1, "next": "b1"},
    )

    problem = error(raw)

    assert problem.rule == "cycle_without_delay"
    assert problem.message == "cycle without a delay: b1 -> b3 -> b1"


def test_the_first_problem_in_document_order_is_reported():
    raw = changed(changed(MINIMAL, "name", ""), "workflow.blocks.b1.type", "sleep")

    assert error(raw).path == "name"


# --- the JSON Schema ----------------------------------------------------------------------------------

VALIDATOR = validator(schema())
# Rules JSON Schema cannot express: it accepts what breaks only these.
BEYOND_SCHEMA = {
    "dangling_edge",
    "unreachable",
    "cycle_without_delay",
    "percent_sum",
    "invalid_range",
    "unknown_timezone",
    "unknown_template",
    "channel_mismatch",
    "unknown_segment",
    "not_manual_segment",
}


def structurally_valid(raw: Any) -> bool:
    try:
        check(raw)
    except DefinitionError as exc:
        return exc.rule in BEYOND_SCHEMA
    return True


def test_the_schema_is_a_valid_draft_2020_12_schema():
    document = schema()

    jsonschema.Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    json.dumps(document)


def test_callers_cannot_change_the_served_schema():
    schema()["$defs"].clear()

    assert schema()["$defs"]


VALID = [FULL, MINIMAL, *({**MINIMAL, "trigger": t} for t in TRIGGERS)]


@pytest.mark.parametrize("raw", VALID, ids=lambda r: json.dumps(r)[:50])
def test_the_schema_accepts_valid_definitions(raw):
    check(raw)
    assert VALIDATOR.is_valid(raw), [e.message for e in VALIDATOR.iter_errors(raw)]
    assert VALIDATOR.is_valid(check(raw))


@pytest.mark.parametrize(("raw", "path", "rule"), INVALID, ids=[f"{p}:{r}" for _, p, r in INVALID])
def test_the_schema_agrees_on_each_invalid_definition(raw, path, rule):
    assert VALIDATOR.is_valid(raw) is (rule in BEYOND_SCHEMA)


# Mutations: every small change to a valid definition gets the same structural verdict from both.

REPLACEMENTS: list[Any] = [
    None,
    0,
    1,
    -1,
    2.0,
    1.5,
    59,
    60,
    25,
    True,
    "",
    " ",
    "b1",
    "x",
    [],
    {},
    ["mon"],
    [1, 2],
]


def _leaves(node: Any, path: str = "") -> Iterator[str]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        child = f"{path}.{key}" if path else str(key)
        yield child
        yield from _leaves(value, child)


def _objects(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _objects(value, f"{path}.{key}" if path else str(key))


BASES = [FULL, *({**MINIMAL, "trigger": t} for t in TRIGGERS)]


def _mutations() -> Iterator[dict[str, Any]]:
    for base in BASES:
        for path in _leaves(base):
            yield changed(base, path, ...)
            for value in REPLACEMENTS:
                yield changed(base, path, value)
        for path in _objects(base):
            yield changed(base, f"{path}.extra" if path else "extra", 1)


def test_every_mutation_gets_the_same_verdict():
    disagreements = []
    count = 0
    for raw in _mutations():
        count += 1
        if VALIDATOR.is_valid(raw) != structurally_valid(raw):
            disagreements.append(json.dumps(raw)[:300])

    assert count > 2000
    assert disagreements == []
