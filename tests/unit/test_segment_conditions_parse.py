"""Parsing, writing back and analysing segment conditions. VALID and INVALID also feed the schema tests."""

import json

import pytest

from nudge.segments.conditions import (
    MAX_DEPTH,
    MAX_NAME_LENGTH,
    MAX_RELATIVE_AMOUNT,
    And,
    AttributeCondition,
    AttributeOperator,
    ConditionError,
    CountOperator,
    Direction,
    EventCondition,
    EventCount,
    Ever,
    Not,
    RelativeTime,
    SegmentCondition,
    SegmentOperator,
    TimeUnit,
    Within,
    dependencies,
    parse,
    referenced_segments,
    time_relative,
    to_json,
)


def attr(field, operator, *value):
    body = {"field": field, "operator": operator}
    if value:
        body["value"] = value[0]
    return {"attribute": body}


def nest(levels, leaf, key="and"):
    """``leaf`` inside ``levels`` groups, alternating and / not / or so every group kind counts."""
    condition = leaf
    for level in range(levels):
        kind = ("and", "not", "or")[level % 3] if key == "mixed" else key
        condition = {kind: condition} if kind == "not" else {kind: [condition]}
    return condition


def nest_path(levels, suffix=""):
    return ".".join(["and[0]"] * levels) + suffix


PLAN = attr("plan", "eq", "pro")
DAYS_AGO = {"amount": 7, "unit": "days", "direction": "ago"}
EVENT_FULL = {
    "event": {
        "name": "purchase",
        "type": "event",
        "performed": False,
        "filters": {"and": [attr("amount", "gte", 10), {"not": attr("coupon", "exists")}]},
        "count": {"operator": "exactly", "value": 2},
        "timeframe": {"type": "within", "amount": 30, "unit": "days"},
    }
}

VALID = [
    PLAN,
    attr("x" * MAX_NAME_LENGTH, "exists"),
    attr("t", "after", {**DAYS_AGO, "amount": MAX_RELATIVE_AMOUNT}),
    attr("plan", "neq", 3),
    attr("vip", "eq", True),
    attr("score", "eq", 1.5),
    attr("address.city", "eq", "Paris"),
    attr("email", "exists"),
    attr("email", "not_exists"),
    attr("tags", "contains", "beta"),
    attr("name", "starts_with", ""),
    attr("age", "gt", 18),
    attr("age", "gte", 18.5),
    attr("age", "lt", -1),
    attr("age", "lte", 0),
    attr("big", "gt", 10**400),
    attr("plan", "in", ["pro", 2, False]),
    attr("trial_end", "is_timestamp"),
    attr("created_at", "before", DAYS_AGO),
    attr("trial_end", "after", {"amount": 0, "unit": "minutes", "direction": "from_now"}),
    attr("trial_end", "after", {"amount": 3.0, "unit": "hours", "direction": "from_now"}),
    {"and": [PLAN, {"or": [attr("a", "exists"), {"not": attr("b", "exists")}]}]},
    {"event": {"name": "purchase"}},
    {"event": {"name": "/pricing", "type": "page", "timeframe": {"type": "ever"}}},
    {"event": {"name": "Home", "type": "screen", "count": {"operator": "at_most", "value": 0}}},
    {"event": {"name": "x", "count": {"operator": "at_least", "value": 1000}}},
    {"event": {"name": "x", "count": {"operator": "at_least", "value": 2.0}}},
    {"event": {"name": "x", "timeframe": {"type": "between", "start": 0, "end": 253402300799}}},
    {"event": {"name": "x", "filters": attr("sku", "eq", "A")}},
    EVENT_FULL,
    {"device": attr("platform", "eq", "ios")},
    {"device": {"and": [attr("last_used", "after", DAYS_AGO), attr("app_version", "starts_with", "2.")]}},
    {"object": {"object_type_id": "1"}},
    {"object": {"object_type_id": "1", "filters": attr("plan", "eq", "enterprise")}},
    {"object": {"object_type_id": "1", "relationship": {"or": [attr("role", "eq", "admin")]}}},
    {"segment": {"id": "123", "operator": "in"}},
    {"segment": {"id": "7", "operator": "not_in"}},
    {"segment": {"id": 3}},  # Customer.io's form: a numeric id, membership by default
    {"segment": {"id": 2**63 - 1, "operator": "not_in"}},
    nest(MAX_DEPTH, PLAN),
    nest(MAX_DEPTH, PLAN, key="mixed"),
    nest(MAX_DEPTH - 1, {"event": {"name": "x", "filters": {"not": PLAN}}}),
    nest(MAX_DEPTH, {"device": attr("platform", "eq", "ios")}),
]

