"""Billing Lambda: the daily EventBridge schedule. It bills as of the scheduled event's ``time``, so any
date can be (re)run: runs are idempotent and catch up on periods a missed run left open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge.billing import invoicing

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    at = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).date()
    issued = invoicing.run(at)
    logger.info("billing run", at=at.isoformat(), invoices=len(issued))
    return {"at": at.isoformat(), "invoices": issued}
