"""Stream consumers: a function fed the changes of the streamed tables whose models name it (evaluation
for the data tables, sending for deliveries), with bounded retries and dead letters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra.components.dead_letters import DeadLetterQueue
from infra.nag import acknowledge

BATCH_SIZE = 100
BATCHING_WINDOW = Duration.seconds(1)
# Attempts after a function error: enough for a brief storage error (DynamoDB throttling the function's
# writes) to pass; a record failing more often than this is poison. Splitting a batch costs no attempt,
# so bisection has isolated such a record from its batch by the time its attempts run out.
RETRY_ATTEMPTS = 3
# Records Lambda could not deliver at all (throttled, no concurrency) are retried until this age, as are
# failing ones. A stream keeps records for 24 hours and an on-failure message carries only their position,
# not the records: giving up after 6 hours leaves 18 in which they can still be read back and replayed.
MAX_RECORD_AGE = Duration.hours(6)


class StreamConsumer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        consumer: str,
        tables: Mapping[str, dynamodb.ITable],
        filters: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """``consumer``: the function's name in the models' ``Meta.stream_consumer`` (evaluate, send).
        ``filters``: Lambda event filter patterns (``FilterCriteria.filter``), for every table's mapping:
        records that match none never invoke the function."""
        super().__init__(scope, construct_id)
        if not tables:
            raise ValueError(f"the {consumer} stream consumer needs at least one streamed table")
        self.function = function
        self.consumer = consumer
        self.dead_letters = DeadLetterQueue(
            self, "Failures", receives=f"{consumer} stream batches that failed"
        )
        for name in sorted(tables):
            function.add_event_source(
                event_sources.DynamoEventSource(
                    tables[name],
                    # TRIM_HORIZON, not LATEST: a mapping created (or re-created) after writes began starts
                    # from the oldest record still in the stream instead of skipping what came first.
                    # Replaying is safe, since every consumer is idempotent (evaluation recomputes, sending
                    # claims each delivery once); skipping would leave memberships wrong, or messages
                    # unsent, with nothing to tell.
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=BATCH_SIZE,
                    max_batching_window=BATCHING_WINDOW,
                    # The handler reports each failing record (Powertools' batch processor): a retry
                    # starts from the first failure, and bisection splits off a record that keeps failing.
                    report_batch_item_failures=True,
                    bisect_batch_on_error=True,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_record_age=MAX_RECORD_AGE,
                    on_failure=event_sources.SqsDlq(self.dead_letters.queue),
                    filters=list(filters) or None,
                )
            )
        # Reading a stream grants dynamodb:ListStreams, which IAM cannot scope to a resource.
        acknowledge(
            function.role if function.role is not None else function,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams takes no resource ARN (IAM's service authorization reference); it lists "
            "stream names only, and reading a stream stays scoped to the consumed tables' stream ARNs.",
        )
