"""Campaigns in AWS: the campaigns function and what it may touch, the one role every campaign state
machine runs as, the broadcast fan-out machine the stack deploys, and what the App API, evaluation, the
sweep and the campaigns function may do to the state machines campaigns create at run time (named
``nudge-<stage>-<workspace>-<campaign>``, never referenced by the stack)."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from infra.components.campaigns import LOG_DELIVERY_ACTIONS, METRICS_PARTITIONS
from infra.config import DOMAIN_PACKAGE_DIR, FUNCTIONS_DIR
from nudge.campaigns import (
    broadcast_machine,
    broadcasts,
    compiler,
    executions,
    metrics,
    step_functions,
    store,
)
from tests.infra.conftest import Synthesized, as_list, synthesize

pytestmark = pytest.mark.infra

# Every function; those that read and write the campaigns table, with exactly these actions; those that
# count campaign messages' delivery metrics (opens, clicks, bounces, ...) on their campaign, which may
# only update or create the campaign counters' items; every other function is told nothing of the table
# and granted nothing on it. (Evaluation and the sweep start journeys: the trigger index and campaigns
# read, claims and date triggers written, the sweep through the by_due index; the App API keeps
# definitions, states, the trigger index and broadcasts; the campaigns function keeps journeys, metrics
# and broadcast progress.)
SERVICES = (
    "track",
    "api",
    "evaluate",
    "sweep",
    "billing",
    "send",
    "releasescheduled",
    "links",
    "feedback",
    "campaigns",
    "exports",
    "reporting",
)
CAMPAIGNS_TABLE_WRITERS = ("api", "evaluate", "sweep", "campaigns")
METRICS_COUNTERS = ("track", "links", "feedback")
READ_ACTIONS = {
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:Query",
    "dynamodb:Scan",
}
WRITE_ACTIONS = READ_ACTIONS | {
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
}
# What going live takes (create or update, publishing a version), and who may start executions of
# campaign machines: evaluation (events, memberships, attributes), the sweep (date triggers), the
# campaigns function (broadcast pages). The App API starts only the broadcast machine.
DEPLOY_ACTIONS = {
    "states:DescribeStateMachine",
    "states:CreateStateMachine",
    "states:UpdateStateMachine",
    "states:PublishStateMachineVersion",
}
STARTERS = ("evaluate", "sweep", "campaigns")
DEPLOYER = "api"
# The variables the App API is told, read by nudge.campaigns.step_functions and nudge.campaigns.compiler.
DEPLOY_VARIABLES = {
    "NUDGE_STAGE",
    "NUDGE_CAMPAIGNS_FUNCTION",
    "NUDGE_CAMPAIGN_ROLE_ARN",
    "NUDGE_CAMPAIGN_LOG_GROUP_ARN",
    "NUDGE_BROADCAST_MACHINE_ARN",
}
PROD = "prod"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Another stage: the machine names, and so every grant on them, follow it."""
    return synthesize(tmp_path_factory, stage=PROD)


def outputs(synth: Synthesized) -> dict[str, Any]:
    return dict(synth.template.to_json()["Outputs"])


def campaign_role(synth: Synthesized) -> str:
    return str(outputs(synth)["CampaignRoleArn"]["Value"]["Fn::GetAtt"][0])


def broadcast_machine_id(synth: Synthesized) -> str:
    return str(outputs(synth)["BroadcastMachineArn"]["Value"]["Ref"])


def function_arn(synth: Synthesized, service: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.function(service)[0], "Arn"]}


def machines_pattern(stage: str) -> dict[str, Any]:
    """The ARN every campaign state machine of ``stage`` matches, as the template spells it."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":states:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":stateMachine:nudge-{stage}-*",
            ],
        ]
    }


def statements_with(synth: Synthesized, role_id: str, prefix: str) -> list[dict[str, Any]]:
    """A role's statements holding an action of one service (``states:``, ``iam:``, ...)."""
    return [
        s
        for s in synth.role_statements(role_id)
        if any(action.startswith(prefix) for action in as_list(s["Action"]))
    ]


