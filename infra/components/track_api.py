"""The Track API: an HTTP API (payload v2) with exactly one route per entry in the route table."""

from __future__ import annotations

import json
from collections.abc import Iterable

import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.config import DeployConfig
from infra.nag import acknowledge

# One JSON object per request. Never headers or bodies: Basic credentials and customer data live there.
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}


class TrackApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        routes: Iterable[tuple[str, str]],
        config: DeployConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=config.retention)
        # The default stage is declared below, so that it can carry access logging and throttling.
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="Nudge Track API (Customer.io compatible)",
            create_default_stage=False,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.throttle_rate, burst_limit=config.throttle_burst
            ),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )
        # Every route of this API targets this one function, so one invoke permission scoped to the API
        # grants exactly what a permission per route would, in one resource-policy statement.
        integration = HttpLambdaIntegration("Track", handler, scope_permission_to_route=False)
        for method, path in routes:
            for route in self.http_api.add_routes(
                path=path, methods=[apigwv2.HttpMethod[method]], integration=integration
            ):
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    "Customer.io's Track API authenticates with HTTP Basic (site id and API key) per "
                    "workspace: the function checks it against the hashed key on every request.",
                )

    @property
    def url(self) -> str:
        return self.stage.url


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS, separators=(",", ":")))
