"""Campaigns Lambda: the Task states of every campaign's state machine (``nudge.campaigns.compiler``).

Each payload names its step (``action``); ``nudge.campaigns.steps`` does the work. A step's exception
propagates: Step Functions sees a function error, and the state machine's Catch ends the journey as
failed (Lambda's own transient errors, and a step's ``TransientStorageError``, are retried by the state
machine first).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import composition
from nudge.campaigns import steps

composition.connect()  # delivery outcomes reach campaign counters and metering (nudge.composition)

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(
        action=event.get("action"),
        workspace_id=event.get("workspace_id"),
        campaign_id=event.get("campaign_id"),
        block=event.get("block"),
        execution=event.get("execution"),
    )
    result = steps.run(event)
    logger.debug("campaign step done", result=result)
    return result
