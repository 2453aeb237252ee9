"""The Nudge stack: a thin composition of one construct per concern, its functions read from the table
in ``infra.functions``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import functions as declared
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
from infra.components.function import FunctionCode, ServiceFunction
from infra.components.http_api import ApiBackend, HttpApi
from infra.components.layers import SharedLayers
from infra.components.monitoring import Monitoring
from infra.components.reporting import ReportingWebhooks
from infra.components.schedule import Daily, EveryMinute
from infra.components.streams import StreamConsumer
from infra.components.tables import DataTables
from infra.config import PROJECT, DeployConfig
from infra.functions import FUNCTIONS, TRIGGER_ORDER, Allowed, Told
from nudge.http.app_api.routes import ROUTES as APP_ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.model import TABLE_MODELS


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

        # Every function of the table, in its order (the dashboard's and the alarms' order).
        self.functions = {spec.construct_id: self._function(spec, assets) for spec in FUNCTIONS}
        self._work()
        for spec in FUNCTIONS:
            self._allow(spec)
        self.api = self._api()
        self.stream_consumers: dict[str, StreamConsumer] = {}
        self.minute_runs: dict[str, EveryMinute] = {}
        self.daily_runs: dict[str, Daily] = {}
        for kind in TRIGGER_ORDER:
            for spec in FUNCTIONS:
                for trigger in spec.triggers:
                    if isinstance(trigger, kind):
                        self._trigger(spec, trigger)
        unconsumed = self.tables.stream_consumers - self.stream_consumers.keys()
        if unconsumed:
            raise ValueError(f"tables stream to functions this stack does not have: {sorted(unconsumed)}")
        # 00:05 UTC, just after the day's period boundaries; its own alarm (a day without a run) notifies
        # through monitoring.
        self.billing_runs = self.daily_runs["BillingRuns"]
        self._reporting(config)

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

    def _function(self, spec: declared.Function, assets: BuiltAssets) -> ServiceFunction:
        """A function told the names of exactly the tables it is granted, and granted nothing else (but
        the link secret's read, when it is told the secret)."""
        told = self._told_before_the_api()
        service = ServiceFunction(
            self,
            spec.construct_id,
            code=FunctionCode(assets.functions[spec.code], self.layers.all, spec.handler),
            environment={
                **self.tables.environment(spec.tables),
                **{value.value: told[value] for value in spec.told if value in told},
            },
            config=self.config,
            sized_as=spec.sized_as,
        )
        self.tables.grant(service.function, read_only=spec.reads, read_write=spec.writes)
        if Told.LINK_SECRET in spec.told:
            self.link_secret.grant_read(service.function)
        return service

    def _told_before_the_api(self) -> dict[Told, str]:
        told = {
            Told.LINK_SECRET: self.link_secret.arn,
            Told.SES_CONFIGURATION_SET: self.email_events.configuration_set_name,
            Told.DEFAULT_FROM: self.config.default_from,
        }
        if self.push is not None:
            told[Told.PUSH_APPLICATION] = self.push.application_id
        if self.config.sms_sender_id:
            told[Told.SMS_SENDER_ID] = self.config.sms_sender_id
        return told

    def _work(self) -> None:
        """The constructs that own a function's work, and that other functions are allowed to use."""
        # The web console's users: the App API signs them in and creates them (members).
        self.console_auth = ConsoleAuth(self, "ConsoleAuth", stage=self.config.stage)
        self.exports = Exports(
            self,
            "ExportFiles",
            worker=self.functions["Exports"].function,
            timeout=Duration.seconds(self.config.exports_timeout_seconds),
        )
        # Campaign state machines: the App API deploys them at activation (and starts broadcasts); a
        # journey starts from evaluation (events, memberships, attributes), the sweep (date triggers) or a
        # broadcast page (the campaigns function). No cycle: the machines' role and the broadcast machine
        # name the campaigns function, which names no machine (it starts them by their name's prefix).
        self.campaign_workflows = CampaignWorkflows(
            self, "CampaignWorkflows", function=self.functions["Campaigns"].function, config=self.config
        )

    def _allow(self, spec: declared.Function) -> None:
        function = self.functions[spec.construct_id].function
        grants: Mapping[Allowed, Callable[[lambda_.Function], object]] = {
            Allowed.SIGN_IN_CONSOLE_USERS: self.console_auth.grant_sign_in,
            Allowed.START_EXPORTS: self.exports.grant_start_and_download,
            Allowed.DEPLOY_CAMPAIGNS: self.campaign_workflows.grant_deploy,
            Allowed.START_CAMPAIGNS: self.campaign_workflows.grant_start_campaigns,
            Allowed.RECORD_CAMPAIGN_METRICS: self._record_campaign_metrics,
            Allowed.SEND_EMAIL: lambda f: self.email_events.grant_send(
                f, sender_domain=self.config.sender_domain
            ),
            Allowed.SEND_SMS: lambda f: SmsSending(self, "SmsSending", function=f),
            Allowed.SEND_PUSH: lambda f: self.push.grant_send(f) if self.push is not None else None,
        }
        for allowed in spec.allowed:
            grants[allowed](function)

    def _record_campaign_metrics(self, function: lambda_.Function) -> None:
        """Campaign messages' delivery metrics (opens, clicks, bounces, ...) also count on their campaign:
        the functions recording them write the campaign's counters, and no other item of the campaigns
        table."""
        self.tables.grant_partitions(
            function, "campaigns", actions=METRICS_ACTIONS, partition_keys=METRICS_PARTITIONS
        )
        for name, value in self.tables.environment(frozenset({"campaigns"})).items():
            function.add_environment(name, value)

    def _api(self) -> HttpApi:
        # One API for all three: Customer.io's clients take the Track and App base URLs separately, and
        # both are this API's URL, as is the base of the links in messages. (Its construct id predates the
        # App routes; renaming it would replace the API, and with it the URL every client is configured
        # with and every link already sent.)
        api = HttpApi(
            self,
            "TrackApi",
            backends=[
                ApiBackend(
                    spec.routes.name,
                    self.functions[spec.construct_id].function,
                    list(spec.routes.routes),
                    spec.routes.authentication,
                    proxies=list(spec.routes.proxies),
                )
                for spec in FUNCTIONS
                if spec.routes is not None
            ],
            config=self.config,
        )
        # Links in messages start with the API's URL: the custom domain's when there is one (links already
        # sent then outlive a replaced API), else the API's own. The functions that render messages are
        # told it here: the API resource depends on no function, so this makes no cycle.
        # GET /api/v1/accounts/region tells clients their Track URL; without it, the host the request
        # came in on (nudge.http.lambda_http.base_url), which may be the API's own rather than the domain.
        told = {Told.LINKS_URL: api.endpoint}
        if api.custom_url:
            told[Told.TRACK_URL] = api.custom_url
        for spec in FUNCTIONS:
            for value in spec.told:
                if value in told:
                    self.functions[spec.construct_id].function.add_environment(value.value, told[value])
        return api

    def _trigger(self, spec: declared.Function, trigger: declared.Trigger) -> None:
        function = self.functions[spec.construct_id].function
        if isinstance(trigger, declared.Stream):
            tables = self.tables.streamed(trigger.consumer)
            unreadable = tables.keys() - spec.tables
            if unreadable:
                # A consumer tells a record's table by the table names it was given.
                raise ValueError(
                    f"{trigger.consumer} consumes streams of tables it is not given: {sorted(unreadable)}"
                )
            self.stream_consumers[trigger.consumer] = StreamConsumer(
                self,
                trigger.construct_id,
                function=function,
                consumer=trigger.consumer,
                tables=tables,
                filters=trigger.filters,
            )
        elif isinstance(trigger, declared.EveryMinute):
            self.minute_runs[trigger.construct_id] = EveryMinute(
                self, trigger.construct_id, function=function, name=trigger.name
            )
        elif isinstance(trigger, declared.Daily):
            self.daily_runs[trigger.construct_id] = Daily(
                self,
                trigger.construct_id,
                function=function,
                name=trigger.name,
                hour=trigger.hour,
                minute=trigger.minute,
            )
        else:
            self.feedback_subscription = FeedbackSubscription(
                self, trigger.construct_id, topic=self.email_events.topic, function=function
            )

    def _reporting(self, config: DeployConfig) -> None:
        """Reporting webhooks: where outcomes and subscription changes happen, events are queued for the
        worker, which signs them with a key derived from the link secret."""
        self.reporting = ReportingWebhooks(
            self,
            "ReportingWebhooks",
            worker=self.functions["Reporting"].function,
            timeout=Duration.seconds(config.reporting_timeout_seconds),
        )
        for spec in FUNCTIONS:
            if spec.reports:
                self.reporting.grant_enqueue(self.functions[spec.construct_id].function)
