"""A function run on a schedule by EventBridge, with every failed run kept in a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from constructs import Construct

from infra.components.dead_letters import DeadLetterQueue

# EventBridge retries delivering the event (throttling, a service error) at most this often.
DELIVERY_RETRY_ATTEMPTS = 2
# Every minute: the shortest age either service allows. A run older than this is superseded by the next.
EVERY_MINUTE_MAX_EVENT_AGE = Duration.minutes(1)
# Daily: the next run is a day away, so a failed one is worth retrying (Lambda's most: two, a minute or
# two apart) for as long as an hour. Late is still right: the event's own time says what the run is for.
DAILY_MAX_EVENT_AGE = Duration.hours(1)
DAILY_RUN_RETRY_ATTEMPTS = 2


class ScheduledRuns(Construct):
    """Invoke ``function`` on ``schedule``, with both asynchronous hops bounded and dead-lettered."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        name: str,
        schedule: events.Schedule,
        max_event_age: Duration,
        run_retry_attempts: int,
    ) -> None:
        """``name``: what the function does, in a phrase ("segment re-check sweep")."""
        super().__init__(scope, construct_id)
        self.function = function
        self.dead_letters = DeadLetterQueue(self, "Failures", receives=f"failed runs of the {name}")
        self.rule = events.Rule(self, "Rule", schedule=schedule, description=f"Nudge {name}")
        # Two asynchronous hops, each with its own dead letters: EventBridge failing to deliver the event,
        # then Lambda running it and the function failing.
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=self.dead_letters.queue,
                retry_attempts=DELIVERY_RETRY_ATTEMPTS,
                max_event_age=max_event_age,
            )
        )
        function.configure_async_invoke(
            retry_attempts=run_retry_attempts,
            max_event_age=max_event_age,
            on_failure=destinations.SqsDestination(self.dead_letters.queue),
        )


class EveryMinute(ScheduledRuns):
    """Invoke ``function`` every minute. The function must resume from its own bookmark: a failed run is
    not retried, because the next one, a minute later, picks up what it left."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.Function, name: str) -> None:
        super().__init__(
            scope,
            construct_id,
            function=function,
            name=name,
            schedule=events.Schedule.rate(Duration.minutes(1)),
            max_event_age=EVERY_MINUTE_MAX_EVENT_AGE,
            run_retry_attempts=0,
        )


class Daily(ScheduledRuns):
    """Invoke ``function`` once a day at ``hour``:``minute`` UTC, and raise an alarm on a day without a
    run. The function must be idempotent (a failed run is retried) and catch up on what a missed day
    left, since the alarm only tells someone to look."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        name: str,
        hour: int,
        minute: int,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            function=function,
            name=name,
            schedule=events.Schedule.cron(minute=str(minute), hour=str(hour)),
            max_event_age=DAILY_MAX_EVENT_AGE,
            run_retry_attempts=DAILY_RUN_RETRY_ATTEMPTS,
        )
        # Invocations count every attempt, failed or not: a failed run is in the dead-letter queue, this
        # alarm is for the run that never started (a disabled rule, a deleted target, a broken permission).
        # No data at all is the very case it is for, so missing data breaches.
        self.missed_run = cloudwatch.Alarm(
            self,
            "MissedRun",
            alarm_description=f"Nudge {name} did not happen in the past day",
            metric=function.metric_invocations(period=Duration.days(1), statistic=cloudwatch.Stats.SUM),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
