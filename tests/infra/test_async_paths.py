"""The asynchronous paths: table streams into the evaluate function, the schedule into the re-check
sweep, each with bounded retries and a dead-letter destination for what it gives up on."""

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


def test_the_sweep_runs_every_minute(synthesized: Synthesized) -> None:
    _, rule = synthesized.one_of_type("AWS::Events::Rule")
    (target,) = rule["Properties"]["Targets"]

    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Properties"]["State"] == "ENABLED"
    assert target["Arn"] == {"Fn::GetAtt": [synthesized.function("sweep")[0], "Arn"]}


def test_only_the_schedule_may_invoke_the_sweep(synthesized: Synthesized) -> None:
    rule_id, _ = synthesized.one_of_type("AWS::Events::Rule")
    from_events = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] != "apigateway.amazonaws.com"
    ]

    assert from_events == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [synthesized.function("sweep")[0], "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_schedule_delivery_retries_are_bounded_and_dead_lettered(synthesized: Synthesized) -> None:
    targets = rule_targets(synthesized)

    assert targets
    for target in targets:
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"])
        assert 0 <= target["RetryPolicy"]["MaximumRetryAttempts"] <= 3
        assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600


def test_scheduled_runs_that_fail_are_dead_lettered_not_retried(synthesized: Synthesized) -> None:
    # The sweep resumes from its bookmark: the next run, a minute later, redoes what a failed one missed.
    sweep_id = synthesized.function("sweep")[0]
    (config,) = [
        c["Properties"]
        for c in synthesized.of_type("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": sweep_id}
    ]

    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 60
    queue_of(synthesized, config["DestinationConfig"]["OnFailure"]["Destination"])


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

    assert len(queues) == 2
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


def test_only_the_schedule_rule_may_send_to_its_dead_letter_queue(synthesized: Synthesized) -> None:
    rule_id, _ = synthesized.one_of_type("AWS::Events::Rule")
    allowed = [
        statement
        for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]

    assert allowed
    for statement in allowed:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
