"""A function run on a schedule by EventBridge, with every failed run kept in a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from infra.components.dead_letters import DeadLetterQueue

# The shortest either service allows. A run older than this is superseded by the next one anyway.
MAX_EVENT_AGE = Duration.minutes(1)
# EventBridge retries delivering the event (throttling, a service error) at most this often.
DELIVERY_RETRY_ATTEMPTS = 2


class EveryMinute(Construct):
    """Invoke ``function`` every minute. The function must resume from its own bookmark: a failed run is
    not retried, because the next one, a minute later, picks up what it left."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.Function, name: str) -> None:
        """``name``: what the function does, in a phrase ("segment re-check sweep")."""
        super().__init__(scope, construct_id)
        self.dead_letters = DeadLetterQueue(self, "Failures", receives=f"failed runs of the {name}")
        self.rule = events.Rule(
            self, "Rule", schedule=events.Schedule.rate(Duration.minutes(1)), description=f"Nudge {name}"
        )
        # Two asynchronous hops, each with its own dead letters: EventBridge failing to deliver the event,
        # then Lambda running it and the function failing.
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=self.dead_letters.queue,
                retry_attempts=DELIVERY_RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
            )
        )
        function.configure_async_invoke(
            retry_attempts=0,
            max_event_age=MAX_EVENT_AGE,
            on_failure=destinations.SqsDestination(self.dead_letters.queue),
        )
