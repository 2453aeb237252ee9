"""Evaluating segment conditions: every operator, both sides of every time boundary, re-check times,
and reading no more events than the answer needs."""

import random
from decimal import Decimal

import pytest

from nudge.segments.conditions import Outcome, evaluate, parse

NOW = 1_700_000_000
MINUTE, HOUR, DAY = 60, 3600, 86400
MISSING = object()


class FakePerson:
    """A PersonContext over in-memory data that records what the evaluator read."""

    def __init__(self, now=NOW, attributes=None, devices=(), objects=None, events=(), segments=()):
        self.now = now
        self.attributes = attributes or {}
        self._devices = list(devices)
        self._objects = objects or {}
        self._events = list(events)  # each {"name", "type", "timestamp", "data"}
        self._segments = set(segments)
        self.queries = []
        self.pulled = 0

    def at(self, now):
        """The same person, later (or earlier)."""
        return FakePerson(now, self.attributes, self._devices, self._objects, self._events, self._segments)

    def devices(self):
        return self._devices

    def related_objects(self, object_type_id):
        return self._objects.get(object_type_id, [])

    def events(self, name, event_type, since, until):
        self.queries.append((name, event_type, since, until))
        chosen = [
            e
            for e in self._events
            if e["name"] == name
            and (event_type is None or e.get("type", "event") == event_type)
            and (since is None or since <= e["timestamp"])
            and (until is None or e["timestamp"] < until)
        ]
        for event in sorted(chosen, key=lambda e: e["timestamp"], reverse=True):
            self.pulled += 1
            yield {"timestamp": event["timestamp"], "data": event.get("data", {})}

    def in_segment(self, segment_id):
        return segment_id in self._segments


def attr(field, operator, *value):
    body = {"field": field, "operator": operator}
    if value:
        body["value"] = value[0]
    return {"attribute": body}


def run(data, person):
    return evaluate(parse(data), person)


def matches(data, person):
    return run(data, person).matched


def with_attribute(value, field="a"):
    return FakePerson(attributes={} if value is MISSING else {field: value})


def assert_flips_at(data, person, at):
    """The outcome holds through at - 1 and is different at ``at``: the re-check is exact."""
    before = run(data, person)
    assert before.recheck_at == at
    assert at > person.now
    assert run(data, person.at(at - 1)).matched is before.matched
    assert run(data, person.at(at)).matched is not before.matched


# --- attribute operators ----------------------------------------------------------------------------

