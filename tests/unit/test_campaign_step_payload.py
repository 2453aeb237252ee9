"""A campaign step's payload read into a Step: a missing field is named, not a bare KeyError."""

import pytest

from nudge.campaigns import journeys
from nudge.campaigns.steps import MalformedPayload, Step

PAYLOAD = {"workspace_id": "ws1", "campaign_id": "c1", "cio_id": "p1", "execution": "x1", "entered_at": 100}


def test_a_whole_payload_reads_into_a_step():
    step = Step.of({**PAYLOAD, "block": "b1", "trigger": {"journey": "j#1"}})
    assert (step.workspace_id, step.cio_id, step.entered_at, step.block, step.journey) == (
        "ws1",
        "p1",
        100,
        "b1",
        "j#1",
    )


def test_trigger_and_block_may_be_absent():
    step = Step.of(PAYLOAD)
    assert (step.trigger, step.block, step.journey) == ({}, None, journeys.SK)


@pytest.mark.parametrize("field", sorted(PAYLOAD))
def test_a_missing_field_is_named(field):
    event = {name: value for name, value in PAYLOAD.items() if name != field}
    with pytest.raises(MalformedPayload) as raised:
        Step.of(event)
    assert str(raised.value) == f"campaign step payload lacks {field}"


def test_every_missing_field_is_named_in_payload_order():
    with pytest.raises(MalformedPayload) as raised:
        Step.of({"campaign_id": "c1", "cio_id": "p1", "entered_at": 1})
    assert str(raised.value) == "campaign step payload lacks workspace_id, execution"
