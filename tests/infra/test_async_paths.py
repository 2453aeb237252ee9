"""The asynchronous paths: table streams into the evaluate function, the schedules into the re-check
sweep and the daily billing run, each with bounded retries and a dead-letter destination for what it
gives up on, and an alarm for a day the billing run did not happen."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import table_env_var
from nudge.model import TABLE_MODELS
from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra

STREAMED = sorted(name for name, model in TABLE_MODELS.items() if model.Meta.streamed)  # type: ignore[attr-defined]
STREAM_RETENTION_SECONDS = 24 * 60 * 60  # DynamoDB Streams keeps a record for 24 hours
FOURTEEN_DAYS = 14 * 24 * 60 * 60
ONE_DAY = 24 * 60 * 60
# Every scheduled function (POWERTOOLS_SERVICE_NAME) and the schedule it runs on. Billing runs at 00:05
# UTC, after the day's period boundaries (midnight UTC).
SCHEDULES = {"sweep": "rate(1 minute)", "billing": "cron(5 0 * * ? *)"}


def stream_mappings(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Table name -> the properties of the event source mapping reading its stream."""
    ids = {logical_id: name for name, logical_id in synth.table_ids().items()}
    found: dict[str, dict[str, Any]] = {}
    for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        table_id, attribute = properties["EventSourceArn"]["Fn::GetAtt"]
        assert attribute == "StreamArn"
        assert ids[table_id] not in found, f"two mappings read the {ids[table_id]} stream"
        found[ids[table_id]] = properties
    return found


def queue_of(synth: Synthesized, arn: Any) -> str:
    """The logical id of the SQS queue an ARN reference points at (and fail if it is anything else)."""
    logical_id, attribute = arn["Fn::GetAtt"]
    assert attribute == "Arn"
    assert synth.resources[logical_id]["Type"] == "AWS::SQS::Queue"
    return str(logical_id)


def rule_targets(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        target
        for rule in synth.of_type("AWS::Events::Rule").values()
        for target in rule["Properties"]["Targets"]
    ]


def scheduled_rule(synth: Synthesized, service: str) -> tuple[str, dict[str, Any]]:
    """The logical id and resource of the one rule that runs a function."""
    arn = {"Fn::GetAtt": [synth.function(service)[0], "Arn"]}
    (found,) = [
        (rule_id, rule)
        for rule_id, rule in synth.of_type("AWS::Events::Rule").items()
        if any(target["Arn"] == arn for target in rule["Properties"]["Targets"])
    ]
    return found


def invoke_config(synth: Synthesized, service: str) -> dict[str, Any]:
    """The properties of a function's asynchronous invocation config."""
    function_id = synth.function(service)[0]
    (config,) = [
        c["Properties"]
        for c in synth.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    return config


# Streams


def test_every_streamed_table_feeds_the_evaluate_function(synthesized: Synthesized) -> None:
    evaluate_id = synthesized.function("evaluate")[0]
    mappings = stream_mappings(synthesized)

    assert STREAMED
    assert sorted(mappings) == STREAMED
    assert all(mapping["FunctionName"] == {"Ref": evaluate_id} for mapping in mappings.values())


@pytest.mark.parametrize("name", STREAMED)
def test_stream_mapping_isolates_failures_and_gives_up_in_bounded_time(
    synthesized: Synthesized, name: str
) -> None:
    mapping = stream_mappings(synthesized)[name]

    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    # Given up on while the record is still in the stream, so it can be read back and replayed.
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] < STREAM_RETENTION_SECONDS
    queue_of(synthesized, mapping["DestinationConfig"]["OnFailure"]["Destination"])


@pytest.mark.parametrize("name", STREAMED)
def test_stream_mapping_batches_from_the_oldest_record(synthesized: Synthesized, name: str) -> None:
    mapping = stream_mappings(synthesized)[name]

    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 1


def test_stream_failures_share_one_dead_letter_queue_of_their_own(synthesized: Synthesized) -> None:
    queues = {
        queue_of(synthesized, mapping["DestinationConfig"]["OnFailure"]["Destination"])
        for mapping in stream_mappings(synthesized).values()
    }
    rule_queues = {
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"]) for target in rule_targets(synthesized)
    }

    assert len(queues) == 1
    assert queues.isdisjoint(rule_queues)


def test_evaluate_role_reads_exactly_the_streams_it_consumes(synthesized: Synthesized) -> None:
    ids = {logical_id: name for name, logical_id in synthesized.table_ids().items()}
    stream_arns = {
        ids[resource["Fn::GetAtt"][0]]
        for role_id in synthesized.of_type("AWS::IAM::Role")
        for statement in synthesized.role_statements(role_id)
        for resource in as_list(statement["Resource"])
        if isinstance(resource, dict) and resource.get("Fn::GetAtt", [None, None])[1] == "StreamArn"
    }
    evaluate_role = synthesized.function("evaluate")[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    evaluate_streams = {
        ids[resource["Fn::GetAtt"][0]]
        for statement in synthesized.role_statements(evaluate_role)
        for resource in as_list(statement["Resource"])
        if isinstance(resource, dict) and resource.get("Fn::GetAtt", [None, None])[1] == "StreamArn"
    }

    assert sorted(stream_arns) == sorted(evaluate_streams) == STREAMED


def test_evaluate_function_is_told_every_table_it_consumes(synthesized: Synthesized) -> None:
    # It tells a record's table from the stream ARN by the table names it was given.
    variables = synthesized.function("evaluate")[1]["Properties"]["Environment"]["Variables"]

    assert {table_env_var(name) for name in STREAMED} <= set(variables)


# Schedule


@pytest.mark.parametrize("service", sorted(SCHEDULES))
def test_scheduled_function_runs_on_its_schedule(synthesized: Synthesized, service: str) -> None:
    _, rule = scheduled_rule(synthesized, service)
    (target,) = rule["Properties"]["Targets"]

    assert rule["Properties"]["ScheduleExpression"] == SCHEDULES[service]
    assert rule["Properties"]["State"] == "ENABLED"
    assert target["Arn"] == {"Fn::GetAtt": [synthesized.function(service)[0], "Arn"]}


def test_every_rule_runs_one_scheduled_function(synthesized: Synthesized) -> None:
    assert set(synthesized.of_type("AWS::Events::Rule")) == {
        scheduled_rule(synthesized, service)[0] for service in SCHEDULES
    }


def test_only_its_schedule_may_invoke_a_scheduled_function(synthesized: Synthesized) -> None:
    from_events = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] != "apigateway.amazonaws.com"
    ]
    expected = [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [synthesized.function(service)[0], "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [scheduled_rule(synthesized, service)[0], "Arn"]},
        }
        for service in SCHEDULES
    ]

    assert len(from_events) == len(expected)
    assert all(permission in expected for permission in from_events)


