"""Send Lambda: the deliveries table's stream, and a minutely sweep for scheduled deliveries.

``handler``: each delivery that became ``queued`` goes through the pipeline (render, gates, channel,
record, meter). Powertools' batch processor reports failing records one by one; the event source
mapping retries, bisects and finally dead-letters them, so one poison record never blocks the rest. A
record fails when processing it raised before anything was decided (the delivery stays ``queued``, so a
retry is safe), and when the pipeline gave up on its delivery (``pipeline.DeadLettered``: failed after
its capped retries sent nothing), so that one always reaches the dead-letter queue and its alarm.
Records for other items of the table (inbox, counters, templates) are skipped; in AWS the mapping's
filter keeps them from invoking the function at all.

Each record also feeds the activity log (each metric its delivery reached), after the pipeline and never
in its way. A record whose activities cannot be made (an image that does not read as a delivery: the
same on every retry) is logged with its sequence number and left: failing it would only hold up the
shard's later sends until its retries ran out, then dead-letter a record whose delivery was handled. The
batch's activities are written at its end; the records of a write that failed (throttled, unreachable:
a retry can succeed) are reported as batch item failures. The stream then delivers them, and those after
them, again, which cannot send anything twice: the pipeline claims a delivery before sending it, so a
record seen again finds its delivery claimed or decided and sends nothing.

``release_scheduled``: the EventBridge schedule's entry point, releasing deliveries whose time came.

The messages the batch sent are metered together at its end (``billing.metering.batch``: one
transaction for up to 99 of them instead of one each); a message whose metering failed fails its record,
whose retry finds it sent and meters it (once: its marker refuses a second).

Each outcome the pipeline decides is counted once, here (``nudge.delivery.telemetry``: CloudWatch
metrics by channel, written to the log as EMF at the end of the invocation), and every log line about a
delivery carries the correlation id of the API request that queued it, when one did.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import composition
from nudge.activities import log as activity_log
from nudge.billing import metering
from nudge.delivery import pipeline, scheduled, states, telemetry
from nudge.delivery.queued import correlation_id, newly_queued

# Delivery outcomes reach campaign counters and metering; nearly every invocation reports one, so the
# subscribers are imported in the init, not in the first message (nudge.composition).
composition.connect(load=True)

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
metrics = telemetry.metrics()
counts = telemetry.MetricCounts()


_RECORD_KEYS = ("workspace_id", "delivery_id", "correlation_id")


def record_handler(record: DynamoDBRecord) -> None:
    logger.remove_keys(_RECORD_KEYS)  # the previous record's, in the same batch
    metering.handling((record.dynamodb.sequence_number if record.dynamodb else None) or "")
    try:
        _send_if_queued(record)
    finally:
        # Recorded whether or not the send raised: the record's activities are keyed by what caused
        # them, so its retry writes the same ones again.
        _record_activities(record)


def _send_if_queued(record: DynamoDBRecord) -> None:
    found = newly_queued(record.raw_event)
    if found is None:
        return
    workspace_id, delivery_id = found
    # From the record itself (no read): the pipeline's own log lines for this delivery carry it too.
    logger.append_keys(
        workspace_id=workspace_id,
        delivery_id=delivery_id,
        correlation_id=correlation_id(record.raw_event) or None,
    )
    try:
        outcome = pipeline.process(workspace_id, delivery_id)
    except pipeline.DeadLettered as given_up:
        count(counts, given_up.outcome)
        raise
    count(counts, outcome)
    logger.debug("delivery processed", state=outcome.state)


def _record_activities(record: DynamoDBRecord) -> None:
    """Each metric the delivery reached since its last record, to the activity log (from the images).
    Whatever this raises is logged and the record goes on (the module's docstring says why): inside the
    batch it only builds activities from the record, so a failure is the record's own and a retry
    repeats it."""
    try:
        activity_log.on_delivery_record(record.raw_event)
    except Exception:
        logger.exception(
            "activities of a delivery record not recorded",
            sequence_number=record.dynamodb.sequence_number if record.dynamodb else None,
            event_id=record.event_id,
        )


def count(telemetry_port: telemetry.Telemetry, outcome: pipeline.Outcome) -> None:
    """An outcome this invocation decided, counted once (a replayed record's carries no channel)."""
    if not outcome.channel:
        return
    if outcome.state == states.SENT:
        telemetry_port.sent(outcome.channel)
    else:
        telemetry_port.not_sent(outcome.channel, outcome.state)


# log_metrics flushes what publish left (the last channel's counts) as the invocation ends, even when
# it raises.
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        with activity_log.batch() as activities, metering.batch() as metered:
            response = dict(
                process_partial_response(
                    event=event, record_handler=record_handler, processor=processor, context=context
                )
            )
            activities.flush()
            metered.flush()
        return activity_log.failing_also(response, [*activities.failed, *metered.failed])
    finally:
        counts.publish(metrics)


@logger.inject_lambda_context(clear_state=True)
def release_scheduled(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    released = scheduled.sweep()
    logger.info("scheduled deliveries released", released=released)
    return {"released": released}
