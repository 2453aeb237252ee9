"""CONDITION_SCHEMA and parse() accept exactly the same conditions."""

import copy
import json
import random

import jsonschema
import pytest

from nudge.segments.conditions import CONDITION_SCHEMA, ConditionError, parse
from tests.support.schemas import validator
from tests.unit.test_segment_conditions_parse import INVALID, PARSE_ONLY, VALID

VALIDATOR = validator(CONDITION_SCHEMA)


def parses(data):
    try:
        parse(data)
    except ConditionError:
        return False
    return True


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(CONDITION_SCHEMA)
    assert CONDITION_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    json.dumps(CONDITION_SCHEMA)  # plain JSON: it can be published as is


@pytest.mark.parametrize("data", VALID, ids=lambda d: json.dumps(d)[:60])
def test_the_schema_accepts_what_parse_accepts(data):
    assert VALIDATOR.is_valid(data)


@pytest.mark.parametrize(("data", "path", "rule"), INVALID, ids=lambda v: json.dumps(v)[:60])
def test_the_schema_rejects_what_parse_rejects(data, path, rule):
    assert not VALIDATOR.is_valid(data)


@pytest.mark.parametrize(("data", "path"), PARSE_ONLY)
def test_the_one_documented_gap_an_empty_between_window(data, path):
    assert VALIDATOR.is_valid(data)  # JSON Schema cannot compare start and end
    assert not parses(data)


# --- mutations: every small change to a valid condition gets the same verdict from both ---------------

REPLACEMENTS = [
    None,
    0,
    1,
    -1,
    2.0,
    1.5,
    1001,
    253402300800,
    True,
    False,
    "",
    " ",
    "x",
    "a.b",
    "a..b",
    [],
    [1],
    ["x", None],
    {},
    {"a": 1},
    "eq",
    "in",
    "not_in",
    "at_most",
    "exists",
    "days",
    "weeks",
    "ago",
    "from_now",
    "page",
    "within",
    "between",
    "ever",
    {"type": "ever"},
    {"field": "a", "operator": "exists"},
    {"attribute": {"field": "a", "operator": "exists"}},
    {"event": {"name": "x"}},
    {"amount": 1, "unit": "days", "direction": "ago"},
    {"operator": "exactly", "value": 3},
]
NEW_KEYS = ["value", "and", "not", "attribute", "event", "filters", "amount", "type", "bogus", "message"]


def containers(node, found):
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            containers(child, found)
    return found


def mutate(data, rng):
    data = copy.deepcopy(data)
    target = rng.choice(containers(data, []))
    if isinstance(target, list):
        action = rng.choice(["replace", "drop", "append"]) if target else "append"
        if action == "append":
            target.append(copy.deepcopy(rng.choice(REPLACEMENTS)))
        elif action == "drop":
            target.pop(rng.randrange(len(target)))
        else:
            target[rng.randrange(len(target))] = copy.deepcopy(rng.choice(REPLACEMENTS))
        return data
    action = rng.choice(["replace", "drop", "add"]) if target else "add"
    if action == "add":
        target[rng.choice(NEW_KEYS)] = copy.deepcopy(rng.choice(REPLACEMENTS))
    elif action == "drop":
        del target[rng.choice(list(target))]
    else:
        target[rng.choice(list(target))] = copy.deepcopy(rng.choice(REPLACEMENTS))
    return data


def empty_between_window(data):
    try:
        parse(data)
    except ConditionError as error:
        return error.message == "must be after start"
    return False


def test_mutated_conditions_get_the_same_verdict():
    rng = random.Random(20240601)
    verdicts = {True: 0, False: 0}
    for _ in range(3000):
        data = mutate(rng.choice(VALID), rng)
        if rng.random() < 0.3:
            data = mutate(data, rng)
        if empty_between_window(data):
            continue
        accepted = parses(data)
        assert VALIDATOR.is_valid(data) is accepted, json.dumps(data)
        verdicts[accepted] += 1
    assert min(verdicts.values()) > 100  # both verdicts were exercised
