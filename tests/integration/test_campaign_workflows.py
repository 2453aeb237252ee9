"""Compiled campaign workflows executed end to end on moto's Step Functions engine, each Task answered by
the real campaigns handler in this process, against the test's mocked tables.

Waits sleep in real time on moto, so the definitions here wait one or two seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from nudge import clock
from nudge.campaigns import compiler, journeys, metrics, steps
from nudge.delivery import records, template_store
from nudge.model.deliveries import DeliveriesItem, Delivery
from tests.support.campaign_workflows import CampaignEngine, campaign_engine, definition
from tests.support.deliveries import cio_id

PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
CAMPAIGN = "7"


@pytest.fixture
def engine(account: None) -> Iterator[CampaignEngine]:
    with campaign_engine() as running:
        yield running


@pytest.fixture
def ann(track: Any, ws: str) -> str:
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "plan": "pro"}).status == 200
    return cio_id(ws, "ann")


@pytest.fixture
def templates(ws: str) -> dict[str, str]:
    return {
        name: template_store.create(
            ws,
            {
                "name": name,
                "channel": "email",
                "subject": f"{name} {{{{ event.plan }}}}",
                "body": "<p>Hi</p>",
            },
        ).id
        for name in ("welcome", "tips", "nudge")
    }


def _send(template_id: str, next_block: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "send", "channel": "email", "template_id": template_id}
    if next_block:
        block["next"] = next_block
    return block


def _deliveries(ws: str, person: str) -> list[Delivery]:
    """The person's deliveries, oldest first (read in full: the index projects only some fields)."""
    found = [
        records.load(ws, d.delivery_id)
        for d in DeliveriesItem.by_person.query(records.person_key(ws, person))
    ]
    return sorted((d for d in found if d is not None), key=lambda d: (d.created_at, d.created_key))


def _execution_name(execution_arn: str) -> str:
    return execution_arn.rsplit(":", 1)[-1]


def _journey(ws: str, person: str) -> Any:
    found = journeys.load(ws, CAMPAIGN, person)
    assert found is not None
    return found


def _welcome_delay_tips(templates: dict[str, str], seconds: int) -> dict[str, Any]:
    """The journey most tests need: send welcome -> delay -> send tips."""
    return {
        "b1": _send(templates["welcome"], "b2"),
        "b2": {"type": "delay", "seconds": seconds, "next": "b3"},
        "b3": _send(templates["tips"]),
    }


def test_send_delay_branch_send_runs_end_to_end(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str], deliver: Any, channels: Any
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": _send(templates["welcome"], "b2"),
                "b2": {"type": "delay", "seconds": 1, "next": "b3"},
                "b3": {"type": "branch", "condition": PRO, "true": "b4", "false": "b5"},
                "b4": _send(templates["tips"]),
                "b5": _send(templates["nudge"]),
            }
        ),
    )

    execution = engine.start(
        machine, ws, CAMPAIGN, ann, trigger={"type": "event", "name": "signed_up", "data": {"plan": "pro"}}
    )
    described = engine.finished(execution)

    assert described["status"] == "SUCCEEDED", described
    queued = _deliveries(ws, ann)
    assert [d.template_id for d in queued] == [templates["welcome"], templates["tips"]]
    name = _execution_name(execution)
    assert queued[0].delivery_id == records.stable_id(ws, CAMPAIGN, name, "b1")
    request = records.request_of(queued[0])
    assert request["campaign"] == {"id": CAMPAIGN, "name": "Test campaign", "block": "b1"}
    assert request["event"] == {"plan": "pro"}
    assert deliver(queued[0].delivery_id).state == "sent"
    assert channels.email.sent[0].subject == "welcome pro"

    assert engine.entered(execution) == [
        "journey.enter",
        "block.b1",
        "block.b2",
        "block.b2.check",
        "block.b2.checked",
        "block.b3",
        "block.b3.route",
        "block.b4",
        "journey.completed",
        "journey.done",
    ]
    journey = _journey(ws, ann)
    assert (journey.entries, journey.running, journey.execution) == (1, False, name)
    counts = metrics.read(ws, CAMPAIGN)
    assert counts["campaign"]["entered"] == 1
    assert counts["campaign"]["completed"] == 1
    assert counts["campaign"]["sent"] == 2
    assert counts["campaign"]["in_progress"] == 0
    assert counts["blocks"]["b1"]["sent"] == counts["blocks"]["b4"]["sent"] == 1


