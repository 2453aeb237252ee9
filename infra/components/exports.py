"""Exports: the private bucket their CSV files go to, and the queue that feeds the exports worker.

The App API creates an export's record and sends one message; the worker (``functions/exports``) writes
the file in steps and, when an invocation runs low on time, sends the export's next message itself. A
message that keeps failing ends in the dead-letter queue (alarmed, as every one is), after the worker's
last try has failed the export with a reason. An SQS queue, not a stream of the exports table: a step
runs for up to 15 minutes, which on a stream would hold up every other record of its shard, and the
queue's per-message retries and dead letters are exactly what an export's steps need.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.components.dead_letters import DeadLetterQueue
from infra.nag import acknowledge
from nudge.exports.files import PREFIX
from nudge.exports.queue import MAX_RECEIVES
from nudge.model.exports import EXPORT_DAYS

# What the worker does to an export's objects: the multipart upload and its parts, the tail objects
# (written, read back, deleted), and aborting an upload of a failed export.
WORKER_OBJECT_ACTIONS = (
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
# A message becomes visible again (another try) only once the invocation holding it cannot still be
# running: the worker's timeout and a margin. The export's lease (nudge.exports.store) ends by then too.
VISIBILITY_MARGIN = Duration.minutes(5)


class Exports(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, worker: lambda_.Function, timeout: Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # An export's file lives as long as its record (the table's TTL); an upload a failed step left
            # open is aborted, so its parts stop costing storage.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireExports",
                    prefix=PREFIX,
                    expiration=Duration.days(EXPORT_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # Its objects expire within a week; deleting the stack keeps the bucket (and whatever has not
            # expired yet) rather than failing on a non-empty bucket or adding a custom resource to empty it.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Server access logs would need a second bucket and would copy each download's request, "
            "presigned query string included; every object is written only by the exports worker and read "
            "only through 15-minute links the App API hands out, whose own logs record each request.",
        )
        self.dead_letters = DeadLetterQueue(self, "DeadLetters", receives="export steps that kept failing")
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(timeout.to_seconds() + VISIBILITY_MARGIN.to_seconds()),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVES, queue=self.dead_letters.queue
            ),
        )
        # One export per invocation: each runs for minutes, and a failure is that one message's.
        worker.add_event_source(
            sources.SqsEventSource(self.queue, batch_size=1, report_batch_item_failures=True)
        )
        self.queue.grant_send_messages(worker)  # the worker's hand-over to its next invocation
        worker.add_to_role_policy(
            iam.PolicyStatement(actions=list(WORKER_OBJECT_ACTIONS), resources=[self._objects_arn()])
        )
        acknowledge(
            worker.role or worker,
            f"AwsSolutions-IAM5[Resource::<{self._logical_id()}.Arn>/{PREFIX}*]",
            "The worker writes one object per export (and its tail objects), named at run time under the "
            "exports prefix of this one bucket.",
        )
        for name, value in self.environment().items():
            worker.add_environment(name, value)

    def environment(self) -> dict[str, str]:
        return {
            "NUDGE_EXPORTS_BUCKET": self.bucket.bucket_name,
            "NUDGE_EXPORTS_QUEUE_URL": self.queue.queue_url,
        }

    def grant_start_and_download(self, function: lambda_.Function) -> None:
        """The App API: send an export's first message, and sign download links. A presigned GET carries
        the signer's permission, so the function may read the exports prefix, and nothing else of it."""
        self.queue.grant_send_messages(function)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[self._objects_arn()])
        )
        acknowledge(
            function.role or function,
            f"AwsSolutions-IAM5[Resource::<{self._logical_id()}.Arn>/{PREFIX}*]",
            "Download links are presigned GETs of export files, named at run time under the exports prefix "
            "of this one bucket; the function reads nothing else of it.",
        )
        for name, value in self.environment().items():
            function.add_environment(name, value)

    def _objects_arn(self) -> str:
        return self.bucket.arn_for_objects(f"{PREFIX}*")

    def _logical_id(self) -> str:
        stack = Stack.of(self)
        return str(stack.resolve(stack.get_logical_id(cast(CfnElement, self.bucket.node.default_child))))