# (data, path, rule); parse_only marks what JSON Schema cannot express (the schema accepts it)
INVALID = [
    # condition objects
    (5, "", "wrong_type"),
    ([PLAN], "", "wrong_type"),
    ({}, "", "required"),
    ({**PLAN, "segment": {"id": "1", "operator": "in"}}, "", "invalid_value"),
    ({"bogus": 1}, "bogus", "unknown_key"),
    ({**PLAN, "bogus": 1}, "bogus", "unknown_key"),
    ({"message": {"campaign": 1}}, "message", "unsupported"),
    ({"and": {}}, "and", "wrong_type"),
    ({"and": []}, "and", "invalid_value"),
    ({"or": [PLAN, 5]}, "or[1]", "wrong_type"),
    ({"not": [PLAN]}, "not", "wrong_type"),
    ({"and": [PLAN, {"or": [{"not": attr("a", "eq")}]}]}, "and[1].or[0].not.attribute.value", "required"),
    # depth
    (nest(MAX_DEPTH + 1, PLAN), nest_path(MAX_DEPTH, ".and"), "depth_exceeded"),
    (nest(MAX_DEPTH, {"not": PLAN}), nest_path(MAX_DEPTH, ".not"), "depth_exceeded"),
    (
        nest(MAX_DEPTH, {"event": {"name": "x", "filters": {"not": PLAN}}}),
        nest_path(MAX_DEPTH, ".event.filters.not"),
        "depth_exceeded",
    ),
    (
        nest(MAX_DEPTH, {"device": {"and": [PLAN]}}),
        nest_path(MAX_DEPTH, ".device.and"),
        "depth_exceeded",
    ),
    # attribute
    ({"attribute": []}, "attribute", "wrong_type"),
    (
        {"attribute": {"field": "a", "operator": "eq", "value": 1, "extra": 2}},
        "attribute.extra",
        "unknown_key",
    ),
    ({"attribute": {"operator": "eq", "value": 1}}, "attribute.field", "required"),
    (attr(5, "eq", 1), "attribute.field", "wrong_type"),
    (attr("", "eq", 1), "attribute.field", "invalid_value"),
    (attr("a..b", "eq", 1), "attribute.field", "invalid_value"),
    (attr(".a", "eq", 1), "attribute.field", "invalid_value"),
    (attr("a.", "eq", 1), "attribute.field", "invalid_value"),
    ({"attribute": {"field": "a", "value": 1}}, "attribute.operator", "required"),
    (attr("a", 1, 1), "attribute.operator", "wrong_type"),
    (attr("a", "equals", 1), "attribute.operator", "unknown_operator"),
    (attr("a", "eq"), "attribute.value", "required"),
    (attr("a", "eq", None), "attribute.value", "wrong_type"),
    (attr("a", "neq", [1]), "attribute.value", "wrong_type"),
    (attr("a", "contains", {"x": 1}), "attribute.value", "wrong_type"),
    (attr("a", "exists", True), "attribute.value", "unknown_key"),
    (attr("a", "not_exists", None), "attribute.value", "unknown_key"),
    (attr("a", "is_timestamp", 1), "attribute.value", "unknown_key"),
    (attr("a", "starts_with", 5), "attribute.value", "wrong_type"),
    (attr("a", "gt", "5"), "attribute.value", "wrong_type"),
    (attr("a", "lte", True), "attribute.value", "wrong_type"),
    (attr("a", "in", []), "attribute.value", "invalid_value"),
    (attr("a", "in", "a"), "attribute.value", "wrong_type"),
    (attr("a", "in", [1, None]), "attribute.value[1]", "wrong_type"),
    (attr("a", "before", "7 days"), "attribute.value", "wrong_type"),
    (attr("a", "before", {"unit": "days", "direction": "ago"}), "attribute.value.amount", "required"),
    (attr("a", "after", {**DAYS_AGO, "amount": -1}), "attribute.value.amount", "invalid_value"),
    (attr("a", "after", {**DAYS_AGO, "amount": 1.5}), "attribute.value.amount", "wrong_type"),
    (attr("a", "after", {**DAYS_AGO, "amount": "7"}), "attribute.value.amount", "wrong_type"),
    (attr("a", "after", {**DAYS_AGO, "unit": "weeks"}), "attribute.value.unit", "invalid_value"),
    (attr("a", "after", {**DAYS_AGO, "direction": "later"}), "attribute.value.direction", "invalid_value"),
    (attr("a", "after", {**DAYS_AGO, "when": 1}), "attribute.value.when", "unknown_key"),
    # event
    ({"event": []}, "event", "wrong_type"),
    ({"event": {}}, "event.name", "required"),
    ({"event": {"name": 3}}, "event.name", "wrong_type"),
    ({"event": {"name": ""}}, "event.name", "invalid_value"),
    ({"event": {"name": "  "}}, "event.name", "invalid_value"),
    ({"event": {"name": "x", "when": 1}}, "event.when", "unknown_key"),
    ({"event": {"name": "x", "type": "click"}}, "event.type", "invalid_value"),
    ({"event": {"name": "x", "type": None}}, "event.type", "wrong_type"),
    ({"event": {"name": "x", "performed": "yes"}}, "event.performed", "wrong_type"),
    (
        {"event": {"name": "x", "filters": {"event": {"name": "y"}}}},
        "event.filters.event",
        "unsupported",
    ),
    (
        {"event": {"name": "x", "filters": {"and": [{"device": PLAN}]}}},
        "event.filters.and[0].device",
        "unsupported",
    ),
    ({"event": {"name": "x", "filters": {"message": {}}}}, "event.filters.message", "unsupported"),
    ({"event": {"name": "x", "filters": {"nope": 1}}}, "event.filters.nope", "unknown_key"),
    (
        {"event": {"name": "x", "filters": attr("a", "gt", "1")}},
        "event.filters.attribute.value",
        "wrong_type",
    ),
    ({"event": {"name": "x", "count": 1}}, "event.count", "wrong_type"),
    ({"event": {"name": "x", "count": {"operator": "at_least"}}}, "event.count.value", "required"),
    ({"event": {"name": "x", "count": {"value": 1}}}, "event.count.operator", "required"),
    (
        {"event": {"name": "x", "count": {"operator": "more_than", "value": 1}}},
        "event.count.operator",
        "unknown_operator",
    ),
    (
        {"event": {"name": "x", "count": {"operator": "exactly", "value": -1}}},
        "event.count.value",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "count": {"operator": "exactly", "value": 1001}}},
        "event.count.value",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "count": {"operator": "exactly", "value": "3"}}},
        "event.count.value",
        "wrong_type",
    ),
    (
        {"event": {"name": "x", "count": {"operator": "exactly", "value": 1, "x": 1}}},
        "event.count.x",
        "unknown_key",
    ),
    ({"event": {"name": "x", "timeframe": "ever"}}, "event.timeframe", "wrong_type"),
    ({"event": {"name": "x", "timeframe": {}}}, "event.timeframe.type", "required"),
    ({"event": {"name": "x", "timeframe": {"type": "recent"}}}, "event.timeframe.type", "invalid_value"),
    (
        {"event": {"name": "x", "timeframe": {"type": "ever", "amount": 1}}},
        "event.timeframe.amount",
        "unknown_key",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "within", "amount": 0, "unit": "days"}}},
        "event.timeframe.amount",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "within", "amount": 1}}},
        "event.timeframe.unit",
        "required",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "within", "amount": 1, "unit": "weeks"}}},
        "event.timeframe.unit",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "between", "start": -1, "end": 5}}},
        "event.timeframe.start",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "between", "start": 0, "end": 253402300800}}},
        "event.timeframe.end",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "between", "start": 5}}},
        "event.timeframe.end",
        "required",
    ),
    # device, object, segment
    ({"device": {"segment": {"id": "1", "operator": "in"}}}, "device.segment", "unsupported"),
    ({"device": attr("", "eq", 1)}, "device.attribute.field", "invalid_value"),
    ({"device": {}}, "device", "required"),
    ({"object": {}}, "object.object_type_id", "required"),
    ({"object": {"object_type_id": ""}}, "object.object_type_id", "invalid_value"),
    ({"object": {"object_type_id": 1}}, "object.object_type_id", "wrong_type"),
    ({"object": {"object_type_id": "1", "where": PLAN}}, "object.where", "unknown_key"),
    (
        {"object": {"object_type_id": "1", "filters": {"device": PLAN}}},
        "object.filters.device",
        "unsupported",
    ),
    (
        {"object": {"object_type_id": "1", "relationship": {"event": {"name": "x"}}}},
        "object.relationship.event",
        "unsupported",
    ),
    ({"segment": {"operator": "in"}}, "segment.id", "required"),
    ({"segment": {"id": "1", "operator": "member"}}, "segment.operator", "unknown_operator"),
    ({"segment": {"id": True}}, "segment.id", "wrong_type"),
    ({"segment": {"id": 1.5}}, "segment.id", "wrong_type"),
    ({"segment": {"id": -1}}, "segment.id", "invalid_value"),
    ({"segment": {"id": 2**63}}, "segment.id", "invalid_value"),
    ({"segment": {"id": ["1"]}}, "segment.id", "wrong_type"),
    ({"segment": {"id": "", "operator": "in"}}, "segment.id", "invalid_value"),
    # names become parts of storage keys; relative amounts become re-check times
    (attr("x" * (MAX_NAME_LENGTH + 1), "exists"), "attribute.field", "invalid_value"),
    ({"event": {"name": "é" * (MAX_NAME_LENGTH + 1)}}, "event.name", "invalid_value"),
    ({"object": {"object_type_id": "1" * (MAX_NAME_LENGTH + 1)}}, "object.object_type_id", "invalid_value"),
    ({"segment": {"id": "1" * (MAX_NAME_LENGTH + 1), "operator": "in"}}, "segment.id", "invalid_value"),
    (
        attr("t", "before", {**DAYS_AGO, "amount": MAX_RELATIVE_AMOUNT + 1}),
        "attribute.value.amount",
        "invalid_value",
    ),
    (
        {"event": {"name": "x", "timeframe": {"type": "within", "amount": 10**40, "unit": "days"}}},
        "event.timeframe.amount",
        "invalid_value",
    ),
]

