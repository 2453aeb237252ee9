"""One person's journey through one campaign: how often they entered, the execution they are on, whether
it is still running and whether that run converted. The frequency setting is decided on it.

Item ``<ws>#c#<campaign_id>#p#<cio_id>`` / ``journey``, or ``journey#<execution>`` for each journey of an
event campaign that may overlap the person's others (``key``: see ``executions.journey_key``; the steps
read it from the trigger). Every change is a conditional update keyed on the execution's name, because
Step Functions may run a Task twice: the second run finds the change already made and returns False,
which is what keeps the metrics from counting anything twice.
"""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from nudge.campaigns.journey_outcomes import OUTCOMES
from nudge.model.base import condition_failed
from nudge.model.campaigns import Journey

SK = "journey"


def journey_pk(workspace_id: str, campaign_id: str, cio_id: str) -> str:
    return f"{workspace_id}#c#{campaign_id}#p#{cio_id}"


def load(workspace_id: str, campaign_id: str, cio_id: str, key: str = SK) -> Journey | None:
    try:
        return Journey.get(journey_pk(workspace_id, campaign_id, cio_id), key, consistent_read=True)
    except DoesNotExist:
        return None


def entered(workspace_id: str, campaign_id: str, cio_id: str, execution: str, at: int, key: str = SK) -> bool:
    """Record that ``execution`` started the person's journey. True the first time for that execution:
    entries count executions, not Task attempts."""
    item = Journey(journey_pk(workspace_id, campaign_id, cio_id), key)
    return _apply(
        item,
        [
            Journey.kind.set(Journey),  # an update creating the item does not write the discriminator
            Journey.workspace_id.set(workspace_id),
            Journey.campaign_id.set(campaign_id),
            Journey.cio_id.set(cio_id),
            Journey.entries.add(1),
            Journey.last_entered_at.set(at),
            Journey.execution.set(execution),
            Journey.running.set(True),
            Journey.converted.set(False),  # conversion is per entry
        ],
        Journey.execution.does_not_exist() | (Journey.execution != execution),
    )


def mark_converted(workspace_id: str, campaign_id: str, cio_id: str, execution: str, key: str = SK) -> bool:
    """Record that the person met the campaign's goal during ``execution``. True if this call did.

    The journey keeps only the flag, not when the conversion was noticed."""
    item = Journey(journey_pk(workspace_id, campaign_id, cio_id), key)
    return _apply(
        item,
        [Journey.converted.set(True)],
        (Journey.execution == execution) & (Journey.converted == False),  # noqa: E712 - a DynamoDB condition
    )


def finished(
    workspace_id: str, campaign_id: str, cio_id: str, execution: str, outcome: str, key: str = SK
) -> bool:
    """Record that ``execution`` ended (``outcome``: completed, exited, converted or failed). True if this
    call ended it; False if it had already ended or a later execution owns the journey.

    The journey keeps no outcome of its own (the model has no field for it): the metrics count outcomes,
    and ``converted`` was set when the goal was met."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown journey outcome {outcome!r}")
    item = Journey(journey_pk(workspace_id, campaign_id, cio_id), key)
    return _apply(
        item,
        [Journey.running.set(False)],
        (Journey.execution == execution) & (Journey.running == True),  # noqa: E712 - a DynamoDB condition
    )


def _apply(item: Journey, actions: list, condition: Condition) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
