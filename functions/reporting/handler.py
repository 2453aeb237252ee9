"""Reporting worker Lambda: the reporting queue's events, each POSTed to its webhook
(``nudge.reporting.worker``).

A failed POST hides its message for the backoff's delay (``queue.retry_later``) and is reported as a
batch item failure, so the queue delivers it again then; the other events of the batch are unaffected.
An event the worker gives up on is put in the dead-letter queue, with its reason, and deleted here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from nudge import composition
from nudge.reporting import queue, worker

composition.connect()  # every handler connects the ports (nudge.composition)

logger = Logger(service="reporting")
# A failed event is retried later by the queue, not an error of the batch.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryLater(Exception):
    """The event's POST failed; its message comes back after the backoff."""


def _record(record: SQSRecord) -> str:
    attempt = int(record.attributes.approximate_receive_count)
    result = worker.handle(record.body, attempt)
    if result.outcome == "retry":
        assert result.retry_in is not None
        queue.get().retry_later(record.receipt_handle, result.retry_in)
        logger.warning(
            "reporting event retried later", attempt=attempt, retry_in=result.retry_in, reason=result.reason
        )
        raise RetryLater(result.reason)
    if result.outcome == "dead":
        queue.get().dead_letter(record.body, result.reason)
        logger.error("reporting event dead-lettered", attempt=attempt, reason=result.reason)
    else:
        logger.info("reporting event " + result.outcome, attempt=attempt, reason=result.reason or None)
    return result.outcome


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
    )
