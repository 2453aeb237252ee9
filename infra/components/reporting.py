"""Reporting webhooks: the queue of events the reporting worker POSTs, and its dead letters.

The functions where events happen (sending, links, SES feedback, the Track API's client metrics, and
evaluation for subscription changes) only queue them: ``grant_enqueue``. The worker (``functions/reporting``)
reads the queue in batches; a failed POST hides its message for the backoff's delay (up to 12 hours, with
ChangeMessageVisibility) and the worker dead-letters an event after its last try, or at once when its
endpoint can never be reached. The queue's redrive policy only catches events the worker could not handle
at all. Messages live 14 days, past the week of retries. The dead-letter queue alarms like every other.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.dead_letters import RETENTION, DeadLetterQueue
from nudge.reporting.queue import DEAD_LETTERS_URL_VARIABLE, QUEUE_URL_VARIABLE
from nudge.reporting.worker import MAX_ATTEMPTS

BATCH_SIZE = 10  # POSTs of one invocation: each waits at most the worker's 4-second timeout
# Receives before the redrive policy moves a message aside: the worker dead-letters it itself at
# MAX_ATTEMPTS; these few more are for an invocation that died (its messages come back unchanged).
MAX_RECEIVES = MAX_ATTEMPTS + 3


class ReportingWebhooks(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, worker: lambda_.Function, timeout: Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = DeadLetterQueue(
            self, "DeadLetters", receives="reporting webhook events given up on"
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
            # A message comes back only once the invocation holding it cannot still be running (a retry
            # sets its own, longer, timeout).
            visibility_timeout=Duration.seconds(timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVES, queue=self.dead_letters.queue
            ),
        )
        worker.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=BATCH_SIZE,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
            )
        )
        self.queue.grant(worker, "sqs:ChangeMessageVisibility")
        self.dead_letters.queue.grant_send_messages(worker)
        worker.add_environment(QUEUE_URL_VARIABLE, self.queue.queue_url)
        worker.add_environment(DEAD_LETTERS_URL_VARIABLE, self.dead_letters.queue.queue_url)

    def grant_enqueue(self, function: lambda_.Function) -> None:
        """A function where events happen: it queues them, and nothing else."""
        self.queue.grant_send_messages(function)
        function.add_environment(QUEUE_URL_VARIABLE, self.queue.queue_url)