OPERATOR_CASES = [
    # eq: numbers and numeric strings compare numerically, everything else as strings
    ("eq", "pro", "pro", True),
    ("eq", "pro", "Pro", False),
    ("eq", 10, "10", True),
    ("eq", "10", 10, True),
    ("eq", 10, 10.0, True),
    ("eq", "10.0", 10, True),
    ("eq", "1e3", 1000, True),
    ("eq", 0.1, "0.1", True),
    ("eq", 10, Decimal("10"), True),
    ("eq", 12345678901234567890, 12345678901234567891, False),
    ("eq", "10 ", 10, False),
    ("eq", True, True, True),
    ("eq", True, "true", True),
    ("eq", False, "false", True),
    ("eq", True, 1, False),
    ("eq", "x", ["x"], False),
    ("eq", "x", MISSING, False),
    ("eq", "x", None, False),
    # neq: the opposite, so a missing attribute matches
    ("neq", "pro", "pro", False),
    ("neq", 10, "10", False),
    ("neq", "pro", "basic", True),
    ("neq", "pro", MISSING, True),
    ("neq", "pro", None, True),
    # exists / not_exists: null is missing
    ("exists", None, "x", True),
    ("exists", None, "", True),
    ("exists", None, 0, True),
    ("exists", None, False, True),
    ("exists", None, MISSING, False),
    ("exists", None, None, False),
    ("not_exists", None, "x", False),
    ("not_exists", None, MISSING, True),
    ("not_exists", None, None, True),
    # contains: substring of a string, element of a list
    ("contains", "lo w", "hello world", True),
    ("contains", "d", "abc", False),
    ("contains", 123, "order-123", True),
    ("contains", True, "is true", True),
    ("contains", "b", ["a", "b"], True),
    ("contains", "2", [1, 2], True),
    ("contains", "c", ["a", "b"], False),
    ("contains", "2", 123, False),
    ("contains", "a", {"a": 1}, False),
    ("contains", "a", MISSING, False),
    # starts_with: strings only
    ("starts_with", "he", "hello", True),
    ("starts_with", "lo", "hello", False),
    ("starts_with", "", "hello", True),
    ("starts_with", "1", 123, False),
    ("starts_with", "he", MISSING, False),
    # gt / gte / lt / lte: both sides of the boundary; numeric strings count, anything else never matches
    ("gt", 5, 6, True),
    ("gt", 5, 5, False),
    ("gt", 5, 5.000001, True),
    ("gte", 5, 5, True),
    ("gte", 5, 4.999999, False),
    ("lt", 5, 4, True),
    ("lt", 5, 5, False),
    ("lte", 5, 5, True),
    ("lte", 5, 5.000001, False),
    ("gt", 5, "6", True),
    ("lt", 5, "-1e2", True),
    ("gte", 0.1, Decimal("0.1"), True),
    ("lt", 10**400, 10**400 - 1, True),
    ("gt", 5, "six", False),
    ("gt", 0, True, False),
    ("lt", 5, [1], False),
    ("lt", 5, MISSING, False),
    ("gt", -1, None, False),
    # in: a scalar equal to one of the values
    ("in", ["a", "b"], "b", True),
    ("in", ["1", "2"], 2, True),
    ("in", [True], "true", True),
    ("in", ["a", "b"], "c", False),
    ("in", ["a"], ["a"], False),
    ("in", ["a"], MISSING, False),
    # is_timestamp: a number (or numeric string) between 0 and 253402300799
    ("is_timestamp", None, 0, True),
    ("is_timestamp", None, -1, False),
    ("is_timestamp", None, 253402300799, True),
    ("is_timestamp", None, 253402300800, False),
    ("is_timestamp", None, 1.5, True),
    ("is_timestamp", None, "1700000000", True),
    ("is_timestamp", None, 1_700_000_000_000, False),  # milliseconds are not unix seconds
    ("is_timestamp", None, "soon", False),
    ("is_timestamp", None, True, False),
    ("is_timestamp", None, MISSING, False),
]


@pytest.mark.parametrize(("operator", "value", "actual", "expected"), OPERATOR_CASES)
def test_attribute_operators(operator, value, actual, expected):
    data = attr("a", operator) if value is None else attr("a", operator, value)
    outcome = run(data, with_attribute(actual))
    assert outcome == Outcome(expected, None)


def test_dotted_fields_reach_into_nested_maps():
    person = FakePerson(attributes={"address": {"city": "Paris", "geo": {"lat": 48.8}}, "plan": "pro"})
    assert matches(attr("address.city", "eq", "Paris"), person)
    assert matches(attr("address.geo.lat", "gt", 48), person)
    assert not matches(attr("address.zip", "exists"), person)
    assert not matches(attr("plan.tier", "exists"), person)  # a string has no fields
    assert matches(attr("address.zip", "neq", "75001"), person)


# --- before / after ---------------------------------------------------------------------------------


def rel(amount, unit, direction):
    return {"amount": amount, "unit": unit, "direction": direction}


def test_after_days_ago_holds_until_the_timestamp_is_that_old():
    data = attr("t", "after", rel(7, "days", "ago"))
    threshold = NOW - 7 * DAY
    inside = FakePerson(attributes={"t": threshold + 1})
    assert run(data, inside) == Outcome(True, NOW + 1)
    assert_flips_at(data, inside, NOW + 1)
    assert run(data, FakePerson(attributes={"t": threshold})) == Outcome(False, None)  # strict
    assert run(data, FakePerson(attributes={"t": threshold - 1})) == Outcome(False, None)
    later = FakePerson(attributes={"t": NOW - 3 * DAY})
    assert_flips_at(data, later, NOW + 4 * DAY)


