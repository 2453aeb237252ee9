"""Evaluate Lambda: consumes the DynamoDB streams of the people, events, objects and segments tables.

Powertools' batch processor reports each failing record as a batch item failure; the event source
mapping retries from it, bisects, and finally sends it to the on-failure destination. One poison record
never blocks the rest of its batch.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import batch_reads, composition
from nudge.activities import log as activity_log
from nudge.billing import consumer as metering_consumer
from nudge.campaigns import triggers
from nudge.reporting import subscriber as reporting_webhooks
from nudge.segments import backfill
from nudge.segments import evaluation as segment_evaluation
from nudge.stream_changes import consumers
from nudge.stream_changes.changes import from_stream_record

logger = Logger()  # the service name comes from POWERTOOLS_SERVICE_NAME: evaluate, or sweep
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
composition.connect()
# The stream's consumers, in order (see evaluation.consumers): campaign triggers last but for the
# reporting webhooks' subscription events, which only queue.
consumers.subscribe(
    segment_evaluation.on_change,
    backfill.on_change,
    metering_consumer.on_change,
    activity_log.on_change,
    triggers.on_change,
    reporting_webhooks.on_change,
)


def record_handler(record: DynamoDBRecord) -> None:
    change = from_stream_record(record.raw_event)
    consumers.apply(change)
    logger.debug(
        "change applied", table=change.table, event=change.event_name, workspace_id=change.workspace_id
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The reads every record of the batch repeats (segment definitions, the trigger index) are made once,
    # its creations are metered together at its end, and its activities written together.
    with batch_reads.scope(), metering_consumer.batch() as creations, activity_log.batch() as activities:
        response = dict(
            process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )
        )
        creations.flush()
        activities.flush()
    return _failing_also(response, [*creations.failed, *activities.failed])


def _failing_also(response: dict[str, Any], sequence_numbers: list[str]) -> dict[str, Any]:
    """The response with the records whose metering failed reported as batch item failures too (the
    mapping retries from the earliest failure, and metering is idempotent)."""
    reported = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    extra = [{"itemIdentifier": s} for s in sequence_numbers if s not in reported]
    if not extra:
        return response
    return {**response, "batchItemFailures": [*response.get("batchItemFailures", []), *extra]}


@logger.inject_lambda_context(clear_state=True)
def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """The scheduled entry point (EventBridge, every minute): run the segment re-checks and fire the
    campaign date triggers that came due."""
    ran = segment_evaluation.sweep_rechecks()
    logger.info("segment re-checks swept", ran=ran)
    fired = triggers.sweep_dates()
    logger.info("campaign date triggers swept", fired=fired)
    return {"rechecks": ran, "date_triggers": fired}
