"""The asynchronous paths: table streams into the function their models name (evaluate, or send for
deliveries), the schedules into the re-check sweep, the scheduled-delivery release and the daily billing
run, and SES events through their topic into the feedback function, each with bounded retries and a
dead-letter destination for what it gives up on, and an alarm for a day the billing run did not happen."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import table_env_var
from nudge.delivery.queued import STREAM_FILTER
from nudge.model import TABLE_MODELS
from nudge.model.tables import streamed_tables
from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra

STREAMED = sorted(name for name, model in TABLE_MODELS.items() if model.Meta.streamed)  # type: ignore[attr-defined]
# Every stream consumer (its POWERTOOLS_SERVICE_NAME, which is the models' Meta.stream_consumer) and the
# tables whose streams it reads, from the models.
CONSUMERS = {consumer: sorted(streamed_tables(consumer)) for consumer in ("evaluate", "send")}
# The consumer each streamed table feeds.
CONSUMER_OF = {name: consumer for consumer, names in CONSUMERS.items() for name in names}
# Event filters on a consumer's mappings (none: every change invokes it).
FILTERS = {"send": [STREAM_FILTER]}
STREAM_RETENTION_SECONDS = 24 * 60 * 60  # DynamoDB Streams keeps a record for 24 hours
FOURTEEN_DAYS = 14 * 24 * 60 * 60
ONE_DAY = 24 * 60 * 60
# Every scheduled function (POWERTOOLS_SERVICE_NAME) and the schedule it runs on. Billing runs at 00:05
# UTC, after the day's period boundaries (midnight UTC).
SCHEDULES = {"sweep": "rate(1 minute)", "releasescheduled": "rate(1 minute)", "billing": "cron(5 0 * * ? *)"}
EVERY_MINUTE = sorted(service for service, schedule in SCHEDULES.items() if schedule == "rate(1 minute)")
# Functions SNS invokes, and the topics it invokes them from: SES events into the feedback function.
SUBSCRIBED = ("feedback",)
# Functions fed by an SQS queue of their own, whose redrive policy is their dead-letter destination
# (test_exports and test_reporting check their queues themselves).
QUEUE_FED = ("exports", "reporting")


def stream_mappings(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Table name -> the properties of the event source mapping reading its stream."""
    ids = {logical_id: name for name, logical_id in synth.table_ids().items()}
    found: dict[str, dict[str, Any]] = {}
    for mapping in synth.of_type("AWS::Lambda::EventSourceMapping").values():
        properties = mapping["Properties"]
        table_id, attribute = properties["EventSourceArn"]["Fn::GetAtt"]
        if synth.resources[table_id]["Type"] == "AWS::SQS::Queue":
            continue  # a queue-fed function (QUEUE_FED)
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


def feedback_topic(synth: Synthesized) -> str:
    """The logical id of the topic SES publishes email events to."""
    (destination,) = synth.of_type("AWS::SES::ConfigurationSetEventDestination").values()
    return str(destination["Properties"]["EventDestination"]["SnsDestination"]["TopicARN"]["Ref"])


