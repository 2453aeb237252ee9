"""The Step Functions port: the requests AwsWorkflows makes (botocore Stubber), LocalWorkflows' wiring,
and the broadcast machine's shape."""

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from nudge.campaigns import broadcast_machine, step_functions
from nudge.campaigns.step_functions import AwsWorkflows, WorkflowsNotConfigured, machine_name
from nudge_tools.local.campaign_workflows import LocalWorkflows

ROLE = "arn:aws:iam::123456789012:role/nudge-campaigns"
LOGS = "arn:aws:logs:us-east-1:123456789012:log-group:/nudge/campaigns:*"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:nudge-prod-ws1-c1"
ASL = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}


@pytest.fixture
def client():
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with Stubber(sfn) as stub:
        yield sfn, stub
        stub.assert_no_pending_responses()


def port(sfn, **kw):
    return AwsWorkflows(sfn, stage="prod", role_arn=ROLE, **kw)


def test_a_new_campaign_creates_a_standard_machine_and_publishes_its_first_version(client):
    sfn, stub = client
    stub.add_client_error(
        "describe_state_machine", "StateMachineDoesNotExist", expected_params={"stateMachineArn": MACHINE}
    )
    stub.add_response(
        "create_state_machine",
        {"stateMachineArn": MACHINE, "creationDate": 0, "stateMachineVersionArn": MACHINE + ":1"},
        {
            "name": "nudge-prod-ws1-c1",
            "type": "STANDARD",
            "definition": json.dumps(ASL),
            "roleArn": ROLE,
            "loggingConfiguration": {
                "level": "ERROR",
                "includeExecutionData": False,  # no personal data in the logs
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": LOGS}}],
            },
            "tracingConfiguration": {"enabled": False},
            "publish": True,
            "versionDescription": "campaign c1",
        },
    )
    assert port(sfn, log_group_arn=LOGS).deploy("ws1", "c1", ASL) == (MACHINE, MACHINE + ":1")


def test_an_existing_machine_is_updated_and_a_new_version_published(client):
    sfn, stub = client
    stub.add_response(
        "describe_state_machine",
        {
            "stateMachineArn": MACHINE,
            "name": "nudge-prod-ws1-c1",
            "definition": "{}",
            "roleArn": ROLE,
            "type": "STANDARD",
            "creationDate": 0,
        },
        {"stateMachineArn": MACHINE},
    )
    stub.add_response(
        "update_state_machine",
        {"updateDate": 0, "stateMachineVersionArn": MACHINE + ":2"},
        {
            "stateMachineArn": MACHINE,
            "definition": json.dumps(ASL),
            "roleArn": ROLE,
            "loggingConfiguration": {"level": "OFF"},
            "tracingConfiguration": {"enabled": False},
            "publish": True,
            "versionDescription": "campaign c1",
        },
    )
    assert port(sfn).deploy("ws1", "c1", ASL) == (MACHINE, MACHINE + ":2")


def test_a_machine_created_concurrently_is_updated_instead(client):
    sfn, stub = client
    stub.add_client_error("describe_state_machine", "StateMachineDoesNotExist")
    stub.add_client_error("create_state_machine", "StateMachineAlreadyExists")
    stub.add_response(
        "update_state_machine",
        {"updateDate": 0, "stateMachineVersionArn": MACHINE + ":7"},
        {
            "stateMachineArn": MACHINE,
            "definition": ANY,
            "roleArn": ROLE,
            "loggingConfiguration": ANY,
            "tracingConfiguration": ANY,
            "publish": True,
            "versionDescription": ANY,
        },
    )
    assert port(sfn).deploy("ws1", "c1", ASL) == (MACHINE, MACHINE + ":7")


def test_start_runs_on_the_version_and_a_duplicate_name_is_refused(client):
    sfn, stub = client
    payload = {"workspace_id": "ws1", "cio_id": "p1"}
    expected = {"stateMachineArn": MACHINE + ":3", "name": "n1", "input": json.dumps(payload)}
    stub.add_response("start_execution", {"executionArn": "arn:x", "startDate": 0}, expected)
    stub.add_client_error("start_execution", "ExecutionAlreadyExists", expected_params=expected)
    aws = port(sfn)
    assert aws.start(MACHINE + ":3", "n1", payload) is True
    assert aws.start(MACHINE + ":3", "n1", payload) is False