def grants(synth: Synthesized, role_id: str, prefix: str) -> dict[str, set[str]]:
    """Resource (as JSON) -> the actions of one service a role may take on it."""
    found: dict[str, set[str]] = {}
    for statement in statements_with(synth, role_id, prefix):
        assert statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"]):
            found.setdefault(json.dumps(resource, sort_keys=True), set()).update(as_list(statement["Action"]))
    return found


def key(resource: Any) -> str:
    return json.dumps(resource, sort_keys=True)


def the_machine(synth: Synthesized) -> dict[str, Any]:
    machine_id, machine = synth.one_of_type("AWS::StepFunctions::StateMachine")
    assert machine_id == broadcast_machine_id(synth)
    return dict(machine["Properties"])


# The campaigns table


def test_every_function_is_listed(synthesized: Synthesized) -> None:
    assert set(synthesized.functions()) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_campaign_functions_may_touch_the_campaigns_table(
    synthesized: Synthesized, service: str
) -> None:
    table = synthesized.table_ids()["campaigns"]
    arn = {"Fn::GetAtt": [table, "Arn"]}
    indexes = {"Fn::Join": ["", [arn, "/index/*"]]}
    on_table = grants(synthesized, synthesized.role_of(service), "dynamodb:")

    if service in CAMPAIGNS_TABLE_WRITERS:
        # The table and its index (by_due: the sweep's), with literal actions, nothing else.
        assert on_table[key(arn)] == on_table[key(indexes)] == WRITE_ACTIONS
        assert synthesized.variables(service)["NUDGE_CAMPAIGNS_TABLE"] == {"Ref": table}
    elif service in METRICS_COUNTERS:
        assert key(arn) in on_table and key(indexes) not in on_table  # checked below: counters only
        assert synthesized.variables(service)["NUDGE_CAMPAIGNS_TABLE"] == {"Ref": table}
    else:
        assert key(arn) not in on_table and key(indexes) not in on_table
        assert "NUDGE_CAMPAIGNS_TABLE" not in synthesized.variables(service)


@pytest.mark.parametrize("service", METRICS_COUNTERS)
def test_delivery_metrics_reach_only_the_campaign_counters(synthesized: Synthesized, service: str) -> None:
    arn = {"Fn::GetAtt": [synthesized.table_ids()["campaigns"], "Arn"]}
    (statement,) = [
        s
        for s in synthesized.role_statements(synthesized.role_of(service))
        if key(arn) in {key(resource) for resource in as_list(s["Resource"])}
    ]

    assert as_list(statement["Resource"]) == [arn]
    assert set(as_list(statement["Action"])) == {"dynamodb:UpdateItem", "dynamodb:PutItem"}
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(METRICS_PARTITIONS)}
    }


def test_the_counters_partitions_are_the_metrics_items_and_no_others() -> None:
    # Keys as nudge.campaigns (metrics, store, executions, broadcasts, triggers) write them.
    workspace, campaign, cio = "ws1", "0123456789ab", "a1b2c3d4e5f6a7b8c9d0"
    counters = [metrics.metrics_pk(workspace, campaign, shard) for shard in range(metrics.SHARDS)]
    others = [
        store.campaigns_pk(workspace),
        store.triggers_pk(workspace),
        executions.journey_pk(workspace, campaign, cio),
        broadcasts.broadcast_pk(workspace, campaign, "0123456789abcdef"),
        "_system#date-sweep",
    ]

    assert all(any(fnmatchcase(pk, p) for p in METRICS_PARTITIONS) for pk in counters)
    assert not any(fnmatchcase(pk, p) for pk in others for p in METRICS_PARTITIONS)


