"""Exports worker Lambda: the exports queue's messages, one export each (``nudge.exports.worker``).

An invocation works until the export is done or its time runs low, then hands the rest to a new
invocation through the queue. A message that fails is retried by the queue; on its last try, whatever
failed, the export is failed with a reason naming the error's type (``worker.gave_up_reason``), and the
message goes on to the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import composition
from nudge.exports import queue, worker

composition.connect()  # delivery outcomes reach campaign counters and metering (nudge.composition)

logger = Logger(service="exports")
# A batch of one export: its failure is the message's, retried by the queue (not an error of the batch).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord, context: LambdaContext) -> str:
    workspace_id, export_id = queue.parse(record.body)
    try:
        outcome = worker.run(
            workspace_id,
            export_id,
            owner=f"{context.aws_request_id}:{record.message_id}",
            time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        )
    except Exception as error:
        # Re-raised whatever it is, so the queue retries it and then dead-letters it (which alarms); on
        # the last try the export is failed first, or it would stay running with nothing left to run it.
        if int(record.attributes.approximate_receive_count) >= queue.MAX_RECEIVES:
            logger.exception("export given up", workspace_id=workspace_id, export_id=export_id)
            worker.give_up(workspace_id, export_id, error)
        raise
    logger.info("export step", workspace_id=workspace_id, export_id=export_id, outcome=outcome)
    return outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event,
            record_handler=lambda record: _record(record, context),
            processor=processor,
            context=context,
        )
    )