def test_schedule_delivery_retries_are_bounded_and_dead_lettered(synthesized: Synthesized) -> None:
    targets = rule_targets(synthesized)

    assert targets
    for target in targets:
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"])
        assert 0 <= target["RetryPolicy"]["MaximumRetryAttempts"] <= 3
        assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600


def test_scheduled_runs_that_fail_are_dead_lettered_not_retried(synthesized: Synthesized) -> None:
    # The sweep resumes from its bookmark: the next run, a minute later, redoes what a failed one missed.
    config = invoke_config(synthesized, "sweep")

    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 60
    queue_of(synthesized, config["DestinationConfig"]["OnFailure"]["Destination"])


def test_failed_billing_runs_are_retried_a_little_then_dead_lettered(synthesized: Synthesized) -> None:
    # The next run is a day away, and a run is idempotent: a failed one is retried, within the hour.
    config = invoke_config(synthesized, "billing")

    assert 0 < config["MaximumRetryAttempts"] <= 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 3600
    queue_of(synthesized, config["DestinationConfig"]["OnFailure"]["Destination"])


def test_each_schedule_dead_letters_both_hops_into_a_queue_of_its_own(synthesized: Synthesized) -> None:
    queues = {}
    for service in SCHEDULES:
        (target,) = scheduled_rule(synthesized, service)[1]["Properties"]["Targets"]
        delivery = queue_of(synthesized, target["DeadLetterConfig"]["Arn"])
        run = queue_of(
            synthesized, invoke_config(synthesized, service)["DestinationConfig"]["OnFailure"]["Destination"]
        )
        assert delivery == run
        queues[service] = delivery

    assert len(set(queues.values())) == len(SCHEDULES)


def test_a_day_without_a_billing_run_raises_an_alarm(synthesized: Synthesized) -> None:
    _, alarm = synthesized.one_of_type("AWS::CloudWatch::Alarm")
    properties = alarm["Properties"]

    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert properties["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": synthesized.function("billing")[0]}}
    ]
    assert (properties["Statistic"], properties["Period"], properties["EvaluationPeriods"]) == (
        "Sum",
        ONE_DAY,
        1,
    )
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("LessThanThreshold", 1)
    # No invocation at all reports no data: that is the day it is for.
    assert properties["TreatMissingData"] == "breaching"


# Dead letters on every asynchronous path


def test_every_asynchronous_path_has_a_dead_letter_destination(synthesized: Synthesized) -> None:
    mappings = synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
    targets = rule_targets(synthesized)
    # A function invoked by anything but the HTTP API (which waits for the answer) is invoked
    # asynchronously, and needs its own on-failure destination for runs that fail.
    invoked_async = {
        p["Properties"]["FunctionName"]["Fn::GetAtt"][0]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] != "apigateway.amazonaws.com"
    }
    invoke_configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
    }

    assert mappings and targets and invoked_async
    for mapping in mappings:
        queue_of(synthesized, mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
    for target in targets:
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"])
    for function_id in invoked_async:
        queue_of(synthesized, invoke_configs[function_id]["DestinationConfig"]["OnFailure"]["Destination"])


def test_dead_letter_queues_are_encrypted_tls_only_and_keep_messages_14_days(
    synthesized: Synthesized,
) -> None:
    queues = synthesized.of_type("AWS::SQS::Queue")
    policies = [p["Properties"] for p in synthesized.of_type("AWS::SQS::QueuePolicy").values()]

    assert len(queues) == 1 + len(SCHEDULES)  # the streams', and one per schedule
    for logical_id, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
        assert properties["MessageRetentionPeriod"] == FOURTEEN_DAYS
        statements = [
            s
            for p in policies
            if {"Ref": logical_id} in p["Queues"]
            for s in p["PolicyDocument"]["Statement"]
        ]
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": {"Fn::GetAtt": [logical_id, "Arn"]},
        } in statements


def test_only_its_schedule_rule_may_send_to_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Lambda's on-failure destinations send with the function's role; EventBridge needs the queue policy.
    rule_of_queue = {
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"]): rule_id
        for rule_id, rule in synthesized.of_type("AWS::Events::Rule").items()
        for target in rule["Properties"]["Targets"]
    }
    allowed = [
        statement
        for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]

    assert len(allowed) == len(SCHEDULES)
    for statement in allowed:
        rule_id = rule_of_queue[queue_of(synthesized, statement["Resource"])]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