def test_the_functions_that_record_delivery_metrics_are_the_ones_counting_them() -> None:
    # The delivery feedback that counts on campaigns (nudge.delivery.feedback) is reached from the Track
    # API (client metrics, the in-app inbox), the links in messages and SES feedback; the functions are
    # the ones whose code imports it.
    importers = {
        path.relative_to(FUNCTIONS_DIR.parent).as_posix()
        for path in (
            *FUNCTIONS_DIR.glob("*/handler.py"),
            *(DOMAIN_PACKAGE_DIR / "delivery").glob("*.py"),
            *(DOMAIN_PACKAGE_DIR / "http").glob("*.py"),
        )
        if re.search(r"\bimport\b[^\n]*\bfeedback\b|delivery\.feedback", path.read_text())
    }

    assert importers == {
        "functions/feedback/handler.py",  # SES events
        "layers/nudge/nudge/http/links.py",  # the links function's routes
        "layers/nudge/nudge/delivery/subscription_centre.py",  # the links function's subscription centre
        "layers/nudge/nudge/http/track_delivery.py",  # Track API: client metrics and the inbox
        "layers/nudge/nudge/delivery/inbox.py",  # Track API: the in-app inbox
    }


def test_the_campaigns_table_is_not_streamed_and_has_the_due_index(synthesized: Synthesized) -> None:
    properties = synthesized.resources[synthesized.table_ids()["campaigns"]]["Properties"]

    assert "StreamSpecification" not in properties
    assert [index["IndexName"] for index in properties["GlobalSecondaryIndexes"]] == ["by_due"]


# The campaigns function


def test_the_campaigns_function_is_sized_from_context(synthesized: Synthesized) -> None:
    properties = synthesized.function("campaigns")[1]["Properties"]

    assert (properties["MemorySize"], properties["Timeout"]) == (
        synthesized.config.campaigns_memory_mb,
        synthesized.config.campaigns_timeout_seconds,
    )


def test_the_campaigns_function_may_start_campaign_executions_and_nothing_else_of_step_functions(
    synthesized: Synthesized,
) -> None:
    role = synthesized.role_of("campaigns")

    assert grants(synthesized, role, "states:") == {
        key(machines_pattern(synthesized.config.stage)): {"states:StartExecution"}
    }
    assert statements_with(synthesized, role, "iam:") == []
    assert statements_with(synthesized, role, "lambda:") == []


# Starting and deploying campaign state machines


@pytest.mark.parametrize("service", STARTERS)
def test_starters_may_start_only_this_stages_campaign_machines(
    synthesized: Synthesized, service: str
) -> None:
    assert grants(synthesized, synthesized.role_of(service), "states:") == {
        key(machines_pattern(synthesized.config.stage)): {"states:StartExecution"}
    }


def test_the_app_api_deploys_campaign_machines_and_starts_only_the_broadcast_machine(
    synthesized: Synthesized,
) -> None:
    found = grants(synthesized, synthesized.role_of(DEPLOYER), "states:")

    assert found == {
        key(machines_pattern(synthesized.config.stage)): DEPLOY_ACTIONS,
        key({"Ref": broadcast_machine_id(synthesized)}): {"states:StartExecution"},
    }


def test_no_function_acts_on_every_state_machine(synthesized: Synthesized) -> None:
    for role_id in synthesized.of_type("AWS::IAM::Role"):
        for statement in statements_with(synthesized, role_id, "states:"):
            for resource in as_list(statement["Resource"]):
                assert resource != "*" and ":stateMachine:*" not in json.dumps(resource)


def test_no_other_function_may_touch_step_functions(synthesized: Synthesized) -> None:
    allowed = {synthesized.role_of(service) for service in (*STARTERS, DEPLOYER)}
    for service in synthesized.functions():
        role = synthesized.role_of(service)
        if role not in allowed:
            assert statements_with(synthesized, role, "states:") == [], service