def test_before_days_ago_starts_to_hold_once_the_timestamp_is_older():
    data = attr("t", "before", rel(7, "days", "ago"))
    threshold = NOW - 7 * DAY
    assert run(data, FakePerson(attributes={"t": threshold - 1})) == Outcome(True, None)
    at_threshold = FakePerson(attributes={"t": threshold})
    assert run(data, at_threshold) == Outcome(False, NOW + 1)  # strict: equal is not before
    assert_flips_at(data, at_threshold, NOW + 1)
    assert_flips_at(data, FakePerson(attributes={"t": threshold + 100}), NOW + 101)


def test_after_hours_from_now():
    data = attr("t", "after", rel(2, "hours", "from_now"))
    threshold = NOW + 2 * HOUR
    above = FakePerson(attributes={"t": threshold + 1})
    assert run(data, above) == Outcome(True, NOW + 1)
    assert_flips_at(data, above, NOW + 1)
    assert run(data, FakePerson(attributes={"t": threshold})) == Outcome(False, None)
    assert run(data, FakePerson(attributes={"t": threshold - 1})) == Outcome(False, None)


def test_before_minutes_from_now():
    data = attr("t", "before", rel(30, "minutes", "from_now"))
    threshold = NOW + 30 * MINUTE
    assert run(data, FakePerson(attributes={"t": threshold - 1})) == Outcome(True, None)
    at_threshold = FakePerson(attributes={"t": threshold})
    assert run(data, at_threshold) == Outcome(False, NOW + 1)
    assert_flips_at(data, at_threshold, NOW + 1)
    assert_flips_at(data, FakePerson(attributes={"t": threshold + 59}), NOW + 60)


def test_zero_amount_compares_with_now():
    after_now = attr("t", "after", rel(0, "days", "ago"))
    assert run(after_now, FakePerson(attributes={"t": NOW})) == Outcome(False, None)
    assert_flips_at(after_now, FakePerson(attributes={"t": NOW + 1}), NOW + 1)
    before_now = attr("t", "before", rel(0, "minutes", "from_now"))
    assert run(before_now, FakePerson(attributes={"t": NOW - 1})) == Outcome(True, None)
    assert_flips_at(before_now, FakePerson(attributes={"t": NOW}), NOW + 1)


def test_fractional_and_string_timestamps_flip_on_the_exact_second():
    after = attr("t", "after", rel(1, "hours", "ago"))
    # half a second past the threshold: true at NOW, false from NOW + 1
    assert_flips_at(after, FakePerson(attributes={"t": NOW - HOUR + 0.5}), NOW + 1)
    assert_flips_at(after, FakePerson(attributes={"t": str(NOW - HOUR + 0.5)}), NOW + 1)
    before = attr("t", "before", rel(1, "hours", "ago"))
    assert_flips_at(before, FakePerson(attributes={"t": NOW - HOUR + 0.5}), NOW + 1)
    # a hair past the threshold: no rounding may move the flip onto NOW
    hair = Decimal(f"{NOW - HOUR}.{'0' * 39}1")
    assert_flips_at(after, FakePerson(attributes={"t": hair}), NOW + 1)
    assert_flips_at(before, FakePerson(attributes={"t": hair}), NOW + 1)


@pytest.mark.parametrize("value", ["soon", -5, 1_700_000_000_000, True, [NOW], MISSING])
@pytest.mark.parametrize("operator", ["before", "after"])
def test_non_timestamps_never_match_a_time_rule(operator, value):
    for direction in ("ago", "from_now"):
        outcome = run(attr("a", operator, rel(1, "days", direction)), with_attribute(value))
        assert outcome == Outcome(False, None)


# --- groups -----------------------------------------------------------------------------------------