PARSE_ONLY = [
    ({"event": {"name": "x", "timeframe": {"type": "between", "start": 5, "end": 5}}}, "event.timeframe.end"),
    ({"event": {"name": "x", "timeframe": {"type": "between", "start": 6, "end": 5}}}, "event.timeframe.end"),
]


def failure(data):
    with pytest.raises(ConditionError) as info:
        parse(data)
    return info.value


@pytest.mark.parametrize("data", VALID, ids=lambda d: json.dumps(d)[:60])
def test_valid_conditions_parse_and_round_trip(data):
    condition = parse(data)
    written = to_json(condition)
    assert parse(json.loads(json.dumps(written))) == condition
    assert to_json(parse(written)) == written  # the written form is canonical


@pytest.mark.parametrize(("data", "path", "rule"), INVALID, ids=lambda v: json.dumps(v)[:60])
def test_invalid_conditions_name_the_path_and_rule(data, path, rule):
    error = failure(data)
    assert (error.path, error.rule) == (path, rule)
    assert str(error) == f"{error.path}: {error.message}"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(("data", "path"), PARSE_ONLY)
def test_a_between_window_must_end_after_it_starts(data, path):
    error = failure(data)
    assert (error.path, error.rule) == (path, "invalid_value")


def test_the_first_problem_is_reported():
    assert failure({"attribute": {"bogus": 1, "field": ""}}).path == "attribute.bogus"  # unknown keys first
    assert failure({"and": [attr("", "eq", 1), {"x": 1}]}).path == "and[0].attribute.field"  # document order
    assert failure({"attribute": {"value": None, "operator": "zz", "field": ""}}).path == "attribute.field"
    assert failure(nest(MAX_DEPTH + 1, {"x": 1})).rule == "depth_exceeded"  # depth before contents


