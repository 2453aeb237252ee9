"""The Nudge stack: a thin composition of one construct per concern."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from aws_cdk import CfnOutput, Duration, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.build import BuiltAssets
from infra.components.campaigns import METRICS_ACTIONS, METRICS_PARTITIONS, CampaignWorkflows
from infra.components.console_auth import ConsoleAuth
from infra.components.console_site import ConsoleSite
from infra.components.delivery import (
    EmailEvents,
    FeedbackSubscription,
    LinkSecret,
    PushApplication,
    SmsSending,
)
from infra.components.exports import Exports
from infra.components.function import ServiceFunction
from infra.components.http_api import ApiBackend, HttpApi
from infra.components.layers import SharedLayers
from infra.components.monitoring import Monitoring
from infra.components.reporting import ReportingWebhooks
from infra.components.schedule import Daily, EveryMinute
from infra.components.streams import StreamConsumer
from infra.components.tables import DataTables
from infra.config import PROJECT, DeployConfig, table_env_var
from nudge.delivery.queued import STREAM_FILTER
from nudge.http.app_api.routes import ROUTES as APP_ROUTES
from nudge.http.links import ROUTES as LINK_ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.http.track_api import ROUTES as TRACK_ROUTES
from nudge.model import TABLE_MODELS

# The tables each function reads and writes, from the code it runs. A function is told the names of
# exactly these tables and granted nothing else.
#
# Track: authenticates against workspace credentials (read only) and writes everything else, deliveries
# included (metrics reported by clients and SDKs, the in-app inbox).
TRACK_READS = frozenset({"workspaces"})
TRACK_WRITES = frozenset({"people", "events", "objects", "segments", "deliveries"})
# App API: authenticates app keys against workspaces, where it also reads delivery settings; reads
# activities (a person's, the workspace's) from the events table (events and page views) and the activity
# log (everything else); writes
# people (a transactional send creates its recipient if missing), segments (definitions, the dependency
# index, manual memberships), billing (asking for this period's usage opens the workspace's first period,
# and its opening invoice, if absent), deliveries (transactional sends, templates, layouts, snippets) and
# campaigns (definitions, states and the trigger index; a broadcast's status and request), and the
# console's members and sessions (console). Workspaces stay read only: only the operator writes them.
API_READS = frozenset({"workspaces", "events", "activities"})
API_WRITES = frozenset({"people", "segments", "billing", "deliveries", "campaigns", "exports", "console"})
# Evaluation from the streams: reads a person's profile and devices, events, objects and relationships,
# and a workspace's billing anchor; writes memberships, re-checks and backfill progress to segments,
# usage metering (counters, identities, once-only markers) to billing, campaign entries to campaigns
# (the trigger index and campaigns read; journey claims and date triggers written), and attribute
# changes and segment entries and exits to the activity log.
# It also reads the workspace's reporting webhooks (deliveries) to queue subscription changes for them.
EVALUATION_READS = frozenset({"workspaces", "people", "events", "objects", "deliveries"})
EVALUATION_WRITES = frozenset({"segments", "billing", "campaigns", "activities"})
# The sweep runs the evaluate function's code but only the segment re-checks, which never meter usage,
# and the campaign date triggers: evaluation's segment access (memberships, re-checks, the sweep's
# bookmark), and campaigns (due date triggers through their index, consumed; journey claims; the date
# sweep's bookmark). A re-checked condition on subscription topics reads their defaults (deliveries).
SWEEP_READS = frozenset({"people", "events", "objects", "deliveries"})
SWEEP_WRITES = frozenset({"segments", "campaigns"})
# The campaigns function, every Task of every campaign's state machine and each page of a broadcast:
# journeys, metrics, broadcasts and date triggers in campaigns; people identified (set attribute) and
# created (a broadcast to unknown ids or emails); messages queued as deliveries; manual segment
# memberships added and removed; events and objects (relationships, related objects) only read, by
# conditions, filters and goals. Nothing of the workspace is read.
CAMPAIGNS_READS = frozenset({"events", "objects"})
CAMPAIGNS_WRITES = frozenset({"campaigns", "people", "deliveries", "segments"})
# The daily billing run: scans workspaces (read only); reads usage counters and credits, and writes
# periods, invoices and applied credits, all in billing; queues each invoice's email as a delivery.
BILLING_READS = frozenset({"workspaces"})
BILLING_WRITES = frozenset({"billing", "deliveries"})
# Sending, from the deliveries stream: reads a workspace's billing anchor, and a person's profile and
# devices; reads delivery settings and templates, claims and records deliveries (and the inbox, blocked
# addresses and limit counters beside them), meters each message into billing, and records each metric a
# message reaches in the activity log.
SEND_READS = frozenset({"workspaces", "people"})
SEND_WRITES = frozenset({"deliveries", "billing", "activities"})
# The scheduled-delivery release runs the send function's code but only queues deliveries whose time
# came (and keeps its bookmark), all in deliveries.
RELEASE_READS: frozenset[str] = frozenset()
RELEASE_WRITES = frozenset({"deliveries"})
# The exports worker: people (the index and profiles) and segment memberships for a customers export,
# deliveries for a deliveries export, all read; its exports' records and progress written.
EXPORTS_READS = frozenset({"people", "segments", "deliveries"})
EXPORTS_WRITES = frozenset({"exports"})
# The reporting webhooks' worker: a webhook and the delivery an event is about (deliveries), and the
# person's identifiers (people), all read; it writes nothing.
REPORTING_READS = frozenset({"deliveries", "people"})
REPORTING_WRITES: frozenset[str] = frozenset()
# The public links: record opens, clicks and unsubscribes on deliveries, and unsubscribe the person
# through identify (profile and identifier look-ups, in people). Nothing of the workspace is read.
LINKS_READS: frozenset[str] = frozenset()
LINKS_WRITES = frozenset({"deliveries", "people"})
# SES feedback: metrics on deliveries, blocked addresses beside them, and complaints unsubscribe the
# person through identify; a delivery whose send outcome was unknown is metered once SES reports on it
# (billing, against the workspace's billing anchor).
FEEDBACK_READS = frozenset({"workspaces"})
FEEDBACK_WRITES = frozenset({"deliveries", "people", "billing"})


class _Consumer(NamedTuple):
    """A function fed table streams: its construct, the tables it is told of, its event filters."""

    construct_id: str
    service: ServiceFunction
    told: frozenset[str]
    filters: Sequence[Mapping[str, Any]] = ()


class NudgeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, assets: BuiltAssets, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", PROJECT)
        Tags.of(self).add("stage", config.stage)
        self.config = config

        self.tables = DataTables(self, "Tables", models=TABLE_MODELS)
        self.layers = SharedLayers(
            self, "Layers", domain_dir=assets.domain_layer, dependencies_dir=assets.dependencies_layer
        )

        # What sending needs before any function exists: the functions are told their names and ARNs.
        self.email_events = EmailEvents(self, "EmailEvents")
        self.link_secret = LinkSecret(self, "LinkSecret")
        self.push = (
            PushApplication(self, "Push", name=f"nudge-{config.stage}") if config.push_enabled else None
        )

        self.track = self._service(
            "Track",
            code_dir=assets.functions["track"],
            reads=TRACK_READS,
            writes=TRACK_WRITES,
            sized_as="track",
        )
        # Template previews render the message (signed links, the default sender), and delivery settings
        # carry the webhook signing key derived from the link secret.
        self.app_api = self._service(
            "Api",
            code_dir=assets.functions["api"],
            reads=API_READS,
            writes=API_WRITES,
            sized_as="api",
            environment={
                "NUDGE_LINK_SECRET_ARN": self.link_secret.arn,
                "NUDGE_DEFAULT_FROM": config.default_from,
            },
        )
        self.link_secret.grant_read(self.app_api.function)
        # The web console's users: the App API signs them in and creates them (members).
        self.console_auth = ConsoleAuth(self, "ConsoleAuth", stage=config.stage)
        self.console_auth.grant_sign_in(self.app_api.function)
        self.exports_worker = self._service(
            "Exports",
            code_dir=assets.functions["exports"],
            reads=EXPORTS_READS,
            writes=EXPORTS_WRITES,
            sized_as="exports",
        )
        self.exports = Exports(
            self,
            "ExportFiles",
            worker=self.exports_worker.function,
            timeout=Duration.seconds(config.exports_timeout_seconds),
        )
        self.exports.grant_start_and_download(self.app_api.function)
        self.evaluate = self._service(
            "Evaluate",
            code_dir=assets.functions["evaluate"],
            reads=EVALUATION_READS,
            writes=EVALUATION_WRITES,
            sized_as="evaluate",
        )
        self.sweep = self._service(
            "Sweep",
            code_dir=assets.functions["evaluate"],
            handler="handler.sweep",
            reads=SWEEP_READS,
            writes=SWEEP_WRITES,
            sized_as="sweep",
        )
        self.billing = self._service(
            "Billing",
            code_dir=assets.functions["billing"],
            reads=BILLING_READS,
            writes=BILLING_WRITES,
            sized_as="billing",
        )
        self.send = self._service(
            "Send",
            code_dir=assets.functions["send"],
            reads=SEND_READS,
            writes=SEND_WRITES,
            sized_as="send",
            environment=self._send_environment(config),
        )
        self.link_secret.grant_read(self.send.function)
        self.email_events.grant_send(self.send.function, sender_domain=config.sender_domain)
        self.sms = SmsSending(self, "SmsSending", function=self.send.function)
        if self.push is not None:
            self.push.grant_send(self.send.function)
        self.release = self._service(
            "ReleaseScheduled",
            code_dir=assets.functions["send"],
            handler="handler.release_scheduled",
            reads=RELEASE_READS,
            writes=RELEASE_WRITES,
            sized_as="release",
        )
        self.links = self._service(
            "Links",
            code_dir=assets.functions["links"],
            reads=LINKS_READS,
            writes=LINKS_WRITES,
            sized_as="links",
            environment={"NUDGE_LINK_SECRET_ARN": self.link_secret.arn},
        )
        self.link_secret.grant_read(self.links.function)
        self.feedback = self._service(
            "Feedback",
            code_dir=assets.functions["feedback"],
            reads=FEEDBACK_READS,
            writes=FEEDBACK_WRITES,
            sized_as="feedback",
        )
        self.campaigns = self._service(
            "Campaigns",
            code_dir=assets.functions["campaigns"],
            reads=CAMPAIGNS_READS,
            writes=CAMPAIGNS_WRITES,
            sized_as="campaigns",
        )
        # Campaign state machines: the App API deploys them at activation (and starts broadcasts); a
        # journey starts from evaluation (events, memberships, attributes), the sweep (date triggers) or a
        # broadcast page (the campaigns function). No cycle: the machines' role and the broadcast machine
        # name the campaigns function, which names no machine (it starts them by their name's prefix).
        self.campaign_workflows = CampaignWorkflows(
            self, "CampaignWorkflows", function=self.campaigns.function, config=config
        )
        self.campaign_workflows.grant_deploy(self.app_api.function)
        for service in (self.evaluate, self.sweep, self.campaigns):
            self.campaign_workflows.grant_start_campaigns(service.function)
        # Campaign messages' delivery metrics (opens, clicks, bounces, ...) also count on their campaign:
        # the functions recording them (Track: client metrics and the in-app inbox; links; SES feedback)
        # write the campaign's counters, and no other item of the campaigns table.
        for service in (self.track, self.links, self.feedback):
            self.tables.grant_partitions(
                service.function,
                "campaigns",
                actions=METRICS_ACTIONS,
                partition_keys=METRICS_PARTITIONS,
            )
            for name, value in self.tables.environment(frozenset({"campaigns"})).items():
                service.function.add_environment(name, value)

        # One API for all three: Customer.io's clients take the Track and App base URLs separately, and
        # both are this API's URL, as is the base of the links in messages. (Its construct id predates the
        # App routes; renaming it would replace the API, and with it the URL every client is configured
        # with and every link already sent.)
        self.api = HttpApi(
            self,
            "TrackApi",
            backends=[
                ApiBackend(
                    "Track",
                    self.track.function,
                    [(route.method, route.path) for route in TRACK_ROUTES],
                    "Customer.io's Track API authenticates with HTTP Basic (site id and API key) per "
                    "workspace: the function checks it against the hashed key on every request.",
                ),
                ApiBackend(
                    "App",
                    self.app_api.function,
                    [(route.method, route.path) for route in APP_ROUTES],
                    "Customer.io's App API authenticates with a Bearer app key per workspace: the function "
                    "looks the key's hash up in the workspaces table on every request. The web console "
                    "signs in at POST /v1/session (Cognito checks the password) and sends a session cookie "
                    "whose hash, and the user's role in the workspace, the function looks up the same way.",
                    proxies=[APP_OLDER_BASE.proxy_path],
                ),
                ApiBackend(
                    "Links",
                    self.links.function,
                    [(route.method, route.path) for route in LINK_ROUTES],
                    "Public by design: these are the links in sent messages, followed by recipients' mail "
                    "clients and browsers, which hold no credentials. Each path carries a token signed "
                    "(HMAC) with the link secret, verified by the function, naming the one delivery it may "
                    "touch; a forged or altered token is refused.",
                ),
            ],
            config=config,
        )
        # Links in messages start with the API's URL: the custom domain's when there is one (links already
        # sent then outlive a replaced API), else the API's own. The functions that render messages are
        # told it here: the API resource depends on no function, so this makes no cycle.
        for service in (self.send, self.app_api):
            service.function.add_environment("NUDGE_LINKS_URL", self.api.endpoint)
        # GET /api/v1/accounts/region tells clients their Track URL; without this, the host the request
        # came in on (nudge.http.lambda_http.base_url), which may be the API's own rather than the domain.
        if self.api.custom_url:
            self.track.function.add_environment("NUDGE_TRACK_URL", self.api.custom_url)

        # Keyed by the models' Meta.stream_consumer.
        self.stream_consumers = self._stream_consumers(
            {
                "evaluate": _Consumer(
                    "StreamEvaluation", self.evaluate, EVALUATION_READS | EVALUATION_WRITES
                ),
                "send": _Consumer(
                    "StreamSending",
                    self.send,
                    SEND_READS | SEND_WRITES,
                    # Only records whose new image is a delivery: the inbox, counters and templates beside
                    # them and removals never invoke the function. It sends the newly queued ones and
                    # records the metrics the others reached in the activity log.
                    [lambda_.FilterCriteria.filter(STREAM_FILTER)],
                ),
            }
        )
        self.rechecks = EveryMinute(
            self, "SegmentRechecks", function=self.sweep.function, name="segment re-check sweep"
        )
        self.releases = EveryMinute(
            self, "ScheduledReleases", function=self.release.function, name="scheduled-delivery release"
        )
        # 00:05 UTC, just after the day's period boundaries (periods start at midnight UTC). The run bills
        # as of its event's time and catches up on periods a missed day left open.
        self.billing_runs = Daily(
            self, "BillingRuns", function=self.billing.function, name="billing run", hour=0, minute=5
        )
        self.feedback_subscription = FeedbackSubscription(
            self, "FeedbackSubscription", topic=self.email_events.topic, function=self.feedback.function
        )

        # Reporting webhooks: where outcomes and subscription changes happen, events are queued for the
        # worker, which signs them with a key derived from the link secret.
        self.reporting_worker = self._service(
            "Reporting",
            code_dir=assets.functions["reporting"],
            reads=REPORTING_READS,
            writes=REPORTING_WRITES,
            sized_as="reporting",
            environment={"NUDGE_LINK_SECRET_ARN": self.link_secret.arn},
        )
        self.link_secret.grant_read(self.reporting_worker.function)
        self.reporting = ReportingWebhooks(
            self,
            "ReportingWebhooks",
            worker=self.reporting_worker.function,
            timeout=Duration.seconds(config.reporting_timeout_seconds),
        )
        for service in (self.send, self.links, self.feedback, self.track, self.evaluate):
            self.reporting.grant_enqueue(service.function)

        # After everything it watches: it alarms on every function and dead-letter queue the stack has
        # made by now. A state machine the stack defines is added with monitoring.add_state_machine.
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            api=self.api,
            stream_consumers=self.stream_consumers,
            billing_runs=self.billing_runs,
            email_events=self.email_events,
        )
        self.monitoring.add_state_machine(self.campaign_workflows.broadcast_machine)
        # After monitoring: its one function is CDK's BucketDeployment handler, which runs during deploys
        # only (a failure there fails the deploy, which is where it is seen).
        self.console = ConsoleSite(
            self,
            "Console",
            dist=assets.console,
            api=self.api.http_api,
            api_paths=[route.path for route in APP_ROUTES] + [APP_OLDER_BASE.proxy_path],
            config=config,
        )

        CfnOutput(self, "TrackApiUrl", value=self.api.url, description="Base URL of the Track API")
        CfnOutput(self, "AppApiUrl", value=self.api.url, description="Base URL of the App API (the same API)")
        if self.api.domain is not None:
            CfnOutput(
                self,
                "CustomDomainTarget",
                value=self.api.domain.regional_domain_name,
                description=f"Point {config.custom_domain} here (a CNAME, or an alias record)",
            )
            CfnOutput(
                self,
                "CustomDomainHostedZoneId",
                value=self.api.domain.regional_hosted_zone_id,
                description="Hosted zone id of CustomDomainTarget, for a Route 53 alias record",
            )
        # The generated table names, for the nudge CLI (NUDGE_<TABLE>_TABLE) and for operators.
        for name, table in self.tables.tables.items():
            CfnOutput(
                self,
                f"{name.title()}TableName",
                value=table.table_name,
                description=f"The {name} table (give it to the nudge CLI as {table_env_var(name)})",
            )
        CfnOutput(
            self,
            "ConsoleUrl",
            value=self.console.url,
            description="The web console (sign in with a user added by nudge user add)",
        )
        if config.console_domain:
            CfnOutput(
                self,
                "ConsoleDomainTarget",
                value=self.console.distribution.distribution_domain_name,
                description=f"Point {config.console_domain} here (a CNAME, or a Route 53 alias)",
            )
        CfnOutput(
            self,
            "ConsoleUserPoolId",
            value=self.console_auth.pool.user_pool_id,
            description="The console's Cognito user pool (give it to nudge user add as NUDGE_USER_POOL_ID)",
        )
        CfnOutput(
            self,
            "ConsoleUserPoolClientId",
            value=self.console_auth.client.user_pool_client_id,
            description="The console's app client (give it to nudge user add as NUDGE_USER_POOL_CLIENT_ID)",
        )
        CfnOutput(
            self,
            "EmailConfigurationSetName",
            value=self.email_events.configuration_set_name,
            description="SES configuration set every email is sent with",
        )
        CfnOutput(
            self,
            "FeedbackTopicArn",
            value=self.email_events.topic.topic_arn,
            description="SNS topic SES publishes email events to",
        )
        CfnOutput(
            self,
            "LinkSecretArn",
            value=self.link_secret.arn,
            description="Secrets Manager secret that signs message links (rotating it breaks sent links)",
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.monitoring.topic.topic_arn,
            description="SNS topic every alarm notifies (subscribe to it, or set context alarm_email)",
        )
        CfnOutput(
            self,
            "DashboardName",
            value=self.monitoring.dashboard.dashboard_name,
            description="CloudWatch dashboard of the deployment",
        )
        CfnOutput(
            self,
            "BroadcastMachineArn",
            value=self.campaign_workflows.broadcast_machine.state_machine_arn,
            description="Step Functions state machine that fans campaign broadcasts out",
        )
        CfnOutput(
            self,
            "CampaignRoleArn",
            value=self.campaign_workflows.role.role_arn,
            description="Role every campaign state machine runs as (invokes the campaigns function only)",
        )
        if self.push is not None:
            CfnOutput(
                self,
                "PushApplicationId",
                value=self.push.application_id,
                description="Push application: set its APNs and FCM credentials",
            )

    def _send_environment(self, config: DeployConfig) -> dict[str, str]:
        environment = {
            "NUDGE_LINK_SECRET_ARN": self.link_secret.arn,
            "NUDGE_SES_CONFIGURATION_SET": self.email_events.configuration_set_name,
            "NUDGE_DEFAULT_FROM": config.default_from,
        }
        if self.push is not None:
            environment["NUDGE_PINPOINT_APPLICATION_ID"] = self.push.application_id
        if config.sms_sender_id:
            environment["NUDGE_SMS_SENDER_ID"] = config.sms_sender_id
        return environment

    def _stream_consumers(self, consumers: Mapping[str, _Consumer]) -> dict[str, StreamConsumer]:
        """Every streamed table's changes, to the function its model names."""
        unconsumed = self.tables.stream_consumers - consumers.keys()
        if unconsumed:
            raise ValueError(f"tables stream to functions this stack does not have: {sorted(unconsumed)}")
        built = {}
        for name, consumer in consumers.items():
            tables = self.tables.streamed(name)
            unreadable = tables.keys() - consumer.told
            if unreadable:
                # A consumer tells a record's table by the table names it was given.
                raise ValueError(f"{name} consumes streams of tables it is not given: {sorted(unreadable)}")
            built[name] = StreamConsumer(
                self,
                consumer.construct_id,
                function=consumer.service.function,
                consumer=name,
                tables=tables,
                filters=consumer.filters,
            )
        return built

    def _service(
        self,
        construct_id: str,
        *,
        code_dir: Path,
        reads: frozenset[str],
        writes: frozenset[str],
        sized_as: str,
        handler: str = "handler.handler",
        environment: Mapping[str, str] | None = None,
    ) -> ServiceFunction:
        """A function told the names of exactly the tables it is granted, and granted nothing else; its
        memory and timeout are the config's ``<sized_as>_memory_mb`` and ``<sized_as>_timeout_seconds``."""
        service = ServiceFunction(
            self,
            construct_id,
            code_dir=code_dir,
            service_name=construct_id.lower(),
            handler=handler,
            layers=self.layers.all,
            environment={**self.tables.environment(reads | writes), **(environment or {})},
            config=self.config,
            memory_mb=int(getattr(self.config, f"{sized_as}_memory_mb")),
            timeout_seconds=int(getattr(self.config, f"{sized_as}_timeout_seconds")),
        )
        self.tables.grant(service.function, read_only=reads, read_write=writes)
        return service