SOON = attr("t1", "after", rel(1, "days", "ago"))  # with t1 = NOW: true until NOW + DAY
LATER = attr("t2", "after", rel(2, "days", "ago"))  # with t2 = NOW: true until NOW + 2 DAY
EVER_TRUE = attr("plan", "eq", "pro")
EVER_FALSE = attr("plan", "eq", "basic")
GROUP_PERSON = FakePerson(attributes={"t1": NOW, "t2": NOW, "plan": "pro"})


def test_and_of_true_children_rechecks_at_the_earliest_flip():
    assert run({"and": [LATER, EVER_TRUE, SOON]}, GROUP_PERSON) == Outcome(True, NOW + DAY)
    assert_flips_at({"and": [LATER, SOON]}, GROUP_PERSON, NOW + DAY)


def test_or_of_false_children_rechecks_at_the_earliest_flip():
    not_soon, not_later = {"not": SOON}, {"not": LATER}
    assert run({"or": [not_later, EVER_FALSE, not_soon]}, GROUP_PERSON) == Outcome(False, NOW + DAY)
    assert_flips_at({"or": [not_later, not_soon]}, GROUP_PERSON, NOW + DAY)


def test_a_deciding_child_short_circuits_with_its_own_recheck():
    # false until it flips: nothing after it is read, and the group cannot change before it does
    assert run({"and": [{"not": LATER}, SOON]}, GROUP_PERSON) == Outcome(False, NOW + 2 * DAY)
    assert run({"and": [EVER_FALSE, SOON]}, GROUP_PERSON) == Outcome(False, None)
    assert run({"or": [LATER, {"not": SOON}]}, GROUP_PERSON) == Outcome(True, NOW + 2 * DAY)
    assert run({"or": [EVER_TRUE, SOON]}, GROUP_PERSON) == Outcome(True, None)
    person = FakePerson(attributes={"plan": "pro"}, events=[{"name": "x", "timestamp": NOW}])
    assert not matches({"and": [EVER_FALSE, {"event": {"name": "x"}}]}, person)
    assert person.queries == []


def test_not_keeps_the_childs_recheck():
    assert run({"not": SOON}, GROUP_PERSON) == Outcome(False, NOW + DAY)
    assert run({"not": {"not": SOON}}, GROUP_PERSON) == Outcome(True, NOW + DAY)
    assert_flips_at({"not": SOON}, GROUP_PERSON, NOW + DAY)


def test_nested_groups_take_the_earliest_relevant_flip():
    data = {
        "and": [
            EVER_TRUE,
            {"or": [EVER_FALSE, {"not": {"not": LATER}}]},
            {"not": {"and": [EVER_FALSE]}},
            SOON,
        ]
    }
    assert run(data, GROUP_PERSON) == Outcome(True, NOW + DAY)


# --- events -----------------------------------------------------------------------------------------


def ev(timestamp, name="purchase", type="event", **data):
    return {"name": name, "type": type, "timestamp": timestamp, "data": data}


def event(**body):
    return {"event": {"name": "purchase", **body}}


def count(operator, value):
    return {"operator": operator, "value": value}


WEEK = {"type": "within", "amount": 7, "unit": "days"}


def test_performed_ever_by_default():
    assert not matches(event(), FakePerson())
    person = FakePerson(events=[ev(1)])
    assert run(event(), person) == Outcome(True, None)
    assert person.queries == [("purchase", None, None, None)]
    assert not matches(event(), FakePerson(events=[ev(1, name="refund")]))


def test_event_type_selects_pages_and_screens():
    person = FakePerson(events=[ev(1, name="/pricing", type="page"), ev(2, name="Home", type="screen")])
    assert matches({"event": {"name": "/pricing", "type": "page"}}, person)
    assert not matches({"event": {"name": "/pricing", "type": "event"}}, person)
    assert matches({"event": {"name": "Home", "type": "screen"}}, person)
    assert matches({"event": {"name": "Home"}}, person)
    assert person.queries[0] == ("/pricing", "page", None, None)