def test_linear_send_delay_send_passes_eight_states(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    # The cost unit of a Standard workflow is the state transition. send -> delay -> send enters 8 states
    # (enter, send, wait, check, checked, send, end, succeed): about 8 transitions per person, $0.0002 at
    # $0.025 per 1,000, the same whether the delay is one second or one day. Each further message after
    # a delay adds 4 (wait, check, checked, send); one without a delay adds 1.
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(_welcome_delay_tips(templates, 1)),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)
    assert engine.finished(execution)["status"] == "SUCCEEDED"

    assert len(engine.entered(execution)) == 8
    assert engine.actions(_execution_name(execution)) == [
        ("enter", None),
        ("send", "b1"),
        ("check", "b2"),
        ("send", "b3"),
        ("end", None),
    ]


def test_an_exit_block_ends_the_journey_as_exited(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {"type": "branch", "condition": PRO, "true": "b2", "false": "b3"},
                "b2": {"type": "exit"},
                "b3": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert _deliveries(ws, ann) == []
    assert engine.entered(execution)[-2:] == ["block.b2", "journey.done"]
    counts = metrics.read(ws, CAMPAIGN)
    assert counts["campaign"]["exited"] == 1
    assert counts["blocks"]["b2"]["exited"] == 1
    assert counts["campaign"]["in_progress"] == 0


@pytest.mark.parametrize("on_timeout", ["continue", "exit"])
def test_wait_until_times_out_then_continues_or_exits(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str], on_timeout: str
) -> None:
    never = {"attribute": {"field": "plan", "operator": "eq", "value": "enterprise"}}
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {
                    "type": "wait_until",
                    "condition": never,
                    "max_seconds": 2,
                    "poll_seconds": 1,
                    "on_timeout": on_timeout,
                    "next": "b2",
                },
                "b2": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    entered = engine.entered(execution)
    assert entered.count("block.b1.poll") == 3  # at once, then after each of the two waits
    assert entered.count("block.b1.wait") == 2
    if on_timeout == "continue":
        assert [d.template_id for d in _deliveries(ws, ann)] == [templates["welcome"]]
        assert entered[-5:] == [
            "block.b1.check",
            "block.b1.checked",
            "block.b2",
            "journey.completed",
            "journey.done",
        ]
    else:
        assert _deliveries(ws, ann) == []
        assert entered[-2:] == ["block.b1.timeout", "journey.done"]
        assert metrics.read(ws, CAMPAIGN)["blocks"]["b1"]["exited"] == 1


def test_wait_until_goes_on_once_the_condition_holds(
    engine: CampaignEngine, ws: str, ann: str, track: Any, templates: dict[str, str]
) -> None:
    enterprise = {"attribute": {"field": "plan", "operator": "eq", "value": "enterprise"}}
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {"type": "wait_until", "condition": enterprise, "poll_seconds": 1, "next": "b2"},
                "b2": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)
    time.sleep(1.5)
    assert engine.sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"  # no max: waits
    track.put("/api/v1/customers/ann", {"plan": "enterprise"})

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert [d.template_id for d in _deliveries(ws, ann)] == [templates["welcome"]]


def test_wait_until_already_true_goes_straight_on(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {
                    "type": "wait_until",
                    "condition": PRO,
                    "max_seconds": 60,
                    "poll_seconds": 30,
                    "next": "b2",
                },
                "b2": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert engine.entered(execution)[:5] == [
        "journey.enter",
        "block.b1",
        "block.b1.poll",
        "block.b1.polled",
        "block.b2",
    ]


def test_a_goal_met_during_a_delay_converts_and_exits(
    engine: CampaignEngine, ws: str, ann: str, track: Any, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            _welcome_delay_tips(templates, 2),
            exit="on_goal",
            goal={"event": "purchased"},
        ),
    )
    entered_at = clock.now() - 10

    execution = engine.start(machine, ws, CAMPAIGN, ann, entered_at=entered_at)
    _until(lambda: len(_deliveries(ws, ann)) == 1)
    assert track.post("/api/v1/customers/ann/events", {"name": "purchased"}).status == 200

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert [d.template_id for d in _deliveries(ws, ann)] == [templates["welcome"]]
    assert engine.entered(execution)[-3:] == ["block.b2.checked", "journey.converted", "journey.done"]
    assert _journey(ws, ann).converted is True
    counts = metrics.read(ws, CAMPAIGN)
    assert counts["campaign"]["converted"] == 1
    assert counts["campaign"]["exited"] == 1
    assert counts["blocks"]["b2"]["converted"] == 1


