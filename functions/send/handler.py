"""Send Lambda: the deliveries table's stream, and a minutely sweep for scheduled deliveries.

``handler``: each delivery that became ``queued`` goes through the pipeline (render, gates, channel,
record, meter). Powertools' batch processor reports failing records one by one; the event source
mapping retries, bisects and finally dead-letters them, so one poison record never blocks the rest.
Records for other items of the table (inbox, counters, templates) are skipped; in AWS the mapping's
filter keeps them from invoking the function at all.

``release_scheduled``: the EventBridge schedule's entry point, releasing deliveries whose time came.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge.delivery import pipeline, scheduled
from nudge.delivery.queued import newly_queued

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    found = newly_queued(record.raw_event)
    if found is None:
        return
    workspace_id, delivery_id = found
    logger.append_keys(workspace_id=workspace_id, delivery_id=delivery_id)
    outcome = pipeline.process(workspace_id, delivery_id)
    logger.debug("delivery processed", state=outcome.state)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )


@logger.inject_lambda_context(clear_state=True)
def release_scheduled(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    released = scheduled.sweep()
    logger.info("scheduled deliveries released", released=released)
    return {"released": released}