def test_performed_false_negates_the_whole_condition():
    assert matches(event(performed=False), FakePerson())
    assert not matches(event(performed=False), FakePerson(events=[ev(1)]))
    two = FakePerson(events=[ev(1), ev(2)])
    assert matches(event(performed=False, count=count("at_least", 3)), two)
    assert not matches(event(performed=False, count=count("exactly", 2)), two)


@pytest.mark.parametrize(
    ("operator", "value", "events", "expected"),
    [
        ("at_least", 2, 1, False),
        ("at_least", 2, 2, True),
        ("at_least", 2, 3, True),
        ("at_least", 0, 0, True),
        ("at_most", 1, 0, True),
        ("at_most", 1, 1, True),
        ("at_most", 1, 2, False),
        ("at_most", 0, 0, True),
        ("at_most", 0, 1, False),
        ("exactly", 2, 1, False),
        ("exactly", 2, 2, True),
        ("exactly", 2, 3, False),
        ("exactly", 0, 0, True),
        ("exactly", 0, 1, False),
    ],
)
def test_count_operators(operator, value, events, expected):
    person = FakePerson(events=[ev(NOW - i) for i in range(events)])
    assert run(event(count=count(operator, value)), person) == Outcome(expected, None)


def test_at_least_zero_reads_nothing():
    person = FakePerson(events=[ev(1)])
    assert run(event(count=count("at_least", 0)), person) == Outcome(True, None)
    assert run(event(count=count("at_least", 0), performed=False), person) == Outcome(False, None)
    assert person.queries == []


def test_filters_apply_to_the_events_data():
    person = FakePerson(events=[ev(3, amount=50), ev(2, amount=150, item={"sku": "A"}), ev(1, amount="200")])
    big = attr("amount", "gt", 100)
    assert matches(event(filters=big, count=count("exactly", 2)), person)
    assert matches(event(filters=attr("item.sku", "eq", "A")), person)
    assert not matches(event(filters={"and": [big, attr("item.sku", "eq", "B")]}), person)
    assert matches(event(filters={"not": attr("amount", "exists")}, count=count("exactly", 0)), person)


def test_events_without_a_data_map_filter_as_empty():
    person = FakePerson(events=[{"name": "purchase", "timestamp": 1, "data": None}])
    assert matches(event(filters=attr("amount", "not_exists")), person)


# --- event early stop -------------------------------------------------------------------------------

HUNDRED = [ev(NOW - i, n=i) for i in range(100)]


@pytest.mark.parametrize(
    ("body", "expected", "pulled"),
    [
        (event(), True, 1),
        (event(performed=False), False, 1),
        (event(count=count("at_least", 3)), True, 3),
        (event(count=count("at_most", 2)), False, 3),
        (event(count=count("exactly", 0)), False, 1),
        (event(count=count("exactly", 5)), False, 6),
        (event(count=count("at_least", 101)), False, 100),
        (event(count=count("at_most", 100)), True, 100),
        # every other event matches the filter: the 3rd match is the 5th event read
        (event(filters=attr("n", "in", list(range(0, 100, 2))), count=count("at_least", 3)), True, 5),
        (event(timeframe=WEEK, count=count("at_least", 3)), True, 3),
    ],
)
def test_events_are_read_only_until_the_answer_is_decided(body, expected, pulled):
    person = FakePerson(events=HUNDRED)
    assert matches(body, person) is expected
    assert person.pulled == pulled


# --- event timeframes -------------------------------------------------------------------------------


def test_within_counts_an_event_exactly_the_window_old_and_rechecks_when_it_leaves():
    person = FakePerson(events=[ev(NOW - 7 * DAY)])
    assert run(event(timeframe=WEEK), person) == Outcome(True, NOW + 1)
    assert person.queries == [("purchase", None, NOW - 7 * DAY, None)]
    assert_flips_at(event(timeframe=WEEK), person, NOW + 1)
    assert run(event(timeframe=WEEK), FakePerson(events=[ev(NOW - 7 * DAY - 1)])) == Outcome(False, None)