def test_a_person_who_stops_matching_the_filters_exits_after_a_delay(
    engine: CampaignEngine, ws: str, ann: str, track: Any, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            _welcome_delay_tips(templates, 2),
            filters=PRO,
            exit="when_unmatched",
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)
    _until(lambda: len(_deliveries(ws, ann)) == 1)
    track.put("/api/v1/customers/ann", {"plan": "free"})

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert [d.template_id for d in _deliveries(ws, ann)] == [templates["welcome"]]
    assert engine.entered(execution)[-3:] == ["block.b2.checked", "journey.exited", "journey.done"]
    counts = metrics.read(ws, CAMPAIGN)
    assert counts["campaign"]["exited"] == counts["blocks"]["b2"]["exited"] == 1


def test_random_split_sends_the_cohort_the_person_hashes_to(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {
                    "type": "random_split",
                    "branches": [{"percent": 30, "next": "b2"}, {"percent": 70, "next": "b3"}],
                },
                "b2": _send(templates["welcome"]),
                "b3": _send(templates["tips"]),
            }
        ),
    )
    expected = [templates["welcome"], templates["tips"]][steps.cohort_of(CAMPAIGN, "b1", ann, [30, 70])]

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert [d.template_id for d in _deliveries(ws, ann)] == [expected]


def test_a_failing_step_ends_the_journey_as_failed(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {"type": "segment", "action": "add", "segment_id": "404", "next": "b2"},
                "b2": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)
    described = engine.finished(execution)

    assert described["status"] == "FAILED"
    assert described["error"] == "Campaign.StepFailed"
    assert engine.entered(execution)[-2:] == ["journey.failed", "journey.fail"]
    failed_end = engine.calls[-1]
    assert failed_end["outcome"] == "failed"
    assert failed_end["error"]["Error"] == "NotFound"
    assert _deliveries(ws, ann) == []
    journey = _journey(ws, ann)
    assert journey.running is False
    counts = metrics.read(ws, CAMPAIGN)["campaign"]
    assert (counts["entered"], counts["failed"], counts["in_progress"]) == (1, 1, 0)


def test_a_step_throttled_by_dynamodb_is_retried_and_the_journey_goes_on(
    engine: CampaignEngine,
    ws: str,
    ann: str,
    templates: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = records.queue
    tries: list[str] = []

    def throttled_once(workspace_id: str, new: records.NewDelivery) -> Any:
        tries.append(new.delivery_id)
        if len(tries) == 1:
            answer: Any = {
                "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise PutError("throttled", ClientError(answer, "PutItem"))
        return queue(workspace_id, new)

    monkeypatch.setattr(records, "queue", throttled_once)
    machine = engine.deploy(CAMPAIGN, 1, definition({"b1": _send(templates["welcome"])}))

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert "journey.failed" not in engine.entered(execution)
    assert len(tries) == 2 and tries[0] == tries[1]  # the same message, tried again
    assert [d.template_id for d in _deliveries(ws, ann)] == [templates["welcome"]]
    counts = metrics.read(ws, CAMPAIGN)["campaign"]
    assert (counts["completed"], counts["failed"]) == (1, 0)


def test_a_send_on_a_cycle_sends_on_every_visit(
    engine: CampaignEngine, ws: str, ann: str, track: Any, templates: dict[str, str]
) -> None:
    # Remind every second until the person is on the enterprise plan.
    enterprise = {"attribute": {"field": "plan", "operator": "eq", "value": "enterprise"}}
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {"type": "branch", "condition": enterprise, "true": "b4", "false": "b2"},
                "b2": _send(templates["nudge"], "b3"),
                "b3": {"type": "delay", "seconds": 1, "next": "b1"},
                "b4": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)
    _until(lambda: len(_deliveries(ws, ann)) >= 2)
    track.put("/api/v1/customers/ann", {"plan": "enterprise"})

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    sent = [d.template_id for d in _deliveries(ws, ann)]
    assert sent[-1] == templates["welcome"]
    assert sent.count(templates["nudge"]) >= 2
    assert len({d.delivery_id for d in _deliveries(ws, ann)}) == len(sent)


def test_every_block_type_compiles_to_a_machine_moto_accepts_and_runs(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    from nudge.segments import definitions
    from nudge.tracking import segments

    manual = definitions.create_manual_segment(ws, "Onboarded")
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": _send(templates["welcome"], "b2"),
                "b2": {"type": "time_window", "hours": [0, 24], "days": list(steps.DAYS), "next": "b3"},
                "b3": {
                    "type": "multi_split",
                    "branches": [{"condition": PRO, "next": "b4"}],
                    "default": "b7",
                },
                "b4": {"type": "set_attribute", "attribute": "onboarded", "value": {"at": 1}, "next": "b5"},
                "b5": {"type": "segment", "action": "add", "segment_id": manual, "next": "b6"},
                "b6": {"type": "delay", "seconds": 0, "next": "b7"},
                "b7": {"type": "exit"},
            },
            filters=PRO,
            exit="when_unmatched",
        ),
    )
    stored = json.loads(engine.sfn.describe_state_machine(stateMachineArn=machine)["definition"])
    assert stored["StartAt"] == compiler.ENTER

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert engine.actions(_execution_name(execution)) == [
        ("enter", None),
        ("send", "b1"),
        ("window", "b2"),
        ("split", "b3"),
        ("set_attribute", "b4"),
        ("segment", "b5"),
        ("check", "b6"),
        ("end", "b7"),
    ]
    assert segments.segments_of(ws, ann) == [manual]


