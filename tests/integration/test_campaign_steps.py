"""The campaign steps (the campaigns function's actions) with hand-built payloads, as the compiled state
machines would send them, against the mocked tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from pynamodb.exceptions import PutError

from functions.campaigns import handler as campaigns_handler
from nudge import clock
from nudge.campaigns import compiler, journeys, metrics, steps
from nudge.delivery import records, template_store
from nudge.segments import definitions
from nudge.tracking import segments
from nudge_tools.local.stepfunctions import LambdaContext
from tests.support.deliveries import cio_id, delivery
from tests.support.people import profile

CAMPAIGN = "7"
PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
MONDAY_NOON_UTC = int(datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def ann(track: Any, ws: str) -> str:
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "plan": "pro"}).status == 200
    return cio_id(ws, "ann")


def payload(
    ws: str,
    person: str,
    action: str,
    block: str | None = "b1",
    *,
    execution: str = "exec-1",
    entered_at: int | None = None,
    trigger: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    return {
        "action": action,
        "workspace_id": ws,
        "campaign_id": CAMPAIGN,
        "cio_id": person,
        "execution": execution,
        "entered_at": clock.now() if entered_at is None else entered_at,
        "trigger": trigger or {},
        "version": 1,
        "block": block,
        **params,
    }


def check_payload(
    ws: str, person: str, *, exit: str, goal: Any = None, filters: Any = None, **kw: Any
) -> dict:
    settings = {"exit": exit, "goal_window_seconds": 3600}
    return payload(ws, person, "check", "b2", filters=filters, goal=goal, settings=settings, **kw)


# -- send -----------------------------------------------------------------------------------------------


@pytest.fixture
def welcome(ws: str) -> str:
    return template_store.create(
        ws, {"name": "Welcome", "channel": "email", "subject": "Hi {{ event.plan }}", "body": "<p>Hi</p>"}
    ).id


def send_payload(ws: str, person: str, template_id: str, **kw: Any) -> dict[str, Any]:
    params = {"channel": "email", "template_id": template_id, "campaign_name": "Welcome", "topic": None}
    return payload(ws, person, "send", **{**params, **kw})


def test_send_queues_one_delivery_however_often_the_task_runs(
    ws: str, ann: str, welcome: str, deliver: Any, channels: Any
) -> None:
    event = send_payload(
        ws,
        ann,
        welcome,
        trigger={"type": "event", "name": "signed_up", "data": {"plan": "pro"}},
        topic="news",
    )

    first = steps.send(event)
    again = steps.send(event)  # Step Functions retried the Task

    assert first["delivery_id"] == again["delivery_id"] == records.stable_id(ws, CAMPAIGN, "exec-1", "b1")
    assert (first["created"], again["created"]) == (True, False)
    queued = delivery(ws, first["delivery_id"])
    assert (queued.source, queued.campaign_id, queued.template_id, queued.channel) == (
        "campaign",
        CAMPAIGN,
        welcome,
        "email",
    )
    assert records.request_of(queued) == {
        "campaign": {"id": CAMPAIGN, "name": "Welcome", "block": "b1"},
        "event": {"plan": "pro"},
        "topic": "news",
    }
    counts = metrics.read(ws, CAMPAIGN)
    assert counts["blocks"]["b1"]["sent"] == 1
    assert counts["campaign"]["sent"] == 1
    assert deliver(first["delivery_id"]).state == "sent"
    assert channels.email.sent[0].subject == "Hi pro"


def test_an_api_trigger_s_data_reaches_templates_as_trigger(ws: str, ann: str, welcome: str) -> None:
    sent = steps.send(send_payload(ws, ann, welcome, trigger={"type": "api", "data": {"coupon": "X1"}}))

    request = records.request_of(delivery(ws, sent["delivery_id"]))
    assert request["message_data"] == {"coupon": "X1"}
    assert "event" not in request


def test_each_visit_of_a_send_on_a_cycle_is_its_own_message(ws: str, ann: str, welcome: str) -> None:
    first = steps.send(send_payload(ws, ann, welcome, visit="2026-01-05T12:00:00.000Z"))
    second = steps.send(send_payload(ws, ann, welcome, visit="2026-01-06T12:00:00.000Z"))

    assert first["delivery_id"] != second["delivery_id"]
    assert metrics.read(ws, CAMPAIGN)["blocks"]["b1"]["sent"] == 2


def test_send_skips_a_person_who_no_longer_matches_the_filters(
    ws: str, ann: str, welcome: str, track: Any
) -> None:
    track.put("/api/v1/customers/ann", {"plan": "free"})

    answer = steps.send(send_payload(ws, ann, welcome, filters=PRO))

    assert answer == {"queued": False, "skipped": "unmatched"}
    assert records.load(ws, records.stable_id(ws, CAMPAIGN, "exec-1", "b1")) is None
    assert "b1" not in metrics.read(ws, CAMPAIGN)["blocks"]


# -- check ----------------------------------------------------------------------------------------------


def _journey_entered(ws: str, person: str, entered_at: int, execution: str = "exec-1") -> None:
    assert steps.enter(payload(ws, person, "enter", None, execution=execution, entered_at=entered_at))[
        "entered"
    ]


def test_check_converts_on_the_goal_event_once_and_exits_on_goal(ws: str, ann: str, track: Any) -> None:
    entered_at = clock.now() - 60
    _journey_entered(ws, ann, entered_at)
    track.post("/api/v1/customers/ann/events", {"name": "purchased"})
    event = check_payload(ws, ann, exit="on_goal", goal={"event": "purchased"}, entered_at=entered_at)

    assert steps.check(event) == {"exit": True, "reason": "converted", "block": "b2"}
    assert steps.check(event)["exit"] is True  # a retry
    journey = journeys.load(ws, CAMPAIGN, ann)
    assert journey is not None and journey.converted is True
    counts = metrics.read(ws, CAMPAIGN)
    assert counts["campaign"]["converted"] == 1
    assert counts["blocks"]["b2"]["converted"] == 1


def test_a_goal_met_counts_but_does_not_exit_unless_the_campaign_exits_on_goal(
    ws: str, ann: str, track: Any
) -> None:
    entered_at = clock.now() - 60
    _journey_entered(ws, ann, entered_at)
    track.post("/api/v1/customers/ann/events", {"name": "purchased"})

    answer = steps.check(
        check_payload(ws, ann, exit="at_end", goal={"event": "purchased"}, entered_at=entered_at)
    )

    assert answer["exit"] is False
    assert metrics.read(ws, CAMPAIGN)["campaign"]["converted"] == 1


def test_a_goal_event_before_the_entry_or_after_the_window_does_not_convert(
    ws: str, ann: str, track: Any
) -> None:
    now = clock.now()
    entered_at = now - 7200  # the window (an hour) closed an hour ago
    _journey_entered(ws, ann, entered_at)
    track.post("/api/v1/customers/ann/events", {"name": "purchased", "timestamp": entered_at - 10})
    track.post("/api/v1/customers/ann/events", {"name": "purchased", "timestamp": now})

    answer = steps.check(
        check_payload(ws, ann, exit="on_goal", goal={"event": "purchased"}, entered_at=entered_at)
    )

    assert answer == {"exit": False, "reason": "", "block": "b2"}
    assert metrics.read(ws, CAMPAIGN)["campaign"]["converted"] == 0


def test_joining_the_goal_segment_converts(ws: str, ann: str) -> None:
    goal_segment = definitions.create_manual_segment(ws, "Paying")
    _journey_entered(ws, ann, clock.now())
    event = check_payload(ws, ann, exit="on_goal", goal={"segment_id": goal_segment})
    assert steps.check(event)["exit"] is False

    segments.add_customers(ws, goal_segment, {"ids": [ann]}, "cio_id")

    assert steps.check(event) == {"exit": True, "reason": "converted", "block": "b2"}


def test_check_exits_a_person_who_stopped_matching_only_when_the_campaign_says_so(
    ws: str, ann: str, track: Any
) -> None:
    _journey_entered(ws, ann, clock.now())
    assert steps.check(check_payload(ws, ann, exit="when_unmatched", filters=PRO))["exit"] is False

    track.put("/api/v1/customers/ann", {"plan": "free"})

    assert steps.check(check_payload(ws, ann, exit="when_unmatched", filters=PRO)) == {
        "exit": True,
        "reason": "unmatched",
        "block": "b2",
    }
    assert steps.check(check_payload(ws, ann, exit="at_end", filters=PRO))["exit"] is False


def test_check_exits_a_person_deleted_meanwhile(ws: str, ann: str, track: Any) -> None:
    track.delete("/api/v1/customers/ann")

    assert steps.check(check_payload(ws, ann, exit="at_end"))["reason"] == "missing"


# -- choosing -------------------------------------------------------------------------------------------


def test_condition_and_split(ws: str, ann: str) -> None:
    free = {"attribute": {"field": "plan", "operator": "eq", "value": "free"}}

    assert steps.condition(payload(ws, ann, "condition", condition=PRO)) == {"matched": True}
    assert steps.condition(payload(ws, ann, "condition", condition=free, poll=3)) == {
        "matched": False,
        "poll": 3,
    }
    assert steps.split(payload(ws, ann, "split", conditions=[free, PRO, PRO])) == {"branch": 1}
    assert steps.split(payload(ws, ann, "split", conditions=[free])) == {"branch": -1}
    assert steps.condition(payload(ws, "nobody", "condition", condition=PRO)) == {"matched": False}


def test_cohorts_are_deterministic_and_roughly_proportional(ws: str, ann: str) -> None:
    event = payload(ws, ann, "cohort", percents=[20, 30, 50])
    assert steps.cohort(event) == steps.cohort(event)
    assert steps.cohort(event)["branch"] == steps.cohort_of(CAMPAIGN, "b1", ann, [20, 30, 50])

    tally = [0, 0, 0]
    for n in range(1000):
        tally[steps.cohort_of(CAMPAIGN, "b1", f"person-{n}", [20, 30, 50])] += 1

    assert 150 <= tally[0] <= 250
    assert 250 <= tally[1] <= 350
    assert 440 <= tally[2] <= 560
    # Another block splits the same people independently.
    other = [steps.cohort_of(CAMPAIGN, "b9", f"person-{n}", [50, 50]) for n in range(200)]
    same = [steps.cohort_of(CAMPAIGN, "b1", f"person-{n}", [50, 50]) for n in range(200)]
    assert other != same


# -- time windows ---------------------------------------------------------------------------------------


@pytest.fixture
def monday_noon(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(clock, "now", lambda: MONDAY_NOON_UTC)
    return MONDAY_NOON_UTC


def window_payload(ws: str, person: str, **kw: Any) -> dict[str, Any]:
    return payload(
        ws, person, "window", **{"hours": [9, 17], "days": ["mon", "tue"], "timezone": "UTC", **kw}
    )


def test_window_waits_until_it_opens_in_the_person_s_timezone(
    ws: str, ann: str, track: Any, monday_noon: int
) -> None:
    track.put("/api/v1/customers/ann", {"timezone": "America/New_York"})  # 07:00 there

    assert steps.window(window_payload(ws, ann)) == {"wait_seconds": 2 * 3600}


def test_window_open_now_waits_nothing_and_falls_back_to_the_campaign_timezone(
    ws: str, ann: str, track: Any, monday_noon: int
) -> None:
    assert steps.window(window_payload(ws, ann, timezone="Europe/Berlin")) == {"wait_seconds": 0}  # 13:00
    track.put("/api/v1/customers/ann", {"timezone": "Not/AZone"})
    # 21:00 in Tokyo: Tuesday 09:00 there is 12 hours away.
    assert steps.window(window_payload(ws, ann, timezone="Asia/Tokyo")) == {"wait_seconds": 12 * 3600}


def test_window_skips_to_the_next_allowed_day(ws: str, ann: str, monday_noon: int) -> None:
    answer = steps.window(window_payload(ws, ann, hours=[9, 10], days=["wed"]))

    assert answer == {"wait_seconds": (2 * 24 - 3) * 3600}  # Monday 12:00 -> Wednesday 09:00 UTC


def test_window_answers_real_seconds_under_a_scaled_clock(
    ws: str, ann: str, monday_noon: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "_scale", 3600.0)  # an hour passes in a second

    assert steps.window(window_payload(ws, ann, hours=[14, 15])) == {"wait_seconds": 2}
    assert (clock.real_seconds(0), clock.real_seconds(1), clock.real_seconds(3601)) == (0, 1, 2)  # up


def test_window_across_a_daylight_saving_change() -> None:
    from zoneinfo import ZoneInfo

    # Saturday 2026-03-28 12:00 in Berlin (UTC+1); clocks go forward on Sunday at 02:00.
    saturday_noon = int(datetime(2026, 3, 28, 11, 0, tzinfo=UTC).timestamp())
    wait = steps.seconds_until_open(saturday_noon, ZoneInfo("Europe/Berlin"), [9, 17], ["mon"])

    assert wait == (24 + 12 + 9 - 1) * 3600  # to Monday 09:00 local, one hour lost on Sunday


# -- changes to the person ------------------------------------------------------------------------------


def test_set_attribute_identifies_the_person(ws: str, ann: str) -> None:
    event = payload(ws, ann, "set_attribute", attribute="onboarded", value_json='{"at": 5}')

    assert steps.set_attribute(event) == {"set": True}
    assert steps.set_attribute(event) == {"set": True}
    found = profile(ws, "ann")
    assert found is not None and found["attributes"]["onboarded"] == {"at": 5}


def test_set_attribute_on_a_deleted_person_changes_nothing(ws: str, ann: str, track: Any) -> None:
    track.delete("/api/v1/customers/ann")

    assert steps.set_attribute(payload(ws, ann, "set_attribute", attribute="x", value_json="1")) == {
        "set": False
    }
    assert profile(ws, "ann") is None


def test_segment_adds_and_removes_the_person(ws: str, ann: str) -> None:
    manual = definitions.create_manual_segment(ws, "Onboarded")

    steps.segment(payload(ws, ann, "segment", operation="add", segment_id=manual))
    steps.segment(payload(ws, ann, "segment", operation="add", segment_id=manual))
    assert segments.members(ws, manual) == [ann]

    steps.segment(payload(ws, ann, "segment", operation="remove", segment_id=manual))
    steps.segment(payload(ws, ann, "segment", operation="remove", segment_id=manual))
    assert segments.members(ws, manual) == []


# -- journeys and metrics -------------------------------------------------------------------------------


def test_entries_count_once_per_execution_and_ends_once(ws: str, ann: str) -> None:
    at = clock.now()
    enter = payload(ws, ann, "enter", None, entered_at=at)

    assert steps.enter(enter) == {"entered": True}
    assert steps.enter(enter) == {"entered": False}  # a retry
    journey = journeys.load(ws, CAMPAIGN, ann)
    assert journey is not None
    assert (journey.entries, journey.running, journey.execution, journey.last_entered_at) == (
        1,
        True,
        "exec-1",
        at,
    )
    assert metrics.read(ws, CAMPAIGN)["campaign"]["in_progress"] == 1

    end = payload(ws, ann, "end", None, outcome="completed")
    assert steps.end(end) == {"outcome": "completed", "ended": True}
    assert steps.end(end)["ended"] is False
    assert journeys.load(ws, CAMPAIGN, ann).running is False  # type: ignore[union-attr]

    steps.enter(payload(ws, ann, "enter", None, execution="exec-2"))
    steps.end(payload(ws, ann, "end", "b9", execution="exec-2", outcome="exited"))
    # A late end of the first execution changes nothing.
    assert steps.end(payload(ws, ann, "end", None, outcome="failed"))["ended"] is False

    journey = journeys.load(ws, CAMPAIGN, ann)
    assert journey is not None and (journey.entries, journey.execution) == (2, "exec-2")
    counts = metrics.read(ws, CAMPAIGN)
    assert {
        k: counts["campaign"][k] for k in ("entered", "completed", "exited", "failed", "in_progress")
    } == {
        "entered": 2,
        "completed": 1,
        "exited": 1,
        "failed": 0,
        "in_progress": 0,
    }
    assert counts["blocks"]["b9"] == {"exited": 1}


def test_a_new_entry_clears_the_previous_conversion(ws: str, ann: str) -> None:
    journeys.entered(ws, CAMPAIGN, ann, "exec-1", 100)
    assert journeys.mark_converted(ws, CAMPAIGN, ann, "exec-1")
    assert not journeys.mark_converted(ws, CAMPAIGN, ann, "exec-1")
    assert not journeys.mark_converted(ws, CAMPAIGN, ann, "other")

    journeys.entered(ws, CAMPAIGN, ann, "exec-2", 200)

    journey = journeys.load(ws, CAMPAIGN, ann)
    assert journey is not None and journey.converted is False
    assert journeys.load(ws, CAMPAIGN, "someone-else") is None


def test_metrics_sum_their_shards(ws: str) -> None:
    for n in range(40):
        metrics.increment(ws, CAMPAIGN, None, "entered", shard_key=f"p{n}")
    metrics.increment(ws, CAMPAIGN, None, "completed", 5)
    metrics.from_delivery(ws, CAMPAIGN, "b1", "opened")
    metrics.from_delivery(ws, CAMPAIGN, "b1", "opened")
    metrics.from_delivery(ws, CAMPAIGN, None, "bounced")

    counts = metrics.read(ws, CAMPAIGN)

    assert counts["campaign"]["entered"] == 40
    assert counts["campaign"]["in_progress"] == 35
    assert counts["campaign"]["opened"] == 2
    assert counts["campaign"]["bounced"] == 1
    assert counts["blocks"] == {"b1": {"opened": 2}}
    assert metrics.read(ws, "another")["campaign"]["entered"] == 0


# -- the handler ----------------------------------------------------------------------------------------


def _context() -> LambdaContext:
    return LambdaContext("nudge-campaigns", "arn:aws:lambda:us-east-1:123456789012:function:x", 512)


def test_the_handler_dispatches_on_the_action(ws: str, ann: str) -> None:
    answer = campaigns_handler.handler(payload(ws, ann, "condition", condition=PRO), _context())

    assert answer == {"matched": True}


def test_the_handler_refuses_an_unknown_action(ws: str, ann: str) -> None:
    with pytest.raises(steps.UnknownAction):
        campaigns_handler.handler(payload(ws, ann, "teleport"), _context())


# -- waiting --------------------------------------------------------------------------------------------


def waiting(ws: str) -> tuple[int, dict[str, int]]:
    """The campaign's waiting count, and each block's that has one."""
    counts = metrics.read(ws, CAMPAIGN)
    blocks = {block: c["waiting"] for block, c in counts["blocks"].items() if "waiting" in c}
    return counts["campaign"]["waiting"], blocks


def test_waiting_is_0_when_nobody_ever_waited(ws: str, ann: str) -> None:
    _journey_entered(ws, ann, clock.now())

    assert waiting(ws) == (0, {})


def test_the_step_before_a_delay_counts_the_person_in_once_and_the_check_counts_them_out_once(
    ws: str, ann: str, welcome: str
) -> None:
    _journey_entered(ws, ann, clock.now())
    send = send_payload(ws, ann, welcome, waits={"next": "b2"})

    steps.send(send)
    steps.send(send)  # Step Functions retried the Task
    assert waiting(ws) == (1, {"b2": 1})
    assert metrics.waiting_at(ws, CAMPAIGN, ann) == ("exec-1", "b2")

    check = check_payload(ws, ann, exit="at_end")
    assert steps.check(check)["exit"] is False
    steps.check(check)  # a retry
    assert waiting(ws) == (0, {"b2": 0})
    assert metrics.waiting_at(ws, CAMPAIGN, ann) == ("exec-1", None)


def test_a_check_moves_the_person_into_the_next_delay_unless_they_exit(ws: str, ann: str, track: Any) -> None:
    _journey_entered(ws, ann, clock.now())
    steps.enter(payload(ws, ann, "enter", None, waits={"next": "b2"}))  # a retried enter, into a delay
    assert waiting(ws) == (1, {"b2": 1})

    check = check_payload(ws, ann, exit="when_unmatched", filters=PRO, waits={"next": "b3"})
    steps.check(check)
    steps.check(check)
    assert waiting(ws) == (1, {"b2": 0, "b3": 1})

    track.put("/api/v1/customers/ann", {"plan": "free"})
    leave = check_payload(ws, ann, exit="when_unmatched", filters=PRO, waits={"next": "b5"})
    leave["block"] = "b3"
    assert steps.check(leave)["exit"] is True
    assert waiting(ws) == (0, {"b2": 0, "b3": 0})  # exiting: not into b5


def test_routing_steps_count_the_person_in_at_the_delay_their_branch_leads_to(ws: str, ann: str) -> None:
    free = {"attribute": {"field": "plan", "operator": "eq", "value": "free"}}
    _journey_entered(ws, ann, clock.now())

    steps.condition(payload(ws, ann, "condition", condition=free, waits={"true": "d1"}))
    assert waiting(ws) == (0, {})  # false leads elsewhere

    steps.condition(payload(ws, ann, "condition", condition=PRO, waits={"true": "d1", "false": "d2"}))
    assert waiting(ws) == (1, {"d1": 1})
    steps.check(check_payload(ws, ann, exit="at_end") | {"block": "d1"})

    steps.split(payload(ws, ann, "split", conditions=[free, PRO], waits={"0": "d1", "1": "d2"}))
    assert waiting(ws) == (1, {"d1": 0, "d2": 1})
    steps.check(check_payload(ws, ann, exit="at_end") | {"block": "d2"})

    steps.split(payload(ws, ann, "split", conditions=[free], waits={"default": "d3"}))
    assert waiting(ws) == (1, {"d1": 0, "d2": 0, "d3": 1})
    steps.check(check_payload(ws, ann, exit="at_end") | {"block": "d3"})

    branch = steps.cohort_of(CAMPAIGN, "b1", ann, [50, 50])
    steps.cohort(payload(ws, ann, "cohort", percents=[50, 50], waits={str(branch): "d4"}))
    assert waiting(ws) == (1, {"d1": 0, "d2": 0, "d3": 0, "d4": 1})


def test_a_wait_until_counts_from_its_first_unmatched_poll_not_on_every_poll(ws: str, ann: str) -> None:
    enterprise = {"attribute": {"field": "plan", "operator": "eq", "value": "enterprise"}}
    _journey_entered(ws, ann, clock.now())
    poll = payload(ws, ann, "condition", condition=enterprise, waits={"false": "b1"})

    steps.condition(poll | {"poll": 1})
    steps.condition(poll | {"poll": 1})  # a retry
    steps.condition(poll | {"poll": 2})
    steps.condition(poll | {"poll": 3})
    assert waiting(ws) == (1, {"b1": 1})

    # Timed out (or matched at a later poll): the check after it counts the person out.
    steps.check(check_payload(ws, ann, exit="at_end") | {"block": "b1"})
    assert waiting(ws) == (0, {"b1": 0})


def test_a_wait_until_already_true_waits_for_nothing(ws: str, ann: str) -> None:
    _journey_entered(ws, ann, clock.now())

    steps.condition(payload(ws, ann, "condition", condition=PRO, poll=1, waits={"false": "b1", "true": "d2"}))

    assert waiting(ws) == (1, {"d2": 1})  # straight on, into the delay after it


def test_a_closed_window_counts_the_person_in_and_an_open_one_does_not(
    ws: str, ann: str, monday_noon: int
) -> None:
    _journey_entered(ws, ann, clock.now())

    assert steps.window(window_payload(ws, ann, waits={"wait": "b1"}))["wait_seconds"] == 0  # open
    assert waiting(ws) == (0, {})

    closed = window_payload(ws, ann, hours=[14, 15], waits={"wait": "b1"})
    assert steps.window(closed)["wait_seconds"] == 2 * 3600
    steps.window(closed)  # a retry
    assert waiting(ws) == (1, {"b1": 1})


def test_a_journey_that_ends_while_waiting_leaves_no_count_behind(ws: str, ann: str, welcome: str) -> None:
    _journey_entered(ws, ann, clock.now())
    steps.send(send_payload(ws, ann, welcome, waits={"next": "b2"}))
    assert waiting(ws) == (1, {"b2": 1})

    failed = payload(ws, ann, "end", None, outcome="failed", error={"Error": "Boom"})
    assert steps.end(failed)["ended"] is True
    steps.end(failed)  # a retry

    assert waiting(ws) == (0, {"b2": 0})
    assert metrics.read(ws, CAMPAIGN)["campaign"]["failed"] == 1


def test_a_late_step_of_an_earlier_execution_counts_nothing(ws: str, ann: str, welcome: str) -> None:
    _journey_entered(ws, ann, clock.now())
    steps.end(payload(ws, ann, "end", None, outcome="completed"))
    _journey_entered(ws, ann, clock.now(), execution="exec-2")

    steps.send(send_payload(ws, ann, welcome, waits={"next": "b2"}))  # exec-1
    assert waiting(ws) == (0, {})

    steps.send(send_payload(ws, ann, welcome, execution="exec-2", waits={"next": "b2"}))
    steps.check(check_payload(ws, ann, exit="at_end"))  # exec-1's check: not its journey any more
    assert waiting(ws) == (1, {"b2": 1})


def test_a_mark_found_elsewhere_is_moved_from_where_it_is(ws: str, ann: str) -> None:
    _journey_entered(ws, ann, clock.now())
    assert metrics.move_waiting(ws, CAMPAIGN, ann, "exec-1", None, "b2")

    # The step expected the person at no wait (the count into b2 was not its doing): out of b2, into b3.
    assert metrics.move_waiting(ws, CAMPAIGN, ann, "exec-1", None, "b3")
    assert not metrics.move_waiting(ws, CAMPAIGN, ann, "exec-1", None, "b3")  # already there

    assert waiting(ws) == (1, {"b2": 0, "b3": 1})
    assert not metrics.move_waiting(ws, CAMPAIGN, "nobody", "exec-1", None, "b3")  # no journey


# -- storage errors ---------------------------------------------------------------------------------------


def _dynamodb_error(code: str, status: int) -> PutError:
    answer: Any = {"Error": {"Code": code, "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return PutError("failed", ClientError(answer, "PutItem"))


@pytest.mark.parametrize(
    "error",
    [
        _dynamodb_error("ProvisionedThroughputExceededException", 400),
        _dynamodb_error("InternalServerError", 500),
        PutError("failed", ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")),
    ],
)
def test_a_transient_storage_error_in_a_step_is_raised_as_the_error_the_machine_retries(
    ws: str, ann: str, welcome: str, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    def throttled(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(records, "queue", throttled)

    with pytest.raises(steps.TransientStorageError, match="campaign step send") as raised:
        campaigns_handler.handler(send_payload(ws, ann, welcome), _context())
    assert type(raised.value).__name__ == compiler.TRANSIENT_STORAGE_ERROR


def test_a_storage_refusal_in_a_step_is_not_retried(
    ws: str, ann: str, welcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = _dynamodb_error("ValidationException", 400)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise refused

    monkeypatch.setattr(records, "queue", refuse)

    with pytest.raises(PutError) as raised:
        steps.run(send_payload(ws, ann, welcome))
    assert raised.value is refused