@pytest.mark.parametrize(
    ("amount", "unit", "seconds"), [(30, "minutes", 30 * MINUTE), (2, "hours", 2 * HOUR), (1, "days", DAY)]
)
def test_within_units(amount, unit, seconds):
    body = event(timeframe={"type": "within", "amount": amount, "unit": unit})
    assert_flips_at(body, FakePerson(events=[ev(NOW - seconds + 10)]), NOW + 11)
    assert not matches(body, FakePerson(events=[ev(NOW - seconds - 1)]))


def test_within_at_least_k_rechecks_when_the_kth_newest_leaves():
    person = FakePerson(events=[ev(NOW - 10), ev(NOW - 20), ev(NOW - 30)])
    body = event(timeframe={"type": "within", "amount": 1, "unit": "days"}, count=count("at_least", 2))
    assert run(body, person) == Outcome(True, NOW - 20 + DAY + 1)
    assert_flips_at(body, person, NOW - 20 + DAY + 1)
    # not enough: only fewer can come of time
    fewer = event(timeframe={"type": "within", "amount": 1, "unit": "days"}, count=count("at_least", 4))
    assert run(fewer, person) == Outcome(False, None)


def test_within_at_most_k_rechecks_when_the_k_plus_first_newest_leaves():
    person = FakePerson(events=[ev(NOW - 10), ev(NOW - 20), ev(NOW - 30)])
    body = event(timeframe={"type": "within", "amount": 1, "unit": "days"}, count=count("at_most", 1))
    assert run(body, person) == Outcome(False, NOW - 20 + DAY + 1)
    assert person.pulled == 2
    assert_flips_at(body, person, NOW - 20 + DAY + 1)
    enough = event(timeframe={"type": "within", "amount": 1, "unit": "days"}, count=count("at_most", 3))
    assert run(enough, person) == Outcome(True, None)  # counts only fall as time passes


def test_within_exactly_k_rechecks_when_the_count_next_changes_the_verdict():
    person = FakePerson(events=[ev(NOW - 10), ev(NOW - 20), ev(NOW - 30)])
    window = {"type": "within", "amount": 1, "unit": "days"}
    exact = event(timeframe=window, count=count("exactly", 3))
    assert run(exact, person) == Outcome(True, NOW - 30 + DAY + 1)
    assert_flips_at(exact, person, NOW - 30 + DAY + 1)
    too_many = event(timeframe=window, count=count("exactly", 2))
    assert run(too_many, person) == Outcome(False, NOW - 30 + DAY + 1)
    assert_flips_at(too_many, person, NOW - 30 + DAY + 1)
    assert run(event(timeframe=window, count=count("exactly", 4)), person) == Outcome(False, None)
    assert run(event(timeframe=window, count=count("exactly", 0)), FakePerson()) == Outcome(True, None)


def test_within_performed_false_keeps_the_recheck():
    person = FakePerson(events=[ev(NOW - 10)])
    body = event(performed=False, timeframe=WEEK)
    assert run(body, person) == Outcome(False, NOW - 10 + 7 * DAY + 1)
    assert_flips_at(body, person, NOW - 10 + 7 * DAY + 1)


def test_events_dated_in_the_future_count_within_a_window():
    person = FakePerson(events=[ev(NOW + HOUR)])
    assert run(event(timeframe=WEEK), person) == Outcome(True, NOW + HOUR + 7 * DAY + 1)


def test_between_includes_its_start_excludes_its_end_and_does_not_change_with_time():
    window = {"type": "between", "start": 1000, "end": 2000}
    at_start = FakePerson(events=[ev(1000)])
    assert run(event(timeframe=window), at_start) == Outcome(True, None)
    assert at_start.queries == [("purchase", None, 1000, 2000)]
    assert matches(event(timeframe=window), FakePerson(events=[ev(1999)]))
    assert not matches(event(timeframe=window), FakePerson(events=[ev(999)]))
    assert not matches(event(timeframe=window), FakePerson(events=[ev(2000)]))