def subscription_of(synth: Synthesized, service: str) -> dict[str, Any]:
    """The properties of the one SNS subscription that invokes a function."""
    arn = {"Fn::GetAtt": [synth.function(service)[0], "Arn"]}
    (found,) = [
        s["Properties"]
        for s in synth.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["Endpoint"] == arn
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


def test_every_streamed_table_feeds_the_function_its_model_names(synthesized: Synthesized) -> None:
    mappings = stream_mappings(synthesized)

    assert CONSUMERS["evaluate"] and CONSUMERS["send"] == ["deliveries"]
    assert sorted(CONSUMER_OF) == STREAMED  # every streamed table names one of these consumers
    assert sorted(mappings) == STREAMED
    for name, mapping in mappings.items():
        assert mapping["FunctionName"] == {"Ref": synthesized.function(CONSUMER_OF[name])[0]}


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


@pytest.mark.parametrize("name", STREAMED)
def test_stream_mapping_filters_exactly_as_its_consumer_expects(synthesized: Synthesized, name: str) -> None:
    mapping = stream_mappings(synthesized)[name]
    patterns = [json.loads(f["Pattern"]) for f in mapping.get("FilterCriteria", {}).get("Filters", [])]

    assert patterns == FILTERS.get(CONSUMER_OF[name], [])


def test_send_is_invoked_only_for_deliveries() -> None:
    # The filter the deliveries mapping carries (above) is the send function's own: a delivery's new
    # image (it sends the queued ones and logs the metrics of the others as activities). Anything else
    # in the table (inbox, counters, templates) never matches.
    assert STREAM_FILTER == {"dynamodb": {"NewImage": {"kind": {"S": ["delivery"]}}}}


def test_each_consumers_stream_failures_share_a_dead_letter_queue_of_its_own(
    synthesized: Synthesized,
) -> None:
    mappings = stream_mappings(synthesized)
    queues = {
        consumer: {
            queue_of(synthesized, mappings[name]["DestinationConfig"]["OnFailure"]["Destination"])
            for name in names
        }
        for consumer, names in CONSUMERS.items()
    }
    rule_queues = {
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"]) for target in rule_targets(synthesized)
    }

    assert all(len(found) == 1 for found in queues.values())
    stream_queues = set().union(*queues.values())
    assert len(stream_queues) == len(CONSUMERS)
    assert stream_queues.isdisjoint(rule_queues)


def test_each_consumers_role_reads_exactly_the_streams_it_consumes(synthesized: Synthesized) -> None:
    ids = {logical_id: name for name, logical_id in synthesized.table_ids().items()}

    def streams(role_id: str) -> set[str]:
        return {
            ids[resource["Fn::GetAtt"][0]]
            for statement in synthesized.role_statements(role_id)
            for resource in as_list(statement["Resource"])
            if isinstance(resource, dict) and resource.get("Fn::GetAtt", [None, None])[1] == "StreamArn"
        }

    read = {role_id: streams(role_id) for role_id in synthesized.of_type("AWS::IAM::Role")}
    consumer_roles = {synthesized.role_of(consumer): consumer for consumer in CONSUMERS}

    assert {role_id for role_id, found in read.items() if found} == set(consumer_roles)
    for role_id, consumer in consumer_roles.items():
        assert sorted(read[role_id]) == CONSUMERS[consumer]


@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_consumer_is_told_every_table_it_consumes(synthesized: Synthesized, consumer: str) -> None:
    # It tells a record's table from the stream ARN by the table names it was given.
    variables = synthesized.variables(consumer)

    assert {table_env_var(name) for name in CONSUMERS[consumer]} <= set(variables)


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
        if p["Properties"]["Principal"] == "events.amazonaws.com"
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


@pytest.mark.parametrize("service", EVERY_MINUTE)
def test_scheduled_runs_that_fail_are_dead_lettered_not_retried(
    synthesized: Synthesized, service: str
) -> None:
    # Each resumes from its bookmark: the next run, a minute later, redoes what a failed one missed.
    config = invoke_config(synthesized, service)

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
    # The one alarm on invocations (monitoring's alarms are on errors, ages, rates and queues).
    (properties,) = [
        alarm["Properties"]
        for alarm in synthesized.of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "Invocations"
    ]

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


# SES events


def test_ses_events_reach_the_feedback_function_through_their_topic(synthesized: Synthesized) -> None:
    subscription = subscription_of(synthesized, "feedback")

    assert subscription["Protocol"] == "lambda"
    assert subscription["TopicArn"] == {"Ref": feedback_topic(synthesized)}
    assert [s["Properties"]["TopicArn"] for s in synthesized.of_type("AWS::SNS::Subscription").values()] == [
        {"Ref": feedback_topic(synthesized)}
    ]


def test_only_the_feedback_topic_may_invoke_the_feedback_function(synthesized: Synthesized) -> None:
    from_sns = [
        p["Properties"]
        for p in synthesized.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "sns.amazonaws.com"
    ]

    assert from_sns == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [synthesized.function("feedback")[0], "Arn"]},
            "Principal": "sns.amazonaws.com",
            "SourceArn": {"Ref": feedback_topic(synthesized)},
        }
    ]


