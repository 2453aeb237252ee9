"""Execution names, the frequency rule, and the pure parts of triggers and broadcast requests."""

import re

import pytest

from nudge.campaigns import broadcasts, triggers
from nudge.campaigns.executions import (
    SKIP_INTERVAL,
    SKIP_ONCE,
    SKIP_RUNNING,
    STALE_CLAIM_SECONDS,
    History,
    execution_name,
    journey_key,
    refusal,
)
from nudge.errors import InvalidRequest

NOW = 1_760_000_000
ONCE = {"type": "once"}
EVERY = {"type": "every_match"}
DAY = {"type": "interval", "seconds": 86400}


# --- names -------------------------------------------------------------------------------------------


def test_names_are_deterministic_safe_and_short():
    name = execution_name("c1", "p1", "evt-01J")
    assert name == execution_name("c1", "p1", "evt-01J")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)
    assert name.startswith("c1-p1-")


@pytest.mark.parametrize(
    "other",
    [("c1", "p1", "evt-02"), ("c2", "p1", "evt-01"), ("c1", "p2", "evt-01"), ("c1-p1", "", "evt-01")],
)
def test_any_difference_gives_another_name(other):
    assert execution_name(*other) != execution_name("c1", "p1", "evt-01")


def test_long_and_odd_inputs_still_fit():
    name = execution_name("c" * 100, "p" * 100, "trigger with spaces/slashes:" + "x" * 500)
    assert len(name) <= 80 and re.fullmatch(r"[A-Za-z0-9_-]+", name)
    # The prefixes are cut, the hash still tells them apart.
    assert name != execution_name("c" * 100, "p" * 100, "trigger with spaces/slashes:" + "x" * 499)


# --- frequency ---------------------------------------------------------------------------------------


def test_a_first_trigger_always_enters():
    for frequency in (ONCE, EVERY, DAY):
        for trigger in ("event", "segment_entry", "attribute_change", "date_attribute"):
            assert refusal(frequency, trigger, History(), NOW) is None


def test_once_never_again_after_an_entry():
    entered = History(entries=1, last_entered_at=NOW - 10 * 86400, execution="e1", running=False)
    assert refusal(ONCE, "event", entered, NOW) == SKIP_ONCE
    assert refusal(EVERY, "event", entered, NOW) is None
    assert refusal(DAY, "event", entered, NOW) is None


def test_an_event_campaign_enters_again_while_a_journey_runs():
    # Customer.io: each matching event starts a journey of an event campaign that allows re-entry,
    # whatever the person's earlier journeys are doing.
    running = History(entries=1, last_entered_at=NOW - 5, execution="e1", running=True)
    assert refusal(EVERY, "event", running, NOW) is None
    assert refusal(DAY, "event", running, NOW + 86400) is None
    assert refusal(DAY, "event", running, NOW) == SKIP_INTERVAL  # the interval still holds
    assert refusal(ONCE, "event", running, NOW) == SKIP_ONCE


def test_other_triggers_wait_for_the_running_journey():
    running = History(entries=1, last_entered_at=NOW - 5, execution="e1", running=True)
    for trigger in ("segment_entry", "segment_exit", "attribute_change", "date_attribute"):
        assert refusal(EVERY, trigger, running, NOW) == SKIP_RUNNING
        assert refusal(DAY, trigger, running, NOW + 10 * 86400) == SKIP_RUNNING


def test_only_event_campaigns_that_allow_re_entry_run_journeys_side_by_side():
    assert journey_key("event", EVERY, "x") == "journey#x"
    assert journey_key("event", DAY, "x") == "journey#x"
    assert journey_key("event", ONCE, "x") == "journey"
    assert journey_key("segment_entry", EVERY, "x") == "journey"
    assert journey_key("api", EVERY, "x") == "journey"


def test_interval_after_seconds_since_the_last_entry():
    ended = History(entries=1, last_entered_at=NOW, execution="e1", running=False)
    assert refusal(DAY, "event", ended, NOW + 86399) == SKIP_INTERVAL
    assert refusal(DAY, "event", ended, NOW + 86400) is None


def test_a_pending_claim_counts_as_an_entry_until_stale():
    pending = History(claimed="e2", claimed_at=NOW)
    assert refusal(ONCE, "event", pending, NOW + 1) == SKIP_ONCE
    assert refusal(DAY, "event", pending, NOW + 1) == SKIP_INTERVAL
    assert refusal(EVERY, "segment_entry", pending, NOW + 1) == SKIP_RUNNING
    assert refusal(EVERY, "event", pending, NOW + 1) is None  # side by side
    # Its first Task ran: the journey names it, and it is judged by the journey.
    entered = History(
        entries=1, last_entered_at=NOW, execution="e2", running=False, claimed="e2", claimed_at=NOW
    )
    assert refusal(EVERY, "segment_entry", entered, NOW + 1) is None
    assert refusal(ONCE, "event", entered, NOW + 1) == SKIP_ONCE
    # A claim whose start never happened stops blocking.
    assert refusal(ONCE, "event", pending, NOW + STALE_CLAIM_SECONDS) is None
    assert refusal(EVERY, "segment_entry", pending, NOW + STALE_CLAIM_SECONDS) is None


def test_the_interval_counts_from_a_claim_too():
    claimed = History(
        entries=1, last_entered_at=NOW - 3 * 86400, execution="e2", claimed="e2", claimed_at=NOW
    )
    assert refusal(DAY, "event", claimed, NOW + 100) == SKIP_INTERVAL