def test_time_rules_in_filters_make_the_count_time_relative():
    # "a subscription event whose data.renews_at is still in the future"
    body = event(filters=attr("renews_at", "after", rel(0, "days", "ago")))
    person = FakePerson(
        events=[ev(NOW - DAY, renews_at=NOW + HOUR), ev(NOW - 2 * DAY, renews_at=NOW + 2 * HOUR)]
    )
    assert run(body, person) == Outcome(True, NOW + HOUR)  # the newest match decides, until it lapses
    assert person.pulled == 1
    lapsed = FakePerson(events=[ev(NOW - DAY, renews_at=NOW - 1)])
    assert run(body, lapsed) == Outcome(False, None)
    pending = event(filters=attr("starts_at", "before", rel(0, "days", "ago")))
    assert_flips_at(pending, FakePerson(events=[ev(NOW - DAY, starts_at=NOW + 5)]), NOW + 6)


# --- devices, objects, segments ---------------------------------------------------------------------

IPHONE = {"id": "d1", "platform": "ios", "last_used": NOW - 3 * DAY, "attributes": {"app_version": "2.1"}}
PIXEL = {"id": "d2", "platform": "android", "last_used": NOW - DAY, "attributes": {"platform": "ios"}}


def test_device_conditions_match_when_any_device_does():
    person = FakePerson(devices=[IPHONE, PIXEL])
    assert matches({"device": attr("platform", "eq", "android")}, person)
    assert matches({"device": attr("id", "eq", "d1")}, person)
    assert not matches({"device": attr("platform", "eq", "web")}, person)
    assert not matches({"device": attr("platform", "eq", "ios")}, FakePerson())


def test_device_fields_beyond_id_platform_last_used_are_attributes():
    person = FakePerson(devices=[PIXEL, IPHONE])
    assert matches({"device": attr("app_version", "starts_with", "2.")}, person)
    # the device's own platform wins over an attribute of that name
    assert not matches({"device": {"and": [attr("id", "eq", "d2"), attr("platform", "eq", "ios")]}}, person)
    assert matches({"device": {"and": [attr("id", "eq", "d1"), attr("app_version", "eq", 2.1)]}}, person)


def test_device_last_used_is_time_relative():
    recent = {"device": attr("last_used", "after", rel(2, "days", "ago"))}
    assert run(recent, FakePerson(devices=[IPHONE, PIXEL])) == Outcome(True, NOW + DAY)
    assert_flips_at(recent, FakePerson(devices=[IPHONE, PIXEL]), NOW + DAY)
    assert run(recent, FakePerson(devices=[IPHONE])) == Outcome(False, None)
    stale = {"device": attr("last_used", "before", rel(2, "days", "ago"))}
    assert run(stale, FakePerson(devices=[PIXEL])) == Outcome(False, NOW + DAY + 1)


ACME = ({"name": "Acme", "plan": "enterprise"}, {"role": "admin"})
INITECH = ({"name": "Initech", "plan": "basic"}, {"role": "member", "since": NOW - DAY})


def test_object_conditions():
    person = FakePerson(objects={"1": [ACME, INITECH]})
    assert matches({"object": {"object_type_id": "1"}}, person)
    assert not matches({"object": {"object_type_id": "2"}}, person)
    assert matches({"object": {"object_type_id": "1", "filters": attr("plan", "eq", "basic")}}, person)
    assert matches({"object": {"object_type_id": "1", "relationship": attr("role", "eq", "admin")}}, person)
    both = {
        "object_type_id": "1",
        "filters": attr("plan", "eq", "enterprise"),
        "relationship": attr("role", "eq", "admin"),
    }
    assert matches({"object": both}, person)
    # both must hold for the same object
    crossed = {
        "object_type_id": "1",
        "filters": attr("plan", "eq", "basic"),
        "relationship": attr("role", "eq", "admin"),
    }
    assert not matches({"object": crossed}, person)


