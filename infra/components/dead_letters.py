"""A dead-letter queue: where an asynchronous path puts what it gave up on, to be looked at, not lost."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

# SQS's longest: failures noticed after a long weekend, or a holiday, are still there to read.
RETENTION = Duration.days(14)


class DeadLetterQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, receives: str) -> None:
        """``receives``: what lands here, in a phrase ("failed evaluate stream batches")."""
        super().__init__(scope, construct_id)
        self.receives = receives
        self.queue = sqs.Queue(
            self,
            "Queue",
            # SQS-managed keys: encrypted at rest with no key policy to maintain, which EventBridge and
            # Lambda destinations can write to without extra grants.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=RETENTION,
        )
        acknowledge(
            self.queue,
            "AwsSolutions-SQS3",
            f"This queue is the dead-letter queue for {receives}; a dead-letter queue of its own would "
            "only move the same failures one queue further.",
        )