def test_the_machines_pattern_covers_the_names_and_versions_campaigns_create(
    synthesized: Synthesized,
) -> None:
    stage = synthesized.config.stage
    name = step_functions.machine_name(stage, "ws-1", "0123456789ab")
    arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    pattern = "arn:aws:states:us-east-1:123456789012:stateMachine:" + f"nudge-{stage}-*"

    assert fnmatchcase(arn, pattern)
    assert fnmatchcase(f"{arn}:3", pattern)  # a published version
    assert not fnmatchcase(arn.replace(f"nudge-{stage}-", f"nudge-{stage}x-"), pattern)
    # The broadcast machine's name is CloudFormation's (its logical id first), outside the pattern.
    assert "StateMachineName" not in the_machine(synthesized)
    assert not fnmatchcase(broadcast_machine_id(synthesized), f"nudge-{stage}-*")


def test_only_the_app_api_may_pass_the_campaign_role_and_only_to_step_functions(
    synthesized: Synthesized,
) -> None:
    passing = {
        role_id: statements_with(synthesized, role_id, "iam:PassRole")
        for role_id in synthesized.of_type("AWS::IAM::Role")
    }

    assert {role_id for role_id, found in passing.items() if found} == {synthesized.role_of(DEPLOYER)}
    (statement,) = passing[synthesized.role_of(DEPLOYER)]
    assert statement["Action"] == "iam:PassRole"
    assert statement["Resource"] == {"Fn::GetAtt": [campaign_role(synthesized), "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}


def test_the_app_api_is_told_where_and_as_whom_campaign_machines_run(synthesized: Synthesized) -> None:
    variables = synthesized.variables(DEPLOYER)

    assert variables["NUDGE_STAGE"] == synthesized.config.stage
    # Task states invoke the campaigns function by ARN (the compiler embeds it at activation).
    assert variables["NUDGE_CAMPAIGNS_FUNCTION"] == function_arn(synthesized, "campaigns")
    assert variables["NUDGE_CAMPAIGN_ROLE_ARN"] == {"Fn::GetAtt": [campaign_role(synthesized), "Arn"]}
    assert variables["NUDGE_BROADCAST_MACHINE_ARN"] == {"Ref": broadcast_machine_id(synthesized)}
    # A log group's Arn attribute ends in ":*", the form Step Functions' logging configuration takes.
    log_group = variables["NUDGE_CAMPAIGN_LOG_GROUP_ARN"]["Fn::GetAtt"]
    assert log_group[1] == "Arn"
    assert synthesized.resources[log_group[0]]["Type"] == "AWS::Logs::LogGroup"


def test_no_other_function_is_told_how_to_deploy_campaigns(synthesized: Synthesized) -> None:
    for service in synthesized.functions():
        if service != DEPLOYER:
            assert DEPLOY_VARIABLES.isdisjoint(synthesized.variables(service)), service


def test_the_variables_are_the_ones_the_campaign_modules_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {name: f"value-of-{name}" for name in DEPLOY_VARIABLES}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    port = step_functions.AwsWorkflows.from_env()

    assert compiler.function_reference() == values["NUDGE_CAMPAIGNS_FUNCTION"]
    assert port.broadcast_machine_arn() == values["NUDGE_BROADCAST_MACHINE_ARN"]
    assert port._stage == values["NUDGE_STAGE"]
    assert port._role_arn == values["NUDGE_CAMPAIGN_ROLE_ARN"]
    assert port._log_group_arn == values["NUDGE_CAMPAIGN_LOG_GROUP_ARN"]


# The campaign role


def test_the_campaign_role_is_for_step_functions_alone(synthesized: Synthesized) -> None:
    role = synthesized.resources[campaign_role(synthesized)]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]

    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert "ManagedPolicyArns" not in role


def test_the_campaign_role_may_invoke_only_the_campaigns_function_and_deliver_its_logs(
    synthesized: Synthesized,
) -> None:
    arn = function_arn(synthesized, "campaigns")
    statements = synthesized.role_statements(campaign_role(synthesized))
    by_resource: dict[str, set[str]] = {}
    for statement in statements:
        assert statement["Effect"] == "Allow" and "Condition" not in statement
        for resource in as_list(statement["Resource"]):
            by_resource.setdefault(key(resource), set()).update(as_list(statement["Action"]))

    assert by_resource == {
        # The function, and its versions and aliases.
        key(arn): {"lambda:InvokeFunction"},
        key({"Fn::Join": ["", [arn, ":*"]]}): {"lambda:InvokeFunction"},
        # Step Functions' vended logs delivery: actions without a resource ARN.
        key("*"): set(LOG_DELIVERY_ACTIONS),
    }


# The broadcast machine


def test_the_broadcast_machine_is_standard_and_runs_as_the_campaign_role(synthesized: Synthesized) -> None:
    machine = the_machine(synthesized)

    # A broadcast to a large segment, or one scheduled for later, outlives Express's five minutes.
    assert machine["StateMachineType"] == "STANDARD"
    assert machine["RoleArn"] == {"Fn::GetAtt": [campaign_role(synthesized), "Arn"]}


def test_the_broadcast_machine_is_the_apps_definition_invoking_the_campaigns_function(
    synthesized: Synthesized,
) -> None:
    machine = the_machine(synthesized)
    (placeholder,) = machine["DefinitionSubstitutions"]

    assert machine["DefinitionSubstitutions"][placeholder] == function_arn(synthesized, "campaigns")
    assert json.loads(machine["DefinitionString"]) == broadcast_machine.definition(f"${{{placeholder}}}")


def test_the_broadcast_machine_logs_errors_without_execution_data(synthesized: Synthesized) -> None:
    logging = the_machine(synthesized)["LoggingConfiguration"]
    (destination,) = logging["Destinations"]
    log_group_id, attribute = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"]

    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ERROR", False)
    assert attribute == "Arn"
    # Campaign machines log to the same group (the App API is told it).
    assert synthesized.variables(DEPLOYER)["NUDGE_CAMPAIGN_LOG_GROUP_ARN"] == {
        "Fn::GetAtt": [log_group_id, "Arn"]
    }
    # Kept as long as every other log group (context log_retention).
    api_logs = synthesized.function(DEPLOYER)[1]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    retention = synthesized.resources[log_group_id]["Properties"]["RetentionInDays"]
    assert retention == synthesized.resources[api_logs]["Properties"]["RetentionInDays"] == 30  # ONE_MONTH


def test_the_broadcast_machine_is_not_traced(synthesized: Synthesized) -> None:
    # Nudge uses no X-Ray (cdk-nag SF2 is acknowledged with the reason); campaign machines are created
    # untraced too.
    assert the_machine(synthesized)["TracingConfiguration"] == {"Enabled": False}


def test_the_broadcast_machine_alarms_on_failed_and_timed_out_executions(synthesized: Synthesized) -> None:
    machine = {"Ref": broadcast_machine_id(synthesized)}
    watched = {
        alarm["Properties"]["MetricName"]
        for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if {"Name": "StateMachineArn", "Value": machine} in alarm["Properties"].get("Dimensions", [])
    }

    assert watched == {"ExecutionsFailed", "ExecutionsTimedOut"}


def test_outputs_name_the_broadcast_machine_and_the_campaign_role(synthesized: Synthesized) -> None:
    found = outputs(synthesized)

    assert synthesized.resources[found["BroadcastMachineArn"]["Value"]["Ref"]]["Type"] == (
        "AWS::StepFunctions::StateMachine"
    )
    assert synthesized.resources[campaign_role(synthesized)]["Type"] == "AWS::IAM::Role"


# Another stage


def test_another_stage_names_its_own_machines(prod: Synthesized) -> None:
    # Its synth passed cdk-nag too: the acknowledged wildcard follows the stage.
    pattern = key(machines_pattern(PROD))

    assert prod.variables(DEPLOYER)["NUDGE_STAGE"] == PROD
    assert set(grants(prod, prod.role_of(DEPLOYER), "states:")) == {
        pattern,
        key({"Ref": broadcast_machine_id(prod)}),
    }
    for service in STARTERS:
        assert set(grants(prod, prod.role_of(service), "states:")) == {pattern}
