"""The synthesized stack: data safety, key schemas from the models, the functions and what each may touch,
least privilege, and clean cdk-nag and cfn-lint reports. The HTTP API and the asynchronous paths have
their own modules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from cdk_nag import AwsSolutionsChecks
from pynamodb.indexes import GlobalSecondaryIndex, Index, LocalSecondaryIndex
from pynamodb.models import Model

from infra.components.campaigns import LOG_DELIVERY_ACTIONS
from infra.config import FUNCTIONS_DIR, table_env_var
from nudge.model import TABLE_MODELS
from nudge.settings import read_settings
from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra

TABLE_NAMES = sorted(TABLE_MODELS)
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

# Every function: the folder its code comes from, and its entry point.
FUNCTIONS = {
    "track": ("track", "handler.handler"),
    "api": ("api", "handler.handler"),
    "evaluate": ("evaluate", "handler.handler"),
    "sweep": ("evaluate", "handler.sweep"),
    "billing": ("billing", "handler.handler"),
    "send": ("send", "handler.handler"),
    "releasescheduled": ("send", "handler.release_scheduled"),
    "links": ("links", "handler.handler"),
    "feedback": ("feedback", "handler.handler"),
    "campaigns": ("campaigns", "handler.handler"),
    "exports": ("exports", "handler.handler"),
    "reporting": ("reporting", "handler.handler"),
}
# The context keys that size each function (<prefix>_memory_mb, <prefix>_timeout_seconds), where the
# prefix is not the service name.
SIZED_AS = {"releasescheduled": "release"}
# What each function may read, and what it may also write: stated here rather than imported from the
# stack, so that widening a grant takes a deliberate change to this table too. (Read from the code each
# function runs: the App API writes segment definitions, the dependency index and manual memberships,
# opens a workspace's first billing period when its usage is asked for, and keeps campaigns (definitions,
# states, the trigger index, broadcasts); evaluation writes memberships, re-checks and backfill progress,
# meters usage into billing against the workspace's billing anchor, starts journeys (claims, date
# triggers, in campaigns), and only reads everything else; the sweep shares evaluation's code but never
# meters, and fires date triggers (it reads subscription topics, kept with the deliveries, for conditions
# on them); the billing run scans workspaces and keeps periods, invoices and
# credits in billing, and queues invoice emails as deliveries. Track records client metrics and the
# in-app inbox on deliveries; the App API creates a transactional send's recipient, and queues it.
# The App API reads activities: events and page views from the events table, the rest from the activity
# log, which evaluation (attribute changes, segment entries and exits) and sending (each metric a message
# reaches) write.
# Sending reads delivery settings, profiles and devices, and records deliveries and meters them; the
# scheduled release only queues deliveries; links record metrics and unsubscribe through identify, and
# read nothing of the workspace; SES feedback does the same and also meters a delivery whose send outcome
# was unknown once SES reports on it. The campaigns function keeps journeys, metrics and broadcasts,
# identifies and creates people, queues messages and changes manual segment memberships, and only reads
# events and objects, for conditions and goals. Track, links and SES feedback count a campaign message's
# delivery metrics on its campaign: they write the campaigns table's counters, and only those items, which
# test_campaigns checks. The App API creates exports; the exports worker reads people, memberships and
# deliveries and writes only its exports' records. The App API keeps the console's members and sessions
# in their own table: workspaces are the operator's alone. Evaluation reads a workspace's reporting
# webhooks (deliveries) to queue subscription changes for them; the reporting worker reads webhooks,
# deliveries and people's identifiers, and writes nothing.)
ACCESS = {
    "track": ({"workspaces"}, {"people", "events", "objects", "segments", "deliveries", "campaigns"}),
    "api": (
        {"workspaces", "events", "activities"},
        {"people", "segments", "billing", "deliveries", "campaigns", "exports", "console"},
    ),
    "evaluate": (
        {"workspaces", "people", "events", "objects", "deliveries"},
        {"segments", "billing", "campaigns", "activities"},
    ),
    "sweep": ({"people", "events", "objects", "deliveries"}, {"segments", "campaigns"}),
    "billing": ({"workspaces"}, {"billing", "deliveries"}),
    "send": ({"workspaces", "people"}, {"deliveries", "billing", "activities"}),
    "releasescheduled": (set(), {"deliveries"}),
    "links": (set(), {"deliveries", "people", "campaigns"}),
    "feedback": ({"workspaces"}, {"deliveries", "people", "billing", "campaigns"}),
    "campaigns": ({"events", "objects"}, {"campaigns", "people", "deliveries", "segments"}),
    "exports": ({"people", "segments", "deliveries"}, {"exports"}),
    "reporting": ({"deliveries", "people"}, set()),
}
# Functions that read table streams, which grants dynamodb:ListStreams (it takes no resource).
STREAM_CONSUMERS = ("evaluate", "send")
# Functions granted actions on the stage's campaign state machines, which are created at run time and
# named by their prefix: the App API deploys them, the others start their executions.
ON_CAMPAIGN_MACHINES = ("api", "evaluate", "sweep", "campaigns")


def campaign_role(synth: Synthesized) -> str:
    """The logical id of the role campaign state machines run as (the CampaignRoleArn output)."""
    return str(synth.template.to_json()["Outputs"]["CampaignRoleArn"]["Value"]["Fn::GetAtt"][0])


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


def table(synth: Synthesized, name: str) -> dict[str, Any]:
    return synth.resources[synth.table_ids()[name]]


def tables_in(synth: Synthesized, resource: Any) -> set[str]:
    """The tables a policy resource (table ARN, index wildcard or stream ARN) belongs to."""
    ids = {logical_id: name for name, logical_id in synth.table_ids().items()}
    return {
        ids[ref]
        for ref in re.findall(r'"Fn::GetAtt": \["([^"]+)", "(?:Arn|StreamArn)"\]', json.dumps(resource))
        if ref in ids
    }


def table_actions(synth: Synthesized, service: str) -> dict[str, set[str]]:
    """Table name -> every action the function's role may take on it (or its indexes or stream)."""
    role_id = synth.function(service)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    granted: dict[str, set[str]] = {}
    for statement in synth.role_statements(role_id):
        for resource in as_list(statement["Resource"]):
            for name in tables_in(synth, resource):
                granted.setdefault(name, set()).update(as_list(statement["Action"]))
    return granted


