"""Monitoring: one encrypted alarm topic, the alarms that publish to it, and one CloudWatch dashboard.

Created last in the stack, it watches what the stack made: every function (its errors) and every
dead-letter queue (not empty), found in the construct tree, so a function or a queue added to the stack
is watched without being listed here (tests/infra/test_monitoring.py checks that none escapes). Beyond
those, what it is given: the HTTP API, the stream consumers, the daily billing run, the SES
configuration set. Step Functions state machines are added one line each, ``add_state_machine(machine)``;
the dashboard already graphs every machine's executions, including the ones campaigns create at run
time, with search expressions.

Every alarm says in a comment how it treats missing data, and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from infra.components.dead_letters import DeadLetterQueue
from infra.components.delivery import EmailEvents
from infra.components.function import ServiceFunction
from infra.components.http_api import HttpApi
from infra.components.outputs import output
from infra.components.schedule import Daily
from infra.components.streams import StreamConsumer
from infra.config import DeployConfig
from nudge.billing import telemetry as billing_telemetry
from nudge.delivery import telemetry

PERIOD = Duration.minutes(5)
# A function behind the API answers clients itself, so a function error there is one client's 502 (which
# it retries); the API's 5xx rate alarm watches what clients see. A handful in 5 minutes is a bug or an
# outage. Everywhere else (stream consumers, schedules, SES feedback) one error is worth a look: a failed
# stream batch holds up every later record of its shard, a failed scheduled run or SES event goes to a
# dead-letter queue.
API_FUNCTION_ERRORS = 5
FUNCTION_ERRORS = 1
# Below this many requests in 5 minutes the 5xx rate is not computed (reads as 0): one failed request
# out of three is not an outage, and an idle API must not alarm.
API_MIN_REQUESTS = 100
# SES publishes its reputation rates sparsely (a rate over recent sending, not a per-minute count).
SES_PERIOD = Duration.hours(1)
# IteratorAge is reported per batch; the age must stay over the threshold this many minutes running.
ITERATOR_AGE_MINUTES = 5
# The SES configuration set's reputation metrics (enabled on it) carry this dimension.
SES_CONFIGURATION_SET_DIMENSION = "ses:configuration-set"
STATE_MACHINE_METRICS = ("ExecutionsStarted", "ExecutionsFailed", "ExecutionsTimedOut")
WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6

_C = TypeVar("_C", bound=IConstruct)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        api: HttpApi,
        stream_consumers: Mapping[str, StreamConsumer],
        billing_runs: Daily,
        email_events: EmailEvents,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.config = config
        self.topic = self._topic(stack, config)
        self.alarms: list[cloudwatch.IAlarm] = []
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=config.stack_name,
            default_interval=Duration.hours(6),
        )

        # What it watches: every function and dead-letter queue the stack has made by now, in tree order.
        self.functions = _all_of(stack, ServiceFunction)
        self.dead_letters = _all_of(stack, DeadLetterQueue)
        functions, dead_letters = self.functions, self.dead_letters
        api_functions = {id(backend.handler) for backend in api.backends}

        # Alarms.
        for queue in dead_letters:
            self._dead_letters_alarm(queue)
        for consumer in stream_consumers.values():
            self._iterator_age_alarm(consumer)
        api_5xx_rate = self._api_5xx_alarm(api)
        bounce_rate, complaint_rate = self._ses_alarms()
        for service in functions:
            self._errors_alarm(
                service, API_FUNCTION_ERRORS if id(service.function) in api_functions else FUNCTION_ERRORS
            )
        # The daily billing run's own alarm (a day without a run) is the schedule's; it notifies here.
        self.notify(billing_runs.missed_run)
        self._workspaces_not_billed_alarm()

        self._dashboard(
            api=api,
            api_5xx_rate=api_5xx_rate,
            stream_consumers=stream_consumers,
            billing_runs=billing_runs,
            ses_rates=(bounce_rate, complaint_rate),
            configuration_set_name=email_events.configuration_set_name,
        )
        output(
            self,
            "AlarmTopicArn",
            self.topic.topic_arn,
            "SNS topic every alarm notifies (subscribe to it, or set context alarm_email)",
        )
        output(self, "DashboardName", self.dashboard.dashboard_name, "CloudWatch dashboard of the deployment")

    def notify(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        """Send ``alarm``'s changes to the topic: into alarm, and back to OK (so whoever was told it broke
        is told it recovered)."""
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def add_state_machine(self, machine: sfn.IStateMachine) -> None:
        """Alarm on ``machine``'s failed and timed-out executions (the dashboard graphs it already).

        Only for machines the stack defines: alarms take no search expressions, so the state machines
        campaigns create at run time are on the dashboard only."""
        name = _construct_name(self, machine)
        for kind, metric in (
            ("failed", machine.metric_failed(period=PERIOD, statistic="Sum")),
            ("timed out", machine.metric_timed_out(period=PERIOD, statistic="Sum")),
        ):
            # Missing data: a machine with no executions reports nothing, which is no failure.
            self.notify(
                metric.create_alarm(
                    self,
                    f"{name}Executions{kind.title().replace(' ', '')}",
                    alarm_description=f"Nudge state machine {machine.node.id}: an execution {kind}",
                    threshold=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )

    # --- the dashboard -------------------------------------------------------------------------------

    def _dashboard(
        self,
        *,
        api: HttpApi,
        api_5xx_rate: cloudwatch.IMetric,
        stream_consumers: Mapping[str, StreamConsumer],
        billing_runs: Daily,
        ses_rates: tuple[cloudwatch.Metric, cloudwatch.Metric],
        configuration_set_name: str,
    ) -> None:
        """Two graphs a row: the API, the streams, the state machines, sending, SES, the functions."""
        functions, dead_letters = self.functions, self.dead_letters
        config = self.config
        http_api = api.http_api
        evaluation = stream_consumers["evaluate"]
        billing = billing_runs.function
        configuration_set = {SES_CONFIGURATION_SET_DIMENSION: configuration_set_name}
        bounce_rate, complaint_rate = ses_rates
        rows: list[list[cloudwatch.IWidget]] = [
            [
                _graph(
                    "API requests", [http_api.metric_count(period=PERIOD, statistic="Sum", label="requests")]
                ),
                _graph(
                    "API errors",
                    [
                        http_api.metric_client_error(period=PERIOD, statistic="Sum", label="4xx"),
                        http_api.metric_server_error(period=PERIOD, statistic="Sum", label="5xx"),
                    ],
                    right=[api_5xx_rate],
                ),
            ],
            [
                _graph(
                    "API latency (ms)",
                    [
                        http_api.metric_latency(period=PERIOD, statistic=s, label=s)
                        for s in ("p50", "p90", "p99")
                    ],
                ),
                _graph(
                    "Stream iterator age (ms)",
                    [
                        c.function.metric(
                            "IteratorAge", period=Duration.minutes(1), statistic="Maximum", label=name
                        )
                        for name, c in sorted(stream_consumers.items())
                    ],
                    annotation=("alarm", config.iterator_age_alarm_seconds * 1000),
                ),
            ],
            [
                _graph(
                    "Evaluation failures",
                    [
                        evaluation.function.metric_errors(
                            period=PERIOD, statistic="Sum", label="evaluate errors"
                        )
                    ],
                    right=[
                        c.dead_letters.queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, statistic="Maximum", label=f"{name} stream dead letters"
                        )
                        for name, c in sorted(stream_consumers.items())
                    ],
                ),
                _graph(
                    "Billing runs",
                    [
                        billing.metric_invocations(
                            period=Duration.hours(1), statistic="Sum", label="invocations"
                        ),
                        billing.metric_errors(period=Duration.hours(1), statistic="Sum", label="errors"),
                    ],
                ),
            ],
            # Every state machine: those the stack defines, and those campaigns create at run time.
            [
                _graph(
                    "Step Functions executions (all state machines)",
                    [_total("AWS/States", ["StateMachineArn"], name, name) for name in STATE_MACHINE_METRICS],
                ),
                _graph(
                    "Failed executions, by state machine",
                    [_each("AWS/States", ["StateMachineArn"], "ExecutionsFailed")],
                ),
            ],
            [
                _graph(
                    "Messages sent, by channel",
                    [_each(telemetry.NAMESPACE, [telemetry.DIMENSION], telemetry.SENT)],
                ),
                _graph(
                    "Messages not sent (all channels)",
                    [
                        _total(telemetry.NAMESPACE, [telemetry.DIMENSION], name, name)
                        for name in telemetry.SEND_METRICS
                        if name != telemetry.SENT
                    ],
                ),
            ],
            [
                _graph(
                    "Email feedback (SES events)",
                    [
                        cloudwatch.Metric(
                            namespace=telemetry.NAMESPACE,
                            metric_name=name,
                            dimensions_map={telemetry.DIMENSION: telemetry.FEEDBACK_CHANNEL},
                            period=PERIOD,
                            statistic="Sum",
                            label=name,
                        )
                        for name in telemetry.FEEDBACK_METRICS
                    ],
                ),
                _graph(
                    "Dead-letter queues (messages waiting)",
                    [
                        q.queue.metric_approximate_number_of_messages_visible(
                            period=PERIOD, statistic="Maximum", label=_label(q)
                        )
                        for q in dead_letters
                    ],
                ),
            ],
            [
                _graph(
                    "SES bounce rate",
                    [
                        bounce_rate.with_(label="account"),
                        _ses_metric("Reputation.BounceRate", configuration_set).with_(
                            label="configuration set"
                        ),
                    ],
                    annotation=("alarm", config.ses_bounce_alarm_rate),
                ),
                _graph(
                    "SES complaint rate",
                    [
                        complaint_rate.with_(label="account"),
                        _ses_metric("Reputation.ComplaintRate", configuration_set).with_(
                            label="configuration set"
                        ),
                    ],
                    annotation=("alarm", config.ses_complaint_alarm_rate),
                ),
            ],
            [
                _graph(
                    "Function errors",
                    [
                        s.function.metric_errors(period=PERIOD, statistic="Sum", label=s.service_name)
                        for s in functions
                    ],
                    width=WIDGET_WIDTH * 2,
                )
            ],
        ]
        for row in rows:
            self.dashboard.add_widgets(*row)

    # --- the topic -----------------------------------------------------------------------------------

    def _topic(self, stack: Stack, config: DeployConfig) -> sns.Topic:
        # A customer managed key, not alias/aws/sns: CloudWatch publishes to an encrypted topic only if the
        # key policy lets it use the key, and the AWS managed key's policy cannot be changed.
        key = kms.Key(self, "TopicKey", description="Nudge alarm topic", enable_key_rotation=True)
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchPublishesEncryptedAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],  # in a key policy: this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        topic = sns.Topic(
            self, "Topic", display_name=f"Nudge {config.stage} alarms", master_key=key, enforce_ssl=True
        )
        # This account's alarms, and nobody else's, may publish.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if config.alarm_email:
            # SNS emails the address a confirmation link first: nothing arrives until it is followed.
            topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        return topic

    # --- the alarms ----------------------------------------------------------------------------------

    def _dead_letters_alarm(self, dead_letters: DeadLetterQueue) -> None:
        metric = dead_letters.queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum"
        )
        # Missing data: SQS stops reporting on a queue that stays empty and untouched; a queue holding
        # messages always reports. Nothing reported is nothing waiting.
        self.notify(
            metric.create_alarm(
                self,
                f"{_construct_name(self, dead_letters)}NotEmpty",
                alarm_description=f"Nudge dead letters waiting: {dead_letters.receives}",
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _iterator_age_alarm(self, consumer: StreamConsumer) -> None:
        metric = consumer.function.metric("IteratorAge", period=Duration.minutes(1), statistic="Maximum")
        # Missing data: IteratorAge is reported only when the mapping invokes the function, and a stream
        # with no new records invokes nothing: that is not lag. A consumer that keeps failing is still
        # invoked (its retries report the growing age), and what it gives up on reaches its dead letters.
        self.notify(
            metric.create_alarm(
                self,
                f"{_construct_name(self, consumer)}IteratorAge",
                alarm_description=(
                    f"Nudge {consumer.consumer} stream consumer more than "
                    f"{self.config.iterator_age_alarm_seconds} s behind for {ITERATOR_AGE_MINUTES} minutes"
                ),
                threshold=self.config.iterator_age_alarm_seconds * 1000,  # IteratorAge is in milliseconds
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=ITERATOR_AGE_MINUTES,
                datapoints_to_alarm=ITERATOR_AGE_MINUTES,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _api_5xx_alarm(self, api: HttpApi) -> cloudwatch.MathExpression:
        rate = cloudwatch.MathExpression(
            # Not computed below API_MIN_REQUESTS requests; 5xx reads as 0 when API Gateway reported none.
            expression=f"IF(requests >= {API_MIN_REQUESTS}, FILL(errors, 0) / requests, 0)",
            using_metrics={
                "requests": api.http_api.metric_count(period=PERIOD, statistic="Sum"),
                "errors": api.http_api.metric_server_error(period=PERIOD, statistic="Sum"),
            },
            label="5xx rate",
            period=PERIOD,
        )
        # Missing data: no requests at all in 5 minutes reports nothing, and an idle API is not failing.
        self.notify(
            rate.create_alarm(
                self,
                "Api5xxRate",
                alarm_description=(
                    f"Nudge API: more than {self.config.api_5xx_alarm_rate:.1%} of requests answered 5xx "
                    f"over 5 minutes (with at least {API_MIN_REQUESTS} requests)"
                ),
                threshold=self.config.api_5xx_alarm_rate,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        return rate

    def _ses_alarms(self) -> tuple[cloudwatch.Metric, cloudwatch.Metric]:
        """The account's reputation, which is what SES reviews and pauses: alarms at the configured
        fractions of SES's own thresholds (see ``DeployConfig``)."""
        found = []
        for metric_name, threshold, what in (
            ("Reputation.BounceRate", self.config.ses_bounce_alarm_rate, "bounce"),
            ("Reputation.ComplaintRate", self.config.ses_complaint_alarm_rate, "complaint"),
        ):
            metric = _ses_metric(metric_name)
            # Missing data: SES reports these sparsely, and not at all for an account that sends nothing.
            # Ignoring the gaps keeps the last state instead of flapping back to OK between reports while
            # the rate is still high.
            self.notify(
                metric.create_alarm(
                    self,
                    f"Ses{what.title()}Rate",
                    alarm_description=(
                        f"Nudge SES {what} rate at or over {threshold:.2%}: SES reviews the account at "
                        f"{'5%' if what == 'bounce' else '0.1%'}"
                    ),
                    threshold=threshold,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    evaluation_periods=1,
                    treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
                )
            )
            found.append(metric)
        return found[0], found[1]

    def _workspaces_not_billed_alarm(self) -> None:
        """A billing run that billed every workspace but some (their names are in the billing function's
        log, "workspace not billed"). The failed invocation also trips the function's errors alarm and,
        after Lambda's retries, the billing dead-letter queue's: this one says which problem it is."""
        metric = cloudwatch.Metric(
            namespace=telemetry.NAMESPACE,
            metric_name=billing_telemetry.WORKSPACES_NOT_BILLED,
            period=Duration.days(1),
            statistic=cloudwatch.Stats.MAXIMUM,
        )
        # Missing data: every run reports the count, 0 included, so no data is no run, which is the
        # missed-run alarm's case. Over a day, so it stays raised until a day's runs bill everyone.
        self.notify(
            metric.create_alarm(
                self,
                "BillingWorkspacesNotBilled",
                alarm_description="Nudge billing run: one or more workspaces could not be billed",
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )

    def _errors_alarm(self, service: ServiceFunction, threshold: int) -> None:
        metric = service.function.metric_errors(period=PERIOD, statistic="Sum")
        # Missing data: Lambda reports Errors only for periods with invocations; none is no error.
        self.notify(
            metric.create_alarm(
                self,
                f"{_construct_name(self, service)}Errors",
                alarm_description=(
                    f"Nudge {service.service_name} function: {threshold} or more errors in 5 minutes"
                ),
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )


def _all_of(stack: Stack, kind: type[_C]) -> list[_C]:
    """Every construct of ``kind`` in the stack, in tree order."""
    return [node for node in stack.node.find_all() if isinstance(node, kind)]


def _construct_name(monitoring: Monitoring, construct: IConstruct) -> str:
    """A construct id for an alarm about ``construct``: its path in the stack, without the slashes
    (unique, and stable as long as the construct is)."""
    stack_path = Stack.of(monitoring).node.path
    path = construct.node.path
    relative = path[len(stack_path) + 1 :] if path.startswith(stack_path + "/") else construct.node.id
    return "".join(part[:1].upper() + part[1:] for part in relative.split("/"))


def _label(dead_letters: DeadLetterQueue) -> str:
    return dead_letters.node.scope.node.id if dead_letters.node.scope is not None else dead_letters.node.id


def _ses_metric(metric_name: str, dimensions: Mapping[str, str] | None = None) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SES",
        metric_name=metric_name,
        dimensions_map=dict(dimensions) if dimensions else None,
        period=SES_PERIOD,
        statistic="Maximum",
    )


def _search(namespace: str, dimensions: Sequence[str], metric_name: str) -> str:
    """A search expression over every metric ``metric_name`` of ``namespace`` with these dimensions,
    summed per period; dashboards only, alarms take none."""
    schema = ",".join([namespace, *dimensions])
    return f"SEARCH('{{{schema}}} MetricName=\"{metric_name}\"', 'Sum', {int(PERIOD.to_seconds())})"


def _each(namespace: str, dimensions: Sequence[str], metric_name: str) -> cloudwatch.MathExpression:
    """One line per metric found (a state machine, a channel), each labelled by its dimension value."""
    return cloudwatch.MathExpression(
        expression=_search(namespace, dimensions, metric_name), label="", period=PERIOD, using_metrics={}
    )


def _total(
    namespace: str, dimensions: Sequence[str], metric_name: str, label: str
) -> cloudwatch.MathExpression:
    """One line: every metric found, added up."""
    return cloudwatch.MathExpression(
        expression=f"SUM({_search(namespace, dimensions, metric_name)})",
        label=label,
        period=PERIOD,
        using_metrics={},
    )


def _graph(
    title: str,
    left: Iterable[cloudwatch.IMetric],
    *,
    right: Iterable[cloudwatch.IMetric] = (),
    annotation: tuple[str, float] | None = None,
    width: int = WIDGET_WIDTH,
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(left),
        right=list(right),
        left_annotations=(
            [cloudwatch.HorizontalAnnotation(label=annotation[0], value=annotation[1])]
            if annotation
            else None
        ),
        width=width,
        height=WIDGET_HEIGHT,
    )
