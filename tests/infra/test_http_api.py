"""The HTTP API: the Track and App route tables and the public links in messages on one API, each route to
its own function."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match

from infra.components.http_api import ApiBackend, HttpApi
from infra.config import DeployConfig
from nudge.http.app_api.routes import ROUTES as APP_ROUTES
from nudge.http.links import ROUTES as LINK_ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.http.track_api import ROUTES as TRACK_ROUTES
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

TRACK_KEYS = {f"{route.method} {route.path}" for route in TRACK_ROUTES}
# The App API's older /v1/api/... base is one greedy route to the App function, not a copy of each route.
OLDER_BASE_KEY = f"ANY {APP_OLDER_BASE.proxy_path}"
APP_KEYS = {f"{route.method} {route.path}" for route in APP_ROUTES} | {OLDER_BASE_KEY}
# API Gateway's default quota of routes per HTTP API (adjustable, but a deploy past it fails).
ROUTE_QUOTA = 300
LINK_KEYS = {f"{route.method} {route.path}" for route in LINK_ROUTES}
# Route key -> the function (POWERTOOLS_SERVICE_NAME) that must answer it.
OWNERS = {
    **{key: "track" for key in TRACK_KEYS},
    **{key: "api" for key in APP_KEYS},
    **{key: "links" for key in LINK_KEYS},
}
API_FUNCTIONS = ("track", "api", "links")
# Words the reason for a route's missing authorizer (its APIG4 acknowledgement) must contain: who checks
# the caller, per function. The links are public, and say why.
AUTHENTICATION = {"track": "HTTP Basic", "api": "Bearer app key", "links": "signed (HMAC)"}


def routes(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Route key -> route properties."""
    found = [r["Properties"] for r in synth.of_type("AWS::ApiGatewayV2::Route").values()]
    by_key = {r["RouteKey"]: r for r in found}
    assert len(by_key) == len(found), "a route key is declared twice"
    return by_key


def integrated_function(synth: Synthesized, route: dict[str, Any]) -> str:
    """The service name of the function a route's integration invokes."""
    prefix, ref = route["Target"]["Fn::Join"][1]
    assert prefix == "integrations/"
    function_id = synth.resources[ref["Ref"]]["Properties"]["IntegrationUri"]["Fn::GetAtt"][0]
    (service,) = [name for name, (logical_id, _) in synth.functions().items() if logical_id == function_id]
    return service


def test_the_route_tables_claim_no_route_twice() -> None:
    assert len(TRACK_KEYS) == len(TRACK_ROUTES)
    assert len(APP_KEYS) == len(APP_ROUTES) + 1
    assert len(LINK_KEYS) == len(LINK_ROUTES)
    assert len(TRACK_KEYS | APP_KEYS | LINK_KEYS) == len(TRACK_KEYS) + len(APP_KEYS) + len(LINK_KEYS)


def test_links_are_their_own_paths_with_a_token() -> None:
    # Nothing under /t/ but links, and every link path carries the signed token that authorizes it.
    assert all(route.path.startswith("/t/") and route.path.endswith("/{token}") for route in LINK_ROUTES)
    assert not [key for key in TRACK_KEYS | APP_KEYS if key.split(" ", 1)[1].startswith("/t/")]


def test_a_route_claimed_by_both_apis_is_refused() -> None:
    backends = [
        ApiBackend(name, cast(Any, None), [("GET", "/v1/shared")], "checked in the function, for tests")
        for name in ("Track", "App")
    ]

    with pytest.raises(ValueError, match="GET /v1/shared"):
        HttpApi(Stack(App(), "Routes"), "Api", backends=backends, config=DeployConfig())


def test_http_api_routes_are_exactly_the_route_tables(synthesized: Synthesized) -> None:
    synthesized.one_of_type("AWS::ApiGatewayV2::Api")

    assert set(routes(synthesized)) == TRACK_KEYS | APP_KEYS | LINK_KEYS


def test_the_older_app_base_is_one_route_and_the_api_stays_well_under_the_route_quota(
    synthesized: Synthesized,
) -> None:
    deployed = routes(synthesized)
    older = [key for key in deployed if key.split(" ", 1)[1].startswith(APP_OLDER_BASE.alias + "/")]

    assert older == [OLDER_BASE_KEY]
    assert integrated_function(synthesized, deployed[OLDER_BASE_KEY]) == "api"
    # Room to grow: the tables can double before the quota is near (a route per alias would not leave it).
    assert 2 * len(deployed) < ROUTE_QUOTA, len(deployed)