def test_object_relationship_time_rules():
    new_member = {
        "object": {"object_type_id": "1", "relationship": attr("since", "after", rel(7, "days", "ago"))}
    }
    person = FakePerson(objects={"1": [ACME, INITECH]})
    assert run(new_member, person) == Outcome(True, NOW + 6 * DAY)
    assert_flips_at(new_member, person, NOW + 6 * DAY)


def test_segment_membership():
    person = FakePerson(segments={"12"})
    assert run({"segment": {"id": "12", "operator": "in"}}, person) == Outcome(True, None)
    assert not matches({"segment": {"id": "13", "operator": "in"}}, person)
    assert not matches({"segment": {"id": "12", "operator": "not_in"}}, person)
    assert matches({"segment": {"id": "13", "operator": "not_in"}}, person)


def test_a_mixed_condition():
    person = FakePerson(
        attributes={"plan": "pro", "created_at": NOW - 10 * DAY},
        events=[ev(NOW - HOUR), ev(NOW - 2 * DAY)],
        devices=[IPHONE],
        segments={"12"},
    )
    data = {
        "and": [
            attr("created_at", "before", rel(7, "days", "ago")),
            {
                "or": [
                    {"segment": {"id": "12", "operator": "not_in"}},
                    event(timeframe=WEEK, count=count("at_least", 2)),
                ]
            },
            {"not": {"device": attr("platform", "eq", "android")}},
        ]
    }
    assert run(data, person) == Outcome(True, NOW - 2 * DAY + 7 * DAY + 1)


# --- never late: random conditions, every second simulated -----------------------------------------

HORIZON = 480  # seconds; every random time rule below flips well inside it


def random_time_rule(rng, field):
    operator = rng.choice(["before", "after"])
    return attr(field, operator, rel(rng.randint(0, 2), "minutes", rng.choice(["ago", "from_now"])))


def random_leaf(rng):
    kind = rng.randrange(4)
    if kind == 0:
        return random_time_rule(rng, rng.choice(["t0", "t1", "t2"]))
    if kind == 1:
        return attr("plan", "eq", rng.choice(["pro", "basic"]))
    if kind == 2:
        body = {
            "performed": rng.random() < 0.7,
            "count": count(rng.choice(["at_least", "at_most", "exactly"]), rng.randint(0, 3)),
            "timeframe": {"type": "within", "amount": rng.randint(1, 3), "unit": "minutes"},
        }
        if rng.random() < 0.5:
            body["filters"] = random_time_rule(rng, "t")
        return event(**body)
    return {"device": random_time_rule(rng, "last_used")}


def random_condition(rng, depth=0):
    if depth < 3 and rng.random() < 0.4:
        kind = rng.choice(["and", "or", "not"])
        if kind == "not":
            return {"not": random_condition(rng, depth + 1)}
        return {kind: [random_condition(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
    return random_leaf(rng)


def random_time(rng):
    return NOW + rng.randint(-240, 60) + rng.choice([0, 0, 0.5])


def random_person(rng):
    return FakePerson(
        attributes={"plan": "pro", **{f"t{i}": random_time(rng) for i in range(3)}},
        events=[ev(int(random_time(rng)), t=random_time(rng)) for _ in range(rng.randint(0, 5))],
        devices=[{"id": str(i), "last_used": random_time(rng)} for i in range(rng.randint(0, 2))],
    )


def test_recheck_is_never_later_than_the_first_flip():
    rng = random.Random(7)
    flips = 0
    for _ in range(300):
        condition, person = parse(random_condition(rng)), random_person(rng)
        outcome = evaluate(condition, person)
        assert outcome.recheck_at is None or outcome.recheck_at > NOW
        first_flip = next(
            (
                t
                for t in range(NOW + 1, NOW + HORIZON)
                if evaluate(condition, person.at(t)).matched != outcome.matched
            ),
            None,
        )
        if first_flip is not None:
            flips += 1
            assert outcome.recheck_at is not None and outcome.recheck_at <= first_flip, condition
    assert flips > 50  # the simulation exercised real flips