def test_non_finite_numbers_are_invalid_values():
    assert failure(attr("a", "gt", float("nan"))).rule == "invalid_value"
    assert failure(attr("a", "eq", float("inf"))).rule == "invalid_value"
    assert failure(
        {"event": {"name": "x", "count": {"operator": "exactly", "value": float("inf")}}}
    ).rule == ("wrong_type")


def test_messages_read_well():
    assert str(failure({"message": {}})) == (
        "message: message activity conditions (sent, opened, clicked ...) are not supported yet"
    )
    assert str(failure(attr("a", "equals", 1))).startswith(
        "attribute.operator: unknown value 'equals'; expected eq,"
    )
    assert failure({}).path == ""


def test_parse_builds_a_typed_tree_with_defaults():
    condition = parse({"and": [attr("created_at", "before", DAYS_AGO), {"event": {"name": "x"}}]})
    assert condition == And(
        (
            AttributeCondition(
                "created_at", AttributeOperator.BEFORE, RelativeTime(7, TimeUnit.DAYS, Direction.AGO)
            ),
            EventCondition("x", None, True, None, EventCount(CountOperator.AT_LEAST, 1), Ever()),
        )
    )
    assert parse(attr("plan", "in", ["a", 1])).value == ("a", 1)  # lists become tuples: the tree is hashable
    hash(parse(EVENT_FULL))


