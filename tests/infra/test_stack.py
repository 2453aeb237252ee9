"""The synthesized stack: data safety, key schemas from the models, the Track API surface, least privilege,
and a clean cdk-nag report."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk.assertions import Match
from cdk_nag import AwsSolutionsChecks
from pynamodb.indexes import GlobalSecondaryIndex, Index, LocalSecondaryIndex
from pynamodb.models import Model

from infra.config import table_env_var
from nudge.model import TABLE_MODELS
from nudge.settings import Settings
from nudge.tracking.routes import ROUTES
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

TABLE_NAMES = sorted(TABLE_MODELS)
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


# Expectations are read from the models through PynamoDB's per-attribute API, independently of the
# schema export infra/table_specs.py uses, so a mistake in that mapping cannot hide here.
def model_key_schema(model: type[Model]) -> list[dict[str, str]]:
    attributes = model.get_attributes()
    keys = [{"AttributeName": attributes[model._hash_keyname].attr_name, "KeyType": "HASH"}]  # type: ignore[index]
    if model._range_keyname:
        keys.append({"AttributeName": attributes[model._range_keyname].attr_name, "KeyType": "RANGE"})
    return keys


def index_key_schema(index: Index[Any]) -> list[dict[str, str]]:
    keys = sorted(
        (a for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key),
        key=lambda a: not a.is_hash_key,
    )
    return [{"AttributeName": a.attr_name, "KeyType": "HASH" if a.is_hash_key else "RANGE"} for a in keys]


def model_indexes(model: type[Model], kind: type[Index[Any]]) -> dict[str, list[dict[str, str]]]:
    return {
        index.Meta.index_name: index_key_schema(index)
        for index in model._indexes.values()
        if isinstance(index, kind)
    }


def track_function(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    functions = synth.of_type("AWS::Lambda::Function")
    tracks = {
        name: fn
        for name, fn in functions.items()
        if fn["Properties"]["Environment"]["Variables"].get("POWERTOOLS_SERVICE_NAME") == "track"
    }
    assert len(tracks) == 1
    return next(iter(tracks.items()))


def table_logical_ids(synth: Synthesized) -> dict[str, str]:
    """Logical table name -> CloudFormation logical id, through the variables the function reads."""
    variables = track_function(synth)[1]["Properties"]["Environment"]["Variables"]
    return {name: variables[table_env_var(name)]["Ref"] for name in TABLE_MODELS}


def table(synth: Synthesized, name: str) -> dict[str, Any]:
    return synth.resources[table_logical_ids(synth)[name]]


def policy_statements(synth: Synthesized) -> list[dict[str, Any]]:
    statements = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for role in synth.of_type("AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            statements.extend(inline["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Tables


def test_there_is_one_table_per_model(synthesized: Synthesized) -> None:
    assert set(table_logical_ids(synthesized).values()) == set(synthesized.of_type("AWS::DynamoDB::Table"))


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_table_survives_stack_deletion_and_replacement(synthesized: Synthesized, name: str) -> None:
    resource = table(synthesized, name)

    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    assert resource["Properties"]["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_table_is_on_demand_with_point_in_time_recovery(synthesized: Synthesized, name: str) -> None:
    properties = table(synthesized, name)["Properties"]

    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"]["SSEEnabled"] is True


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_table_key_schema_is_the_models(synthesized: Synthesized, name: str) -> None:
    model = TABLE_MODELS[name]

    assert table(synthesized, name)["Properties"]["KeySchema"] == model_key_schema(model)


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_table_indexes_are_the_models(synthesized: Synthesized, name: str) -> None:
    model = TABLE_MODELS[name]
    properties = table(synthesized, name)["Properties"]

    deployed_global = {i["IndexName"]: i["KeySchema"] for i in properties.get("GlobalSecondaryIndexes", [])}
    deployed_local = {i["IndexName"]: i["KeySchema"] for i in properties.get("LocalSecondaryIndexes", [])}
    assert deployed_global == model_indexes(model, GlobalSecondaryIndex)
    assert deployed_local == model_indexes(model, LocalSecondaryIndex)


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_key_attribute_types_are_the_models(synthesized: Synthesized, name: str) -> None:
    model = TABLE_MODELS[name]
    key_attributes = [a for a in model.get_attributes().values() if a.is_hash_key or a.is_range_key]
    for index in model._indexes.values():
        key_attributes.extend(a for a in index.Meta.attributes.values() if a.is_hash_key or a.is_range_key)

    definitions = table(synthesized, name)["Properties"]["AttributeDefinitions"]
    assert {d["AttributeName"]: d["AttributeType"] for d in definitions} == {
        a.attr_name: a.attr_type for a in key_attributes
    }


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_streamed_tables_publish_new_and_old_images(synthesized: Synthesized, name: str) -> None:
    properties = table(synthesized, name)["Properties"]

    if TABLE_MODELS[name].Meta.streamed:  # type: ignore[attr-defined]
        assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    else:
        assert "StreamSpecification" not in properties


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_table_expires_items_only_where_the_model_has_a_ttl(synthesized: Synthesized, name: str) -> None:
    ttl = TABLE_MODELS[name]._ttl_attribute()
    properties = table(synthesized, name)["Properties"]

    if ttl is None:
        assert "TimeToLiveSpecification" not in properties
    else:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl.attr_name, "Enabled": True}


# Track function


def test_track_function_runs_python_312_on_arm64_with_both_layers(synthesized: Synthesized) -> None:
    properties = track_function(synthesized)[1]["Properties"]

    assert properties["Architectures"] == ["arm64"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Handler"] == "handler.handler"
    assert {layer["Ref"] for layer in properties["Layers"]} == set(
        synthesized.of_type("AWS::Lambda::LayerVersion")
    )


def test_track_function_is_told_its_service_log_level_and_every_table(synthesized: Synthesized) -> None:
    variables = track_function(synthesized)[1]["Properties"]["Environment"]["Variables"]

    assert variables["POWERTOOLS_SERVICE_NAME"] == "track"
    assert variables["LOG_LEVEL"] == synthesized.config.log_level
    assert {v for v in variables if v.startswith("NUDGE_")} == {table_env_var(n) for n in TABLE_MODELS}


def test_table_variables_are_the_ones_the_domain_package_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(table_prefix="prefix-", region="us-east-1", endpoint_url=None, track_url="")
    for name in TABLE_MODELS:
        monkeypatch.setenv(table_env_var(name), f"generated-{name}")

        assert settings.table_name(name) == f"generated-{name}"


def test_every_log_group_expires_its_logs(synthesized: Synthesized) -> None:
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")

    assert log_groups
    assert all(group["Properties"].get("RetentionInDays") for group in log_groups.values())


# Track API


def test_http_api_routes_are_exactly_the_route_table(synthesized: Synthesized) -> None:
    route_keys = [
        r["Properties"]["RouteKey"] for r in synthesized.of_type("AWS::ApiGatewayV2::Route").values()
    ]

    assert sorted(route_keys) == sorted(f"{route.method} {route.path}" for route in ROUTES)


def test_every_route_invokes_the_track_function_with_payload_v2(synthesized: Synthesized) -> None:
    function_id = track_function(synthesized)[0]
    integration_id, integration = synthesized.one_of_type("AWS::ApiGatewayV2::Integration")
    _, api = synthesized.one_of_type("AWS::ApiGatewayV2::Api")

    assert api["Properties"]["ProtocolType"] == "HTTP"
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert integration["Properties"]["PayloadFormatVersion"] == "2.0"
    assert integration["Properties"]["IntegrationUri"] == {"Fn::GetAtt": [function_id, "Arn"]}
    for route in synthesized.of_type("AWS::ApiGatewayV2::Route").values():
        assert route["Properties"]["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}


def test_only_this_api_may_invoke_the_track_function(synthesized: Synthesized) -> None:
    function_id = track_function(synthesized)[0]
    api_id = synthesized.one_of_type("AWS::ApiGatewayV2::Api")[0]
    permissions = synthesized.of_type("AWS::Lambda::Permission").values()

    assert permissions
    for permission in permissions:
        properties = permission["Properties"]
        assert properties["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
        assert properties["Principal"] == "apigateway.amazonaws.com"
        assert {"Ref": api_id} in properties["SourceArn"]["Fn::Join"][1]


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


def test_stack_outputs_the_api_url(synthesized: Synthesized) -> None:
    synthesized.template.has_output("TrackApiUrl", {"Value": Match.any_value()})


# Least privilege


def test_no_policy_grants_a_wildcard_action(synthesized: Synthesized) -> None:
    actions = [
        action for statement in policy_statements(synthesized) for action in as_list(statement["Action"])
    ]

    assert actions
    assert [a for a in actions if a == "*" or a.endswith(":*")] == []


def test_track_function_can_only_read_workspaces(synthesized: Synthesized) -> None:
    workspaces = {"Fn::GetAtt": [table_logical_ids(synthesized)["workspaces"], "Arn"]}
    granted = [
        set(as_list(statement["Action"]))
        for statement in policy_statements(synthesized)
        if workspaces in as_list(statement["Resource"])
    ]

    assert granted
    assert all(actions.isdisjoint(WRITE_ACTIONS) for actions in granted)


def test_roles_carry_no_managed_policies(synthesized: Synthesized) -> None:
    for role in synthesized.of_type("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


# cdk-nag


def test_cdk_nag_reports_nothing_unacknowledged(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())

    assert [
        violation for plugin in report["pluginReports"] for violation in plugin.get("violations", [])
    ] == []


def test_every_acknowledged_nag_finding_carries_a_reason(synthesized: Synthesized) -> None:
    acknowledged = [
        rule
        for resource in synthesized.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]

    # Metadata only cdk-nag writes: proof that the checks ran over this app.
    assert acknowledged
    assert all(len(rule["reason"].split()) >= 5 for rule in acknowledged)
    assert {rule["id"].split("[")[0] for rule in acknowledged} == {
        "AwsSolutions-APIG4",  # Track API auth is HTTP Basic, checked in the function
        "AwsSolutions-IAM5",  # grant_* adds <table>/index/* for tables with indexes
        "AwsSolutions-L1",  # runtime pinned with the dependency layer's wheels
    }


def test_an_unacknowledged_nag_finding_fails_synth(tmp_path: Any) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Unsafe")
    dynamodb.Table(
        stack, "NoRecovery", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    with pytest.raises(RuntimeError, match="AwsSolutions-DDB3"):
        app.synth()