def test_broadcasts_ignore_frequency_but_not_a_running_journey():
    entered = History(entries=3, last_entered_at=NOW, execution="e1", running=False)
    assert refusal(ONCE, "api", entered, NOW) is None
    assert refusal(ONCE, "broadcast", entered, NOW) is None
    assert refusal(ONCE, "api", History(entries=1, execution="e1", running=True), NOW) == SKIP_RUNNING


# --- trigger helpers ---------------------------------------------------------------------------------


def test_event_filters_are_an_event_conditions_filters_over_the_data():
    filters = {
        "and": [
            {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
            {"attribute": {"field": "amount", "operator": "gt", "value": 10}},
        ]
    }
    assert triggers.event_filters_match(filters, {"plan": "pro", "amount": "12"}, NOW)
    assert not triggers.event_filters_match(filters, {"plan": "pro", "amount": 5}, NOW)
    assert not triggers.event_filters_match(filters, {}, NOW)
    assert triggers.event_filters_match(None, {}, NOW)
    nested = {"attribute": {"field": "cart.total", "operator": "gte", "value": 100}}
    assert triggers.event_filters_match(nested, {"cart": {"total": 100}}, NOW)


def test_attribute_values_compare_as_conditions_do():
    assert triggers.value_equals("10", 10, NOW)
    assert triggers.value_equals(True, "true", NOW)
    assert not triggers.value_equals(None, "pro", NOW)
    assert not triggers.value_equals("free", "pro", NOW)


@pytest.mark.parametrize(
    ("value", "offset", "due"),
    [
        (NOW, 0, NOW),
        (NOW, -259200, NOW - 259200),
        (str(NOW), 60, NOW + 60),
        (NOW + 0.7, 0, NOW),
        ("soon", 0, None),
        (None, 0, None),
        (True, 0, None),
        (-5, 0, None),
        (10**13, 0, None),
        ({"a": 1}, 0, None),
    ],
)
def test_date_triggers_fire_at_the_timestamp_plus_the_offset(value, offset, due):
    assert triggers.due_at(value, {"offset_seconds": offset}) == due


def test_trigger_ids_are_stable_for_a_replayed_record():
    assert triggers.attribute_trigger_id("pro", 5) == triggers.attribute_trigger_id("pro", 5)
    assert triggers.attribute_trigger_id("pro", 5) != triggers.attribute_trigger_id("pro", 6)
    assert triggers.attribute_trigger_id("pro", 5) != triggers.attribute_trigger_id("free", 5)
    assert triggers.membership_trigger_id("segment_entry", 7) != triggers.membership_trigger_id(
        "segment_exit", 7
    )


# --- broadcast requests ------------------------------------------------------------------------------


def refused(body, field):
    with pytest.raises(InvalidRequest) as caught:
        broadcasts.parse_request("ws", body)
    assert caught.value.field == field, caught.value
    return str(caught.value)


def test_exactly_one_recipient_kind():
    refused({"data": {}}, "recipients")
    refused({"ids": ["a"], "emails": ["a@x.io"]}, "emails")
    refused({"data_file_url": "https://x"}, "data_file_url")


def test_lists_are_validated_entry_by_entry():
    refused({"ids": []}, "ids")
    refused({"ids": "a"}, "ids")
    refused({"ids": ["a", ""]}, "ids.1")
    refused({"ids": ["a", True]}, "ids.1")
    refused({"emails": ["a@x.io", "nope"]}, "emails.1")
    refused({"ids": [str(i) for i in range(broadcasts.MAX_RECIPIENTS + 1)]}, "ids")
    refused({"per_user_data": [{"id": "a", "email": "a@x.io"}]}, "per_user_data.0")
    refused({"per_user_data": [{"data": {}}]}, "per_user_data.0")
    refused({"per_user_data": [{"id": "a", "data": []}]}, "per_user_data.0.data")
    refused({"per_user_data": [{"id": "a", "extra": 1}]}, "per_user_data.0.extra")
    refused({"ids": ["a"], "data": "x"}, "data")
    refused({"ids": ["a"], "id_ignore_missing": "yes"}, "id_ignore_missing")


def test_the_body_is_capped():
    refused({"ids": ["x" * 140] * 2200}, "body")


def test_valid_lists_become_a_spec():
    assert broadcasts.parse_request("ws", {"ids": [1, "b"], "data": {"k": 1}}) == {
        "kind": "ids",
        "values": ["1", "b"],
        "data": {"k": 1},
        "id_ignore_missing": False,
        "email_ignore_missing": False,
    }
    spec = broadcasts.parse_request(
        "ws", {"per_user_data": [{"email": "a@x.io", "data": {"n": 2}}, {"id": "b"}]}
    )
    assert spec["kind"] == "per_user_data"
    assert spec["values"] == [{"email": "a@x.io", "data": {"n": 2}}, {"id": "b", "data": {}}]


def test_filters_are_segment_conditions_with_customerio_segment_nodes(monkeypatch):
    looked_up: list[tuple[str, str]] = []  # each segment a filter names must exist in the workspace
    monkeypatch.setattr(
        broadcasts, "_known_segment", lambda ws, segment_id: looked_up.append((ws, segment_id))
    )
    spec = broadcasts.parse_request(
        "ws",
        {
            "recipients": {
                "and": [
                    {"segment": {"id": 7}},
                    {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
                ]
            }
        },
    )
    assert spec["kind"] == "filter"
    assert spec["condition"]["and"][0] == {"segment": {"id": "7", "operator": "in"}}
    assert looked_up == [("ws", "7")]
    message = refused(
        {"recipients": {"and": [{"attribute": {"field": "plan", "operator": "nope"}}]}},
        "recipients.and[0].attribute.operator",
    )
    assert "recipients.and[0].attribute.operator" in message