def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_a_closed_time_window_waits_through_seconds_path(
    engine: CampaignEngine,
    ws: str,
    ann: str,
    templates: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(steps, "seconds_until_open", lambda *args: 1)  # opens in a second
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {"type": "time_window", "hours": [9, 17], "days": ["mon"], "next": "b2"},
                "b2": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert engine.entered(execution)[1:6] == [
        "block.b1",
        "block.b1.open",
        "block.b1.wait",
        "block.b1.check",
        "block.b1.checked",
    ]
    assert [d.template_id for d in _deliveries(ws, ann)] == [templates["welcome"]]


def _waiting(ws: str) -> tuple[int, dict[str, int]]:
    counts = metrics.read(ws, CAMPAIGN)
    blocks = {block: c["waiting"] for block, c in counts["blocks"].items() if "waiting" in c}
    return counts["campaign"]["waiting"], blocks


def test_a_person_in_a_delay_is_waiting_there_until_it_passes(
    engine: CampaignEngine, ws: str, ann: str, templates: dict[str, str]
) -> None:
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(_welcome_delay_tips(templates, 4)),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)
    _until(lambda: engine.entered(execution)[-1:] == ["block.b2"])  # in the Wait: the send is done
    assert _waiting(ws) == (1, {"b2": 1})
    assert engine.entered(execution)[-1] == "block.b2"  # still

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert _waiting(ws) == (0, {"b2": 0})
    assert len(engine.entered(execution)) == 8  # no state added for the count
    assert engine.actions(_execution_name(execution)) == [
        ("enter", None),
        ("send", "b1"),
        ("check", "b2"),
        ("send", "b3"),
        ("end", None),
    ]


def test_wait_until_and_time_window_count_their_waiting_and_leave_none_behind(
    engine: CampaignEngine,
    ws: str,
    ann: str,
    templates: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(steps, "seconds_until_open", lambda *args: 1)  # opens in a second
    never = {"attribute": {"field": "plan", "operator": "eq", "value": "enterprise"}}
    machine = engine.deploy(
        CAMPAIGN,
        1,
        definition(
            {
                "b1": {"type": "time_window", "hours": [9, 17], "days": ["mon"], "next": "b2"},
                "b2": {
                    "type": "wait_until",
                    "condition": never,
                    "max_seconds": 1,
                    "poll_seconds": 1,
                    "on_timeout": "exit",
                    "next": "b3",
                },
                "b3": _send(templates["welcome"]),
            }
        ),
    )

    execution = engine.start(machine, ws, CAMPAIGN, ann)

    assert engine.finished(execution)["status"] == "SUCCEEDED"
    assert engine.entered(execution)[-2:] == ["block.b2.timeout", "journey.done"]
    assert _waiting(ws) == (0, {"b1": 0, "b2": 0})  # both counted in, and out again
