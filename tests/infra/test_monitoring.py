"""Monitoring: the encrypted alarm topic (emailed only when asked), an alarm on every dead-letter queue,
stream consumer, function, the API's 5xx rate and SES's reputation, each notifying the topic and each
deciding what missing data means; state machines added one line each; and the dashboard's metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from infra.app import create_app
from infra.config import DeployConfig
from nudge.billing import telemetry as billing_telemetry
from nudge.delivery import telemetry
from tests.infra.conftest import Synthesized, cdk_json_context

pytestmark = pytest.mark.infra

ALARM_EMAIL = "ops@example.com"
# A state machine defined outside the stack (the stack's own, the broadcast machine, is watched already).
PROBE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:probe"
# The context the tuned synth is given, and what each value must become in an alarm.
TUNED = {
    "alarm_email": ALARM_EMAIL,
    "iterator_age_alarm_seconds": "120",
    "api_5xx_alarm_rate": "0.05",
    "ses_bounce_alarm_rate": "0.03",
    "ses_complaint_alarm_rate": "0.0005",
}
# Functions that answer the API (their errors are a client's 502, which the 5xx rate alarm watches).
API_FUNCTIONS = {"track", "api", "links"}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """With an alarm email, every threshold changed, and a state machine given to monitoring."""
    app, stack = create_app(
        build_dir=tmp_path_factory.mktemp("build"),
        with_dependencies=False,
        context={**cdk_json_context(), **TUNED},
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
    )
    stack.monitoring.add_state_machine(
        sfn.StateMachine.from_state_machine_arn(stack, "Probe", PROBE_MACHINE_ARN)
    )
    assembly = app.synth()
    template = Template.from_stack(stack)
    return Synthesized(
        template=template,
        resources=template.to_json()["Resources"],
        assembly_dir=Path(assembly.directory),
        template_file=Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path),
        config=DeployConfig.from_context(app),
    )


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {name: alarm["Properties"] for name, alarm in synth.of_type("AWS::CloudWatch::Alarm").items()}


def alarms_on(synth: Synthesized, metric_name: str) -> list[dict[str, Any]]:
    return [alarm for alarm in alarms(synth).values() if alarm.get("MetricName") == metric_name]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    (value,) = [d["Value"] for d in alarm["Dimensions"] if d["Name"] == name]
    return value


def alarm_topic(synth: Synthesized) -> str:
    """The logical id of the topic the AlarmTopicArn output names."""
    output = synth.template.to_json()["Outputs"]["AlarmTopicArn"]
    return str(output["Value"]["Ref"])


def dead_letter_queues(synth: Synthesized) -> dict[str, Any]:
    """Every queue but those that feed a function (the exports queue), which have a redrive policy: each
    of these acknowledges SQS3 as a dead-letter queue."""
    return {
        i: q for i, q in synth.of_type("AWS::SQS::Queue").items() if "RedrivePolicy" not in q["Properties"]
    }


def service_of(synth: Synthesized, function_ref: Any) -> str:
    """The service name of the function a ``{"Ref": ...}`` points at."""
    (service,) = [
        name for name, (logical_id, _) in synth.functions().items() if function_ref == {"Ref": logical_id}
    ]
    return service


def dashboard_body(synth: Synthesized) -> dict[str, Any]:
    """The dashboard's JSON, with every CloudFormation reference in it read as "TOKEN"."""
    _, dashboard = synth.one_of_type("AWS::CloudWatch::Dashboard")
    separator, parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"]
    text = separator.join(part if isinstance(part, str) else "TOKEN" for part in parts)
    return dict(json.loads(text))


def widget_metrics(synth: Synthesized) -> dict[str, str]:
    """Widget title -> its metrics, as text (metric names, namespaces, search expressions)."""
    return {
        widget["properties"]["title"]: json.dumps(widget["properties"]["metrics"])
        for widget in dashboard_body(synth)["widgets"]
    }