def table_variables(synth: Synthesized, service: str) -> set[str]:
    """The tables a function is told the names of."""
    variables = synth.function(service)[1]["Properties"]["Environment"]["Variables"]
    by_variable = {table_env_var(name): name for name in TABLE_MODELS}
    assert {v for v in variables if v.startswith("NUDGE_") and v.endswith("_TABLE")} <= by_variable.keys()
    return {by_variable[v] for v in variables if v in by_variable}


# Tables


def test_there_is_one_table_per_model(synthesized: Synthesized) -> None:
    assert set(synthesized.table_ids().values()) == set(synthesized.of_type("AWS::DynamoDB::Table"))


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


# Functions


def test_there_is_one_function_per_entry_point(synthesized: Synthesized) -> None:
    assert set(synthesized.functions()) == set(FUNCTIONS)


@pytest.mark.parametrize("service", sorted(FUNCTIONS))
def test_function_runs_python_312_on_arm64_with_both_layers(synthesized: Synthesized, service: str) -> None:
    properties = synthesized.function(service)[1]["Properties"]

    assert properties["Architectures"] == ["arm64"]
    assert properties["Runtime"] == "python3.12"
    assert properties["Handler"] == FUNCTIONS[service][1]
    # Every layer but the AWS CLI that CDK's console deployment handler runs with.
    assert {layer["Ref"] for layer in properties["Layers"]} == {
        layer for layer in synthesized.of_type("AWS::Lambda::LayerVersion") if "AwsCliLayer" not in layer
    }


@pytest.mark.parametrize("service", sorted(FUNCTIONS))
def test_function_runs_its_own_folders_code(synthesized: Synthesized, service: str) -> None:
    code_key = synthesized.function(service)[1]["Properties"]["Code"]["S3Key"]
    staged = synthesized.assembly_dir / f"asset.{Path(code_key).stem}"
    folder = FUNCTIONS_DIR / FUNCTIONS[service][0]

    assert (staged / "handler.py").read_text() == (folder / "handler.py").read_text()


@pytest.mark.parametrize("service", sorted(FUNCTIONS))
def test_function_memory_and_timeout_come_from_context(synthesized: Synthesized, service: str) -> None:
    properties = synthesized.function(service)[1]["Properties"]
    prefix = SIZED_AS.get(service, service)

    assert properties["MemorySize"] == getattr(synthesized.config, f"{prefix}_memory_mb")
    assert properties["Timeout"] == getattr(synthesized.config, f"{prefix}_timeout_seconds")


