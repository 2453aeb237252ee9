"""Exports in the stack: a private bucket whose files expire with their records, a queue feeding the
exports worker with dead letters, and grants that reach the exports prefix and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nudge.exports.files import PREFIX
from nudge.exports.queue import MAX_RECEIVES
from nudge.model.exports import EXPORT_DAYS
from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra


def bucket(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, r) for k, r in synth.of_type("AWS::S3::Bucket").items() if k.startswith("ExportFiles")]
    return found


def work_queue(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    """The queue feeding the exports worker (the one queue its event source mapping reads)."""
    worker_id = synth.function("exports")[0]
    (queue_id,) = [
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for m in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": worker_id}
    ]
    return queue_id, synth.resources[queue_id]


def s3_statements(synth: Synthesized, service: str) -> list[dict[str, Any]]:
    return [
        s
        for s in synth.role_statements(synth.role_of(service))
        if any(str(a).startswith("s3:") for a in as_list(s["Action"]))
    ]


def test_the_bucket_is_private_encrypted_tls_only_and_expires_exports(synthesized: Synthesized) -> None:
    bucket_id, resource = bucket(synthesized)
    properties = resource["Properties"]

    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert (
        rule["Prefix"] == PREFIX and rule["ExpirationInDays"] == EXPORT_DAYS and rule["Status"] == "Enabled"
    )
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (policy,) = [
        p["Properties"]
        for p in synthesized.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )


def test_the_worker_takes_one_export_a_message_and_dead_letters_what_keeps_failing(
    synthesized: Synthesized,
) -> None:
    queue_id, queue = work_queue(synthesized)
    worker_id = synthesized.function("exports")[0]
    (mapping,) = [
        m["Properties"]
        for m in synthesized.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": worker_id}
    ]
    timeout = synthesized.function("exports")[1]["Properties"]["Timeout"]

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == 1 and mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVES
    dead_letters = queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert synthesized.resources[dead_letters]["Type"] == "AWS::SQS::Queue"
    # A message comes back only once the invocation holding it cannot still be running.
    assert queue["Properties"]["VisibilityTimeout"] > timeout == synthesized.config.exports_timeout_seconds
    alarmed = json.dumps(synthesized.of_type("AWS::CloudWatch::Alarm"))
    assert dead_letters in alarmed


def test_the_worker_writes_only_under_the_exports_prefix(synthesized: Synthesized) -> None:
    bucket_id, _ = bucket(synthesized)
    statements = s3_statements(synthesized, "exports")

    assert statements
    for statement in statements:
        assert statement["Resource"] == {
            "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{PREFIX}*"]]
        }
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert actions == {
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
    }


def test_the_app_api_may_start_exports_and_presign_downloads_and_nothing_more(
    synthesized: Synthesized,
) -> None:
    bucket_id, _ = bucket(synthesized)
    queue_id, _ = work_queue(synthesized)
    [statement] = s3_statements(synthesized, "api")
    sends = [
        s
        for s in synthesized.role_statements(synthesized.role_of("api"))
        if "sqs:SendMessage" in as_list(s["Action"])
    ]

    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{PREFIX}*"]]}
    assert [s["Resource"] for s in sends] == [{"Fn::GetAtt": [queue_id, "Arn"]}]
    for service in ("api", "exports"):
        variables = synthesized.variables(service)
        assert variables["NUDGE_EXPORTS_BUCKET"] == {"Ref": bucket_id}
        assert variables["NUDGE_EXPORTS_QUEUE_URL"] == {"Ref": queue_id}
