"""Billing Lambda: the daily EventBridge schedule. It bills as of the scheduled event's ``time``, so any
date can be (re)run: runs are idempotent and catch up on periods a missed run left open.

Each workspace is billed on its own. Those the run could not bill are logged one by one, counted in the
``WorkspacesNotBilled`` metric (its own alarm), and then the invocation fails: Lambda retries it (a
transient DynamoDB error may pass; the workspaces already billed are not billed again) and, if it still
fails, its event lands in the billing dead-letter queue, which alarms too and keeps the date to re-run
once the cause is fixed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import composition
from nudge.billing import invoicing
from nudge.billing import telemetry as billing_telemetry
from nudge.delivery import telemetry

composition.connect()  # delivery outcomes reach campaign counters and metering (nudge.composition)

logger = Logger()
metrics = telemetry.metrics()


class InvalidScheduledEvent(ValueError):
    """The invocation is not the schedule's event: there is no date to bill as of."""


@dataclass(frozen=True)
class ScheduledEvent:
    """The EventBridge schedule's event; only its ``time`` is read (a small shape of our own: Powertools'
    ``EventBridgeEvent`` would import its whole ``data_classes`` package, some 20 ms of a cold start)."""

    at: date  # the date the run bills as of: the event's time, in UTC

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> ScheduledEvent:
        time = event.get("time")
        if not isinstance(time, str):
            raise InvalidScheduledEvent(f"the event has no time to bill as of (time: {time!r})")
        try:
            moment = datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidScheduledEvent(f"the event's time {time[:40]!r} is not an ISO 8601 time") from None
        return cls(at=moment.date())


# log_metrics flushes the count as the invocation ends, also when it fails.
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    at = ScheduledEvent.parse(event).at
    result = invoicing.run(at)
    for workspace_id, reason in sorted(result.failed.items()):
        logger.error("workspace not billed", workspace_id=workspace_id, reason=reason)
    billing_telemetry.report_not_billed(metrics, len(result.failed))
    logger.info("billing run", at=at.isoformat(), invoices=len(result.issued), not_billed=len(result.failed))
    result.raise_if_incomplete()
    return {"at": at.isoformat(), "invoices": result.issued}