def test_other_start_errors_propagate(client):
    sfn, stub = client
    stub.add_client_error("start_execution", "ExecutionLimitExceeded")
    with pytest.raises(sfn.exceptions.ExecutionLimitExceeded):
        port(sfn).start(MACHINE, "n1", {})


def test_deploying_needs_a_role_and_broadcasts_need_their_machine():
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with pytest.raises(WorkflowsNotConfigured):
        AwsWorkflows(sfn, stage="prod").deploy("ws1", "c1", ASL)
    with pytest.raises(WorkflowsNotConfigured):
        AwsWorkflows(sfn, stage="prod").broadcast_machine_arn()
    assert AwsWorkflows(sfn, broadcast_arn="arn:b").broadcast_machine_arn() == "arn:b"


def test_from_env(monkeypatch):
    monkeypatch.setenv("NUDGE_STAGE", "prod")
    monkeypatch.setenv("NUDGE_CAMPAIGN_ROLE_ARN", ROLE)
    monkeypatch.setenv("NUDGE_BROADCAST_MACHINE_ARN", "arn:b")
    monkeypatch.delenv("NUDGE_CAMPAIGN_LOG_GROUP_ARN", raising=False)
    built = AwsWorkflows.from_env()
    assert built.broadcast_machine_arn() == "arn:b"
    assert built._role_arn == ROLE and built._stage == "prod"


def test_machine_names_are_safe_and_at_most_80_characters():
    assert machine_name("prod", "ws1", "c1") == "nudge-prod-ws1-c1"
    long = machine_name("prod", "w" * 60, "c" * 60)
    assert len(long) == 80 and long.startswith("nudge-prod-www")
    assert machine_name("dev", "a.b", "c/d") == "nudge-dev-a_b-c_d"


def test_get_builds_once_and_install_overrides(monkeypatch):
    step_functions.install(None)
    try:
        first = step_functions.get()
        assert isinstance(first, AwsWorkflows) and step_functions.get() is first
        fake = object()
        step_functions.install(fake)  # type: ignore[arg-type]
        assert step_functions.get() is fake
    finally:
        step_functions.install(None)


class FakeLocalSfn:
    def __init__(self):
        self.deployed = []

    def deploy(self, name, definition):
        self.deployed.append((name, definition))
        return f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"

    def function_arn(self, name):
        return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


def test_local_workflows_start_on_the_unqualified_arn_and_deploy_the_broadcast_machine_once():
    local = FakeLocalSfn()
    port = LocalWorkflows(local, client=object())  # type: ignore[arg-type]
    arn, version = port.deploy("ws1", "c1", ASL)
    assert arn == version and arn.endswith(":stateMachine:nudge-local-ws1-c1")  # moto: no version ARNs
    first = port.broadcast_machine_arn()
    assert port.broadcast_machine_arn() == first
    assert [name for name, _ in local.deployed] == ["nudge-local-ws1-c1", "nudge-local-broadcasts"]
    task = local.deployed[1][1]["States"]["Page"]
    assert task["Parameters"]["FunctionName"].endswith(":function:nudge-campaigns")


def test_the_broadcast_machine_pages_with_a_pause_between_pages():
    asl = broadcast_machine.definition("nudge-campaigns")
    states = asl["States"]
    assert asl["StartAt"] == "Page"
    assert states["Page"]["Parameters"]["Payload"]["action"] == "broadcast_page"
    assert states["Page"]["Next"] == "Next?"
    rules = {rule["Next"]: rule for rule in states["Next?"]["Choices"]}
    assert rules["Done"]["Variable"] == "$.done" and states["Next?"]["Default"] == "Pause"
    assert states["Pause"] == {"Type": "Wait", "SecondsPath": "$.pause_seconds", "Next": "Page"}
    assert states["Scheduled"]["SecondsPath"] == "$.wait_seconds"
    assert states["Done"] == {"Type": "Succeed"}