def test_every_route_invokes_its_own_apis_function(synthesized: Synthesized) -> None:
    answered_by = {key: integrated_function(synthesized, route) for key, route in routes(synthesized).items()}

    assert answered_by == OWNERS


def test_each_api_function_has_one_proxy_integration_with_payload_v2(synthesized: Synthesized) -> None:
    _, api = synthesized.one_of_type("AWS::ApiGatewayV2::Api")
    integrations = synthesized.of_type("AWS::ApiGatewayV2::Integration").values()
    targets = sorted(i["Properties"]["IntegrationUri"]["Fn::GetAtt"][0] for i in integrations)

    assert api["Properties"]["ProtocolType"] == "HTTP"
    assert targets == sorted(synthesized.function(service)[0] for service in API_FUNCTIONS)
    for integration in integrations:
        assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
        assert integration["Properties"]["PayloadFormatVersion"] == "2.0"


def test_routes_carry_no_authorizer_because_each_function_authenticates(synthesized: Synthesized) -> None:
    # Basic (Track) and Bearer (App) per workspace, checked in the function; the links' signed tokens,
    # checked in theirs: see the APIG4 reasons.
    assert synthesized.of_type("AWS::ApiGatewayV2::Authorizer") == {}
    for route in routes(synthesized).values():
        assert route.get("AuthorizationType", "NONE") == "NONE"
        assert "AuthorizerId" not in route


def test_every_route_says_who_checks_its_caller(synthesized: Synthesized) -> None:
    # The APIG4 acknowledgement on each route is its API's own: Track routes keep Basic auth, App routes
    # the Bearer key, and only the link routes are public (their tokens are signed).
    found = {}
    for resource in synthesized.of_type("AWS::ApiGatewayV2::Route").values():
        (rule,) = [
            r for r in resource["Metadata"]["cdk_nag"]["rules_to_suppress"] if r["id"] == "AwsSolutions-APIG4"
        ]
        found[resource["Properties"]["RouteKey"]] = rule["reason"]

    assert found.keys() == OWNERS.keys()
    for key, reason in found.items():
        assert AUTHENTICATION[OWNERS[key]] in reason, key
        assert ("Public" in reason) == (OWNERS[key] == "links"), key


def test_only_this_api_may_invoke_the_api_functions(synthesized: Synthesized) -> None:
    api_id = synthesized.one_of_type("AWS::ApiGatewayV2::Api")[0]
    api_functions = {synthesized.function(service)[0] for service in API_FUNCTIONS}
    from_api = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]

    # One permission per function, scoped to the whole API: every one of its routes targets that function.
    assert sorted(p["FunctionName"]["Fn::GetAtt"][0] for p in from_api) == sorted(api_functions)
    for permission in from_api:
        assert {"Ref": api_id} in permission["SourceArn"]["Fn::Join"][1]


def test_default_stage_throttles_and_writes_access_logs(synthesized: Synthesized) -> None:
    _, stage = synthesized.one_of_type("AWS::ApiGatewayV2::Stage")
    properties = stage["Properties"]
    destination = properties["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]

    assert properties["StageName"] == "$default"
    assert properties["AutoDeploy"] is True
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": synthesized.config.throttle_burst,
        "ThrottlingRateLimit": synthesized.config.throttle_rate,
    }
    assert synthesized.resources[destination]["Type"] == "AWS::Logs::LogGroup"
    assert json.loads(properties["AccessLogSettings"]["Format"])["routeKey"] == "$context.routeKey"


def test_access_logs_never_record_headers_or_bodies(synthesized: Synthesized) -> None:
    _, stage = synthesized.one_of_type("AWS::ApiGatewayV2::Stage")
    log_format = stage["Properties"]["AccessLogSettings"]["Format"]

    assert "header" not in log_format.lower()
    assert "body" not in log_format.lower()


@pytest.mark.parametrize("output", ["TrackApiUrl", "AppApiUrl"])
def test_stack_outputs_the_api_urls(synthesized: Synthesized, output: str) -> None:
    synthesized.template.has_output(output, {"Value": Match.any_value()})
