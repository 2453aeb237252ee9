"""The HTTP API (payload v2): the Track and App routes and the links in messages on one API, each route to
its own function.

Every route comes from a route table, so the deployed API, the handlers and the local gateway agree.

With context ``custom_domain`` and ``certificate_arn``, the API also answers on a regional custom domain
mapped to its default stage; the DNS record for it (a CNAME or alias to ``regional_domain_name``) is made
outside this app, where the zone lives.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from infra.components.outputs import output
from infra.config import DeployConfig
from infra.nag import acknowledge

# One JSON object per request. Never headers or bodies: credentials and customer data live there.
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


@dataclass(frozen=True)
class ApiBackend:
    """One API served by one function: its routes, and how that function authenticates callers."""

    name: str  # names the integration construct: Track, App, Links
    handler: lambda_.IFunction
    routes: Sequence[tuple[str, str]]  # (method, path template)
    # Why the routes carry no API Gateway authorizer (cdk-nag APIG4): who checks the caller, and how (or
    # why nobody needs to).
    authentication: str
    # Greedy paths (``/v1/api/{proxy+}``) sent to the function whatever the method, whose resolver matches
    # what is under them: one route each against API Gateway's quota of 300 routes per HTTP API.
    proxies: Sequence[str] = ()

    @property
    def route_keys(self) -> list[str]:
        return [f"{method} {path}" for method, path in self.routes] + [f"ANY {p}" for p in self.proxies]


class HttpApi(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, backends: Sequence[ApiBackend], config: DeployConfig
    ) -> None:
        super().__init__(scope, construct_id)
        _refuse_shared_routes(backends)
        self.backends = tuple(backends)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=config.retention)
        # The default stage is declared below, so that it can carry access logging and throttling.
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="Nudge Track and App APIs (Customer.io compatible) and the links in messages",
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
        for backend in backends:
            self._add_backend(backend)
        self.custom_url = config.custom_url
        self.domain = self._custom_domain(config) if config.custom_domain else None
        output(self, "TrackApiUrl", self.url, "Base URL of the Track API")
        output(self, "AppApiUrl", self.url, "Base URL of the App API (the same API)")
        if self.domain is not None:
            output(
                self,
                "CustomDomainTarget",
                self.domain.regional_domain_name,
                f"Point {config.custom_domain} here (a CNAME, or an alias record)",
            )
            output(
                self,
                "CustomDomainHostedZoneId",
                self.domain.regional_hosted_zone_id,
                "Hosted zone id of CustomDomainTarget, for a Route 53 alias record",
            )

    def _custom_domain(self, config: DeployConfig) -> apigwv2.DomainName:
        # Regional (the only kind an HTTP API has), TLS 1.2, with the operator's certificate: ACM in the
        # stack's region, covering the name (API Gateway refuses it otherwise, and the deploy rolls back).
        domain = apigwv2.DomainName(
            self,
            "CustomDomain",
            domain_name=config.custom_domain,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn),
            security_policy=apigwv2.SecurityPolicy.TLS_1_2,
        )
        # The whole domain (no mapping key) to the default stage: paths are the API's own.
        apigwv2.ApiMapping(
            self, "CustomDomainMapping", api=self.http_api, domain_name=domain, stage=self.stage
        )
        return domain

    def _add_backend(self, backend: ApiBackend) -> None:
        # All of a backend's routes target its one function, so one invoke permission scoped to the API
        # grants exactly what a permission per route would, in one resource-policy statement.
        integration = HttpLambdaIntegration(backend.name, backend.handler, scope_permission_to_route=False)
        for method, path in backend.routes:
            for route in self.http_api.add_routes(
                path=path, methods=[apigwv2.HttpMethod[method]], integration=integration
            ):
                acknowledge(route, "AwsSolutions-APIG4", backend.authentication)
        for path in backend.proxies:
            any_method = [apigwv2.HttpMethod.ANY]
            for route in self.http_api.add_routes(path=path, methods=any_method, integration=integration):
                acknowledge(route, "AwsSolutions-APIG4", backend.authentication)

    @property
    def url(self) -> str:
        """The base URL clients are given (with a trailing slash): the custom domain's when there is one,
        else the default stage's."""
        return f"{self.custom_url}/" if self.custom_url else self.stage.url

    @property
    def endpoint(self) -> str:
        """The same without the trailing slash: what the links in messages start with. The custom
        domain's is a literal; the API's own names the API resource alone. Either way a function the API
        integrates can be told it without a cycle."""
        return self.custom_url or self.http_api.api_endpoint


def _refuse_shared_routes(backends: Sequence[ApiBackend]) -> None:
    """A route key belongs to one function: two tables claiming it would leave one of them unreachable."""
    owners: dict[str, str] = {}
    for backend in backends:
        for key in backend.route_keys:
            if key in owners:
                raise ValueError(f"route {key} is in both the {owners[key]} and the {backend.name} routes")
            owners[key] = backend.name


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