def test_every_function_has_its_own_role_and_log_group(synthesized: Synthesized) -> None:
    functions = [fn["Properties"] for _, fn in synthesized.functions().values()]
    roles = [fn["Role"]["Fn::GetAtt"][0] for fn in functions]
    log_groups = [fn["LoggingConfig"]["LogGroup"]["Ref"] for fn in functions]

    assert len(set(roles)) == len(set(log_groups)) == len(FUNCTIONS)
    for role_id in roles:
        (principal,) = synthesized.resources[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert principal["Principal"] == {"Service": "lambda.amazonaws.com"}
    for log_group in log_groups:
        assert synthesized.resources[log_group]["Type"] == "AWS::Logs::LogGroup"


@pytest.mark.parametrize("service", sorted(FUNCTIONS))
def test_function_is_told_its_service_and_log_level(synthesized: Synthesized, service: str) -> None:
    variables = synthesized.function(service)[1]["Properties"]["Environment"]["Variables"]

    assert variables["POWERTOOLS_SERVICE_NAME"] == service
    assert variables["LOG_LEVEL"] == synthesized.config.log_level


@pytest.mark.parametrize("service", sorted(FUNCTIONS))
def test_function_is_told_exactly_the_tables_it_is_granted(synthesized: Synthesized, service: str) -> None:
    reads, writes = ACCESS[service]

    assert table_variables(synthesized, service) == set(table_actions(synthesized, service)) == reads | writes


def test_every_table_is_some_functions(synthesized: Synthesized) -> None:
    assert set().union(*(reads | writes for reads, writes in ACCESS.values())) == set(TABLE_MODELS)


def test_table_variables_are_the_ones_the_domain_package_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TABLE_MODELS:
        monkeypatch.setenv(table_env_var(name), f"generated-{name}")
    settings = read_settings()

    for name in TABLE_MODELS:
        assert settings.table_name(name) == f"generated-{name}"


def test_every_log_group_expires_its_logs(synthesized: Synthesized) -> None:
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")

    assert log_groups
    assert all(group["Properties"].get("RetentionInDays") for group in log_groups.values())


# Least privilege


def test_no_policy_grants_a_wildcard_action(synthesized: Synthesized) -> None:
    actions = [
        action for statement in synthesized.policy_statements() for action in as_list(statement["Action"])
    ]

    assert actions
    assert [a for a in actions if a == "*" or a.endswith(":*")] == []


def test_no_statement_on_a_data_table_has_a_wildcard_action(synthesized: Synthesized) -> None:
    on_tables = [
        statement
        for statement in synthesized.policy_statements()
        if any(tables_in(synthesized, resource) for resource in as_list(statement["Resource"]))
    ]

    assert on_tables
    for statement in on_tables:
        assert statement["Effect"] == "Allow"
        assert [a for a in as_list(statement["Action"]) if "*" in a] == []


@pytest.mark.parametrize("service", sorted(FUNCTIONS))
def test_function_writes_only_the_tables_it_must(synthesized: Synthesized, service: str) -> None:
    _, writes = ACCESS[service]
    granted = table_actions(synthesized, service)

    assert {name for name, actions in granted.items() if actions & WRITE_ACTIONS} == writes


def test_nothing_may_write_workspaces(synthesized: Synthesized) -> None:
    workspaces = {"Fn::GetAtt": [synthesized.table_ids()["workspaces"], "Arn"]}
    granted = [
        set(as_list(statement["Action"]))
        for statement in synthesized.policy_statements()
        if workspaces in as_list(statement["Resource"])
    ]

    assert granted
    assert all(actions.isdisjoint(WRITE_ACTIONS) for actions in granted)


def test_only_listing_streams_texting_and_log_delivery_are_granted_on_every_resource(
    synthesized: Synthesized,
) -> None:
    # dynamodb:ListStreams takes no resource; it comes with reading streams, so with the stream consumers.
    # SNS Publish to a phone number takes no resource either: the send function's SMS. Nor do the log
    # delivery actions Step Functions needs of the campaign state machines' role to log executions.
    # (CDK's console deployment handler invalidates CloudFront's cache on *: test_console_site.)
    unscoped = {
        (role_id, action)
        for role_id in synthesized.of_type("AWS::IAM::Role").keys() - synthesized.deploy_handler_resources()
        for statement in synthesized.role_statements(role_id)
        if "*" in as_list(statement["Resource"])
        for action in as_list(statement["Action"])
    }

    assert unscoped == {
        *((synthesized.role_of(consumer), "dynamodb:ListStreams") for consumer in STREAM_CONSUMERS),
        (synthesized.role_of("send"), "sns:Publish"),
        *((campaign_role(synthesized), action) for action in LOG_DELIVERY_ACTIONS),
    }


def test_roles_carry_no_managed_policies(synthesized: Synthesized) -> None:
    cdks = synthesized.deploy_handler_resources()  # its logging, in test_console_site
    for role_id, role in synthesized.of_type("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role["Properties"] or role_id in cdks


# cdk-nag


def nag_acknowledgements(synth: Synthesized) -> list[tuple[str, dict[str, str]]]:
    return [
        (logical_id, rule)
        for logical_id, resource in synth.resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def test_cdk_nag_reports_nothing_unacknowledged(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())

    assert [
        violation for plugin in report["pluginReports"] for violation in plugin.get("violations", [])
    ] == []


def test_every_acknowledged_nag_finding_carries_a_reason(synthesized: Synthesized) -> None:
    acknowledged = [rule for _, rule in nag_acknowledgements(synthesized)]

    # Metadata only cdk-nag writes: proof that the checks ran over this app.
    assert acknowledged
    assert all(len(rule["reason"].split()) >= 5 for rule in acknowledged)
    assert {rule["id"].split("[")[0] for rule in acknowledged} == {
        # Track and App API auth is checked in the functions, as Customer.io's is; links are public, with
        # signed tokens
        "AwsSolutions-APIG4",
        # grant_* adds <table>/index/*; reading streams adds ListStreams on *; SMS to phone numbers needs *
        "AwsSolutions-IAM5",
        "AwsSolutions-L1",  # runtime pinned with the dependency layer's wheels
        "AwsSolutions-SMG4",  # rotating the link secret would break every link already sent
        "AwsSolutions-SQS3",  # a dead-letter queue needs no dead-letter queue of its own
        "AwsSolutions-SF1",  # the broadcast machine logs errors only, without execution (personal) data
        "AwsSolutions-SF2",  # no X-Ray anywhere in Nudge
        # exports are read only through presigned links the App API logs handing out; the console's bucket
        # holds only its build, read only by CloudFront
        "AwsSolutions-S1",
        "AwsSolutions-IAM4",  # CDK's console deployment handler logs with AWSLambdaBasicExecutionRole
        "AwsSolutions-CFR1",  # the console serves teams wherever they are: no geo restriction
        "AwsSolutions-CFR2",  # WAF here would not guard the API's own URL, which clients call
        "AwsSolutions-CFR3",  # API requests are in the HTTP API's access logs; the rest are static files
        "AwsSolutions-CFR4",  # no console domain: the *.cloudfront.net certificate's TLS policy is fixed
        "AwsSolutions-COG2",  # the console signs in with email and password (no MFA step yet)
        "AwsSolutions-COG8",  # threat protection needs Cognito's Plus plan; Essentials still locks out
    }


def test_wildcard_resources_are_acknowledged_only_where_expected(synthesized: Synthesized) -> None:
    table_ids = set(synthesized.table_ids().values())
    campaigns_function = synthesized.function("campaigns")[0]
    machines = f"stateMachine:nudge-{synthesized.config.stage}-*"

    def with_policies(roles: set[str]) -> set[str]:
        """The roles and the policies attached to them."""
        return roles | {
            logical_id
            for logical_id, policy in synthesized.of_type("AWS::IAM::Policy").items()
            if roles & {ref["Ref"] for ref in policy["Properties"]["Roles"]}
        }

    # ListStreams and SMS: the stream consumers' roles and their policies (the send function's SMS policy
    # among them); log delivery and the campaigns function's versions: the campaign role.
    consumers = with_policies({synthesized.role_of(consumer) for consumer in STREAM_CONSUMERS})
    campaign = with_policies({campaign_role(synthesized)})
    on_machines = with_policies({synthesized.role_of(service) for service in ON_CAMPAIGN_MACHINES})
    for logical_id, rule in nag_acknowledgements(synthesized):
        if (
            not rule["id"].startswith("AwsSolutions-IAM5")
            or logical_id in synthesized.deploy_handler_resources()
        ):
            continue  # CDK's console deployment handler's own grants: test_console_site
        index_wildcard = re.fullmatch(r"AwsSolutions-IAM5\[Resource::<(\w+)\.Arn>/index/\*\]", rule["id"])
        if index_wildcard:
            assert index_wildcard.group(1) in table_ids
        elif rule["id"] == "AwsSolutions-IAM5[Resource::*]":
            assert logical_id in consumers | campaign
        elif rule["id"] == f"AwsSolutions-IAM5[Resource::<{campaigns_function}.Arn>:*]":
            assert logical_id in campaign
        elif rule["id"].endswith(".Arn>/exports/*]"):
            # Export files, named at run time: the worker writes them, the App API presigns their GETs.
            assert logical_id in with_policies({synthesized.role_of(s) for s in ("exports", "api")})
        else:
            assert rule["id"].endswith(f":{machines}]"), rule["id"]
            assert logical_id in on_machines


def test_an_unacknowledged_nag_finding_fails_synth(tmp_path: Any) -> None:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Unsafe")
    dynamodb.Table(
        stack, "NoRecovery", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    with pytest.raises(RuntimeError, match="AwsSolutions-DDB3"):
        app.synth()


# cfn-lint


def test_cfn_lint_finds_nothing_in_the_template(synthesized: Synthesized) -> None:
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")

    assert [str(match) for match in api.lint_file(synthesized.template_file)] == []