def test_feedback_dead_letters_both_hops_into_a_queue_of_its_own(synthesized: Synthesized) -> None:
    # SNS failing to invoke the function, then the function failing its runs (retried a little: an
    # event applied late is still right).
    delivery = queue_of(synthesized, json_arn(subscription_of(synthesized, "feedback")["RedrivePolicy"]))
    config = invoke_config(synthesized, "feedback")
    run = queue_of(synthesized, config["DestinationConfig"]["OnFailure"]["Destination"])
    others = {
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"]) for target in rule_targets(synthesized)
    } | {
        queue_of(synthesized, m["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if "DestinationConfig" in m["Properties"]  # a queue-fed function's are its queue's redrive policy
    }

    assert delivery == run
    assert delivery not in others
    assert 0 < config["MaximumRetryAttempts"] <= 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 6 * 60 * 60


def json_arn(redrive_policy: Any) -> Any:
    """The dead-letter target of an SNS redrive policy (CloudFormation takes it as an object)."""
    policy = json.loads(redrive_policy) if isinstance(redrive_policy, str) else redrive_policy
    return policy["deadLetterTargetArn"]


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

    subscriptions = synthesized.of_type("AWS::SNS::Subscription").values()

    assert mappings and targets and invoked_async and subscriptions
    for mapping in mappings:
        source_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        if synthesized.resources[source_id]["Type"] == "AWS::SQS::Queue":
            redrive = synthesized.resources[source_id]["Properties"]["RedrivePolicy"]
            queue_of(synthesized, redrive["deadLetterTargetArn"])
        else:
            queue_of(synthesized, mapping["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
    for target in targets:
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"])
    for subscription in subscriptions:
        queue_of(synthesized, json_arn(subscription["Properties"]["RedrivePolicy"]))
    for function_id in invoked_async:
        queue_of(synthesized, invoke_configs[function_id]["DestinationConfig"]["OnFailure"]["Destination"])


def test_dead_letter_queues_are_encrypted_tls_only_and_keep_messages_14_days(
    synthesized: Synthesized,
) -> None:
    queues = synthesized.of_type("AWS::SQS::Queue")
    policies = [p["Properties"] for p in synthesized.of_type("AWS::SQS::QueuePolicy").values()]

    work_queues = {i for i, q in queues.items() if "RedrivePolicy" in q["Properties"]}
    # One per stream consumer, one per schedule, one per subscribed function, one per queue-fed function;
    # and the queue-fed functions' own queues.
    assert len(work_queues) == len(QUEUE_FED)
    assert len(queues) == len(CONSUMERS) + len(SCHEDULES) + len(SUBSCRIBED) + 2 * len(QUEUE_FED)
    for logical_id, queue in queues.items():
        if logical_id in work_queues:
            continue
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


def test_only_its_rule_or_topic_may_send_to_a_dead_letter_queue(synthesized: Synthesized) -> None:
    # Lambda's on-failure destinations send with the function's role; EventBridge and SNS need the queue
    # policy, each for its own rule or topic.
    sender_of_queue = {
        queue_of(synthesized, target["DeadLetterConfig"]["Arn"]): (
            "events.amazonaws.com",
            {"Fn::GetAtt": [rule_id, "Arn"]},
        )
        for rule_id, rule in synthesized.of_type("AWS::Events::Rule").items()
        for target in rule["Properties"]["Targets"]
    }
    for subscription in synthesized.of_type("AWS::SNS::Subscription").values():
        properties = subscription["Properties"]
        queue = queue_of(synthesized, json_arn(properties["RedrivePolicy"]))
        sender_of_queue[queue] = ("sns.amazonaws.com", properties["TopicArn"])
    allowed = [
        statement
        for policy in synthesized.of_type("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Allow"
    ]

    assert len(allowed) == len(SCHEDULES) + len(SUBSCRIBED)
    for statement in allowed:
        service, source = sender_of_queue[queue_of(synthesized, statement["Resource"])]
        assert statement["Principal"] == {"Service": service}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": source}}
