"""A journey lost in the middle of its delay (the local runtime stopped) is found where it was and started
again there, under its own name, on moto's engine with the real campaigns handler: it waits only what was
left and sends the rest of its messages once, without entering or sending the first one again."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.stepfunctions.responses import get_backend

from nudge.campaigns import compiler, journeys
from nudge.delivery import template_store
from nudge_tools.local import persistence
from tests.support.campaign_workflows import REGION, CampaignEngine, campaign_engine, definition
from tests.support.deliveries import cio_id

CAMPAIGN = "7"
DELAY_SECONDS = 60  # never waited out here: the execution is lost, then resumed with one second left


@pytest.fixture
def engine(account: None) -> Iterator[CampaignEngine]:
    with campaign_engine() as running:
        yield running


def _template(ws: str, name: str) -> str:
    template = {"name": name, "channel": "email", "subject": name, "body": "<p>Hi</p>"}
    return template_store.create(ws, template).id


def _forget(machine_arn: str, execution_arn: str) -> None:
    """What a restart does to an execution: gone from moto, whose name is then free again."""
    machine = get_backend(DEFAULT_ACCOUNT_ID, REGION).describe_state_machine(machine_arn)
    machine.executions[:] = [e for e in machine.executions if e.execution_arn != execution_arn]


def _wait_for(condition: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return found


def test_a_journey_lost_in_its_delay_resumes_there_with_what_was_left(
    engine: CampaignEngine, ws: str, track: Any
) -> None:
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com"}).status == 200
    ann = cio_id(ws, "ann")
    blocks = {
        "b1": {"type": "send", "channel": "email", "template_id": _template(ws, "welcome"), "next": "b2"},
        "b2": {"type": "delay", "seconds": DELAY_SECONDS, "next": "b3"},
        "b3": {"type": "send", "channel": "email", "template_id": _template(ws, "tips")},
    }
    asl = compiler.resumable(compiler.compile_workflow(CAMPAIGN, 1, definition(blocks)))
    machine = str(
        engine.sfn.create_state_machine(
            name="resumable", definition=json.dumps(asl), roleArn=engine.role_arn
        )["stateMachineArn"]
    )
    started = time.time()
    execution = engine.start(machine, ws, CAMPAIGN, ann, name="journey-1")
    delay = compiler.block_state("b2")
    _wait_for(lambda: engine.entered(execution)[-1:] == [delay])

    [found] = persistence.running_executions(REGION, lambda real: real)  # the wall clock's pace
    assert (found.machine, found.name, found.state) == ("resumable", "journey-1", delay)
    assert found.until is not None and started + DELAY_SECONDS <= found.until <= time.time() + DELAY_SECONDS
    assert found.input["cio_id"] == ann and found.input["step"]["value"]  # the state's input, as entered

    engine.sfn.stop_execution(executionArn=execution)
    _forget(machine, execution)
    one_second_left = replace(found, until=time.time() + 1)
    payload = persistence.resume_input(one_second_left, 1.0, time.time())
    resumed = engine.sfn.start_execution(stateMachineArn=machine, name="journey-1", input=json.dumps(payload))
    began = time.monotonic()
    assert engine.finished(resumed["executionArn"])["status"] == "SUCCEEDED"
    assert 1 <= time.monotonic() - began < DELAY_SECONDS / 2

    assert engine.entered(resumed["executionArn"])[:4] == [
        compiler.RESUME_ENTRY,
        compiler.RESUME_ROUTE,
        next(name for name in asl["States"] if name.startswith("resume.wait.")),
        f"{delay}.check",
    ]
    # Across both executions: entered once, each message sent once.
    assert [(c["action"], c.get("block")) for c in engine.calls] == [
        ("enter", None),
        ("send", "b1"),
        ("check", "b2"),
        ("send", "b3"),
        ("end", None),
    ]
    journey = journeys.load(ws, CAMPAIGN, ann)
    assert journey is not None and journey.execution == "journey-1" and not journey.running