# The topic


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_and_tls_only(
    synthesized: Synthesized,
) -> None:
    topic = synthesized.resources[alarm_topic(synthesized)]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synthesized.resources[key_id]["Properties"]

    assert key["EnableKeyRotation"] is True
    assert any(
        statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        and set(statement["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
        for statement in key["KeyPolicy"]["Statement"]
    )
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": alarm_topic(synthesized)} in p["Properties"]["Topics"]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )
    (publish,) = [s for s in policy if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert "aws:SourceAccount" in publish["Condition"]["StringEquals"]


def test_nobody_is_emailed_without_an_alarm_email(synthesized: Synthesized) -> None:
    topic = {"Ref": alarm_topic(synthesized)}

    assert not [
        s
        for s in synthesized.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == topic
    ]


def test_the_alarm_email_is_subscribed_to_the_topic(tuned: Synthesized) -> None:
    topic = {"Ref": alarm_topic(tuned)}
    (subscription,) = [
        s["Properties"]
        for s in tuned.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == topic
    ]

    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", ALARM_EMAIL)


def test_outputs_name_the_alarm_topic_and_the_dashboard(synthesized: Synthesized) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    dashboard_id, dashboard = synthesized.one_of_type("AWS::CloudWatch::Dashboard")

    assert synthesized.resources[outputs["AlarmTopicArn"]["Value"]["Ref"]]["Type"] == "AWS::SNS::Topic"
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard_id}
    assert dashboard["Properties"]["DashboardName"] == synthesized.config.stack_name


# Every alarm


@pytest.mark.parametrize("synth_name", ["synthesized", "tuned"])
def test_every_alarm_notifies_the_alarm_topic_going_in_and_coming_out(
    synth_name: str, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(synth_name)
    topic = {"Ref": alarm_topic(synth)}

    for name, alarm in alarms(synth).items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["OKActions"] == [topic], name


def test_every_alarm_decides_what_missing_data_means(tuned: Synthesized) -> None:
    # CloudWatch's default ("missing") is never chosen by omission: each alarm states its own.
    for name, alarm in alarms(tuned).items():
        assert alarm.get("TreatMissingData") in {"breaching", "notBreaching", "ignore", "missing"}, name


def test_every_alarm_says_what_it_is_about(synthesized: Synthesized) -> None:
    for name, alarm in alarms(synthesized).items():
        assert alarm.get("AlarmDescription", "").startswith("Nudge "), name


# Dead-letter queues


def test_every_dead_letter_queue_alarms_when_not_empty(synthesized: Synthesized) -> None:
    queues = dead_letter_queues(synthesized)
    watched = alarms_on(synthesized, "ApproximateNumberOfMessagesVisible")

    assert len(watched) == len(queues)
    assert sorted(dimension(alarm, "QueueName")["Fn::GetAtt"][0] for alarm in watched) == sorted(queues)
    for alarm in watched:
        assert alarm["Namespace"] == "AWS/SQS"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
        assert alarm["TreatMissingData"] == "notBreaching"


# Stream consumers


@pytest.mark.parametrize(("synth_name", "seconds"), [("synthesized", 300), ("tuned", 120)])
def test_each_stream_consumer_alarms_when_it_falls_behind(
    synth_name: str, seconds: int, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(synth_name)
    consumers = {
        service_of(synth, mapping["Properties"]["FunctionName"])
        for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    }
    watched = alarms_on(synth, "IteratorAge")

    assert consumers == {"evaluate", "send"}
    assert sorted(service_of(synth, dimension(alarm, "FunctionName")) for alarm in watched) == sorted(
        consumers
    )
    for alarm in watched:
        assert alarm["Threshold"] == seconds * 1000  # IteratorAge is in milliseconds
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Statistic"] == "Maximum"


# The API


@pytest.mark.parametrize(("synth_name", "rate"), [("synthesized", 0.01), ("tuned", 0.05)])
def test_the_api_alarms_on_its_5xx_rate_once_it_has_traffic(
    synth_name: str, rate: float, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(synth_name)
    api_id, _ = synth.one_of_type("AWS::ApiGatewayV2::Api")
    (alarm,) = [
        a for a in alarms(synth).values() if "Metrics" in a and "ApiGateway" in json.dumps(a["Metrics"])
    ]
    expression = next(m for m in alarm["Metrics"] if "Expression" in m)
    inputs = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}

    assert expression["ReturnData"] is True
    assert expression["Expression"].startswith("IF(requests >= ")  # no rate below a minimum of requests
    assert "errors" in expression["Expression"]
    assert {(m["Namespace"], m["MetricName"]) for m in inputs.values()} == {
        ("AWS/ApiGateway", "Count"),
        ("AWS/ApiGateway", "5xx"),
    }
    for metric in inputs.values():
        assert metric["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": api_id}}]
    assert alarm["Threshold"] == rate
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m} == {300}


# SES


@pytest.mark.parametrize(
    ("synth_name", "bounce", "complaint"), [("synthesized", 0.04, 0.0008), ("tuned", 0.03, 0.0005)]
)
def test_ses_reputation_alarms_before_ses_reviews_the_account(
    synth_name: str, bounce: float, complaint: float, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(synth_name)

    for metric_name, threshold in (
        ("Reputation.BounceRate", bounce),
        ("Reputation.ComplaintRate", complaint),
    ):
        (alarm,) = alarms_on(synth, metric_name)
        assert alarm["Namespace"] == "AWS/SES"
        assert "Dimensions" not in alarm  # the account's rate: what SES reviews
        assert alarm["Threshold"] == threshold
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "ignore"  # SES reports sparsely


# Functions


def test_every_function_alarms_on_errors(synthesized: Synthesized) -> None:
    watched = {
        service_of(synthesized, dimension(a, "FunctionName")): a for a in alarms_on(synthesized, "Errors")
    }

    assert set(watched) == set(synthesized.functions())
    for service, alarm in watched.items():
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == ("AWS/Lambda", "Sum", 300)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Threshold"] == (5 if service in API_FUNCTIONS else 1), service
        assert alarm["TreatMissingData"] == "notBreaching"


def test_functions_publish_their_metrics_to_the_nudge_namespace(synthesized: Synthesized) -> None:
    for service in synthesized.functions():
        assert synthesized.variables(service)["POWERTOOLS_METRICS_NAMESPACE"] == telemetry.NAMESPACE


# State machines


def test_a_state_machine_given_to_monitoring_alarms_on_failed_and_timed_out_executions(
    synthesized: Synthesized, tuned: Synthesized
) -> None:
    broadcasts = {"Ref": synthesized.template.to_json()["Outputs"]["BroadcastMachineArn"]["Value"]["Ref"]}
    for metric_name in ("ExecutionsFailed", "ExecutionsTimedOut"):
        # The stack's own machine (the broadcast fan-out), and the probe given to monitoring.
        assert [dimension(a, "StateMachineArn") for a in alarms_on(synthesized, metric_name)] == [broadcasts]
        watched = {json.dumps(dimension(a, "StateMachineArn")): a for a in alarms_on(tuned, metric_name)}
        assert set(watched) == {json.dumps(broadcasts), json.dumps(PROBE_MACHINE_ARN)}
        for alarm in watched.values():
            assert alarm["Namespace"] == "AWS/States"
            assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
            assert alarm["AlarmActions"] == [{"Ref": alarm_topic(tuned)}]
            assert alarm["TreatMissingData"] == "notBreaching"


# The dashboard


def test_the_dashboard_graphs_the_api(synthesized: Synthesized) -> None:
    metrics = widget_metrics(synthesized)
    api = metrics["API requests"] + metrics["API errors"] + metrics["API latency (ms)"]

    for name in ("Count", "4xx", "5xx", "Latency"):
        assert f'"AWS/ApiGateway", "{name}", "ApiId"' in api


def test_the_dashboard_graphs_streams_evaluation_and_billing(synthesized: Synthesized) -> None:
    metrics = widget_metrics(synthesized)

    assert metrics["Stream iterator age (ms)"].count('"IteratorAge"') == 2  # evaluate and send
    assert '"Errors"' in metrics["Evaluation failures"]
    assert metrics["Evaluation failures"].count('"ApproximateNumberOfMessagesVisible"') == 2  # stream queues
    assert '"Invocations"' in metrics["Billing runs"] and '"Errors"' in metrics["Billing runs"]
    dead_letters = metrics["Dead-letter queues (messages waiting)"]
    assert dead_letters.count("ApproximateNumberOfMessagesVisible") == len(dead_letter_queues(synthesized))
    assert metrics["Function errors"].count('"Errors"') == len(synthesized.functions())


def test_the_dashboard_searches_every_state_machine(synthesized: Synthesized) -> None:
    metrics = widget_metrics(synthesized)
    executions = metrics["Step Functions executions (all state machines)"]

    for name in ("ExecutionsStarted", "ExecutionsFailed", "ExecutionsTimedOut"):
        assert f"SEARCH('{{AWS/States,StateMachineArn}} MetricName=\\\"{name}\\\"', 'Sum', 300)" in executions
    assert "SEARCH('{AWS/States,StateMachineArn}" in metrics["Failed executions, by state machine"]


def test_the_dashboard_graphs_sends_by_channel_and_email_feedback(synthesized: Synthesized) -> None:
    metrics = widget_metrics(synthesized)
    sends = metrics["Messages sent, by channel"] + metrics["Messages not sent (all channels)"]
    feedback = metrics["Email feedback (SES events)"]

    for name in telemetry.SEND_METRICS:
        assert f"SEARCH('{{Nudge,channel}} MetricName=\\\"{name}\\\"'" in sends
    assert {"Bounced", "Complained"} <= set(telemetry.FEEDBACK_METRICS)
    for name in telemetry.FEEDBACK_METRICS:
        assert f'"Nudge", "{name}", "channel", "email"' in feedback


def test_the_dashboard_graphs_ses_reputation_for_the_account_and_the_configuration_set(
    synthesized: Synthesized,
) -> None:
    metrics = widget_metrics(synthesized)

    for title, name in (
        ("SES bounce rate", "Reputation.BounceRate"),
        ("SES complaint rate", "Reputation.ComplaintRate"),
    ):
        assert f'"AWS/SES", "{name}", {{' in metrics[title]  # the account's
        assert f'"AWS/SES", "{name}", "ses:configuration-set", "TOKEN"' in metrics[title]
    _, dashboard = synthesized.one_of_type("AWS::CloudWatch::Dashboard")
    configuration_set, _ = synthesized.one_of_type("AWS::SES::ConfigurationSet")
    assert {"Ref": configuration_set} in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]


def test_a_synth_with_alarm_email_and_a_state_machine_passes_cdk_nag_and_cfn_lint(tuned: Synthesized) -> None:
    # The fixture's synth raised on any unacknowledged cdk-nag finding; cfn-lint reads what it wrote.
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")

    assert [str(match) for match in api.lint_file(tuned.template_file)] == []


# Billing


def test_the_billing_run_alarms_when_it_could_not_bill_a_workspace(synthesized: Synthesized) -> None:
    (alarm,) = alarms_on(synthesized, billing_telemetry.WORKSPACES_NOT_BILLED)

    assert alarm["Namespace"] == telemetry.NAMESPACE
    assert "Dimensions" not in alarm  # the handler's EMF document has none
    assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 86400)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["TreatMissingData"] == "notBreaching"  # no data is no run: the missed-run alarm's case
