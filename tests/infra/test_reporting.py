"""Reporting webhooks in the stack: a queue feeding the reporting worker in batches, with dead letters
that alarm; the functions where events happen may queue them and nothing more; the worker may hide a
message for its backoff, dead-letter it, and read what it builds events from."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.components.reporting import BATCH_SIZE, MAX_RECEIVES
from nudge.reporting.queue import DEAD_LETTERS_URL_VARIABLE, QUEUE_URL_VARIABLE
from nudge.reporting.worker import MAX_ATTEMPTS
from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra

ENQUEUERS = ("send", "links", "feedback", "track", "evaluate")
FOURTEEN_DAYS = 14 * 24 * 3600


def reporting_queue(synth: Synthesized) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The queue the worker's mapping reads, and the mapping."""
    worker_id = synth.function("reporting")[0]
    (mapping,) = [
        m["Properties"]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": worker_id}
    ]
    queue_id = mapping["EventSourceArn"]["Fn::GetAtt"][0]
    return queue_id, synth.resources[queue_id], mapping


def sqs_statements(synth: Synthesized, service: str) -> list[dict[str, Any]]:
    return [
        s
        for s in synth.role_statements(synth.role_of(service))
        if any(str(a).startswith("sqs:") for a in as_list(s["Action"]))
    ]


def test_the_worker_reads_batches_and_dead_letters_what_it_cannot_handle(synthesized: Synthesized) -> None:
    queue_id, queue, mapping = reporting_queue(synthesized)
    properties = queue["Properties"]
    timeout = synthesized.function("reporting")[1]["Properties"]["Timeout"]

    assert mapping["BatchSize"] == BATCH_SIZE and mapping["FunctionResponseTypes"] == [
        "ReportBatchItemFailures"
    ]
    assert properties["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES > MAX_ATTEMPTS
    assert properties["MessageRetentionPeriod"] == FOURTEEN_DAYS  # past the week of retries
    assert properties["VisibilityTimeout"] >= 6 * timeout
    assert properties.get("SqsManagedSseEnabled") is True
    dead_letters = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert dead_letters in json.dumps(synthesized.of_type("AWS::CloudWatch::Alarm"))
    variables = synthesized.variables("reporting")
    assert variables[QUEUE_URL_VARIABLE] == {"Ref": queue_id}
    assert variables[DEAD_LETTERS_URL_VARIABLE] == {"Ref": dead_letters}
    assert "NUDGE_LINK_SECRET_ARN" in variables  # signing keys are derived from the link secret


def test_the_worker_may_hide_messages_and_dead_letter_them(synthesized: Synthesized) -> None:
    queue_id, queue, _ = reporting_queue(synthesized)
    dead_letters = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    granted = {
        (action, json.dumps(statement["Resource"]))
        for statement in sqs_statements(synthesized, "reporting")
        for action in as_list(statement["Action"])
    }

    assert ("sqs:ChangeMessageVisibility", json.dumps({"Fn::GetAtt": [queue_id, "Arn"]})) in granted
    assert ("sqs:SendMessage", json.dumps({"Fn::GetAtt": [dead_letters, "Arn"]})) in granted
    assert ("sqs:SendMessage", json.dumps({"Fn::GetAtt": [queue_id, "Arn"]})) not in granted


@pytest.mark.parametrize("service", ENQUEUERS)
def test_where_events_happen_they_may_be_queued_and_nothing_more(
    synthesized: Synthesized, service: str
) -> None:
    queue_id, _, _ = reporting_queue(synthesized)
    actions = {
        action
        for s in sqs_statements(synthesized, service)
        if {"Fn::GetAtt": [queue_id, "Arn"]} in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }

    assert synthesized.variables(service)[QUEUE_URL_VARIABLE] == {"Ref": queue_id}
    assert actions == {"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}


def test_the_app_api_manages_webhooks_but_queues_nothing(synthesized: Synthesized) -> None:
    queue_id, _, _ = reporting_queue(synthesized)

    assert QUEUE_URL_VARIABLE not in synthesized.variables("api")
    arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    assert all(arn not in as_list(s["Resource"]) for s in sqs_statements(synthesized, "api"))