def test_a_segment_id_is_read_the_same_as_a_number_or_a_string():
    expected = SegmentCondition("12", SegmentOperator.IN)
    assert parse({"segment": {"id": 12}}) == parse({"segment": {"id": "12", "operator": "in"}}) == expected
    assert parse({"segment": {"id": 12.0}}) == expected  # an integral float is an integer, as elsewhere
    assert to_json(parse({"segment": {"id": 12}})) == {"segment": {"id": "12", "operator": "in"}}


def test_integral_floats_are_integers():
    event = parse({"event": {"name": "x", "timeframe": {"type": "within", "amount": 2.0, "unit": "days"}}})
    assert isinstance(event, EventCondition)
    assert event.timeframe == Within(2, TimeUnit.DAYS)
    assert isinstance(event.timeframe.amount, int)


def test_to_json_spells_out_defaults():
    assert to_json(parse({"event": {"name": "x"}})) == {
        "event": {
            "name": "x",
            "performed": True,
            "count": {"operator": "at_least", "value": 1},
            "timeframe": {"type": "ever"},
        }
    }
    assert to_json(Not(parse(attr("a", "exists")))) == {
        "not": {"attribute": {"field": "a", "operator": "exists"}}
    }


# --- analysis ---------------------------------------------------------------------------------------

EVERYTHING = {
    "and": [
        attr("address.city", "eq", "Paris"),
        {"not": attr("email", "exists")},
        {"or": [EVENT_FULL, {"event": {"name": "/pricing", "type": "page"}}]},
        {"device": attr("platform", "eq", "ios")},
        {
            "object": {
                "object_type_id": "1",
                "filters": attr("plan", "eq", "x"),
                "relationship": attr("r", "exists"),
            }
        },
        {
            "not": {
                "or": [
                    {"segment": {"id": "12", "operator": "in"}},
                    {"segment": {"id": "13", "operator": "not_in"}},
                ]
            }
        },
    ]
}


def test_dependencies_name_what_a_change_must_touch():
    assert dependencies(parse(EVERYTHING)) == {
        "attr:address",
        "attr:email",
        "event:purchase",
        "event:/pricing",
        "device",
        "object:1",
        "segment:12",
        "segment:13",
    }
    # filters read the event / device / object, not the profile: no attr: keys from them
    assert dependencies(parse(EVENT_FULL)) == {"event:purchase"}


def test_referenced_segments():
    assert referenced_segments(parse(EVERYTHING)) == {"12", "13"}
    assert referenced_segments(parse(PLAN)) == frozenset()


@pytest.mark.parametrize(
    ("data", "relative"),
    [
        (PLAN, False),
        (attr("t", "is_timestamp"), False),
        (attr("t", "before", DAYS_AGO), True),
        ({"not": {"or": [PLAN, attr("t", "after", DAYS_AGO)]}}, True),
        ({"event": {"name": "x"}}, False),
        ({"event": {"name": "x", "timeframe": {"type": "between", "start": 1, "end": 2}}}, False),
        ({"event": {"name": "x", "timeframe": {"type": "within", "amount": 1, "unit": "hours"}}}, True),
        ({"event": {"name": "x", "filters": attr("due", "before", DAYS_AGO)}}, True),
        ({"device": attr("platform", "eq", "ios")}, False),
        ({"device": attr("last_used", "after", DAYS_AGO)}, True),
        ({"object": {"object_type_id": "1", "relationship": attr("since", "after", DAYS_AGO)}}, True),
        ({"object": {"object_type_id": "1", "filters": attr("plan", "eq", "x")}}, False),
        ({"segment": {"id": "1", "operator": "in"}}, False),
    ],
)
def test_time_relative(data, relative):
    assert time_relative(parse(data)) is relative
