"""What operators see of sending: the correlation id of the App API request that queued a transactional
send, on the send function's log lines for that delivery (carried by the delivery itself, read from its
stream record), and the send function's metrics (EMF): each outcome counted once, by channel."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from functions.api import handler as api_handler
from functions.send import handler as send
from nudge.delivery import pipeline, records, states
from nudge.model.deliveries import DeliveriesItem
from nudge_tools.local.apigw import LocalContext, http_api_event, http_response
from nudge_tools.local.streams import lambda_record
from tests.support.deliveries import campaign, delivery
from tests.support.stream_records import delivery_change

REQUEST_ID = "Hn2c8gXqoAMEbVw="  # how API Gateway spells a request id


@pytest.fixture
def ann(track):
    assert (
        track.put("/api/v1/customers/ann", {"email": "ann@example.com", "phone": "+15555550100"}).status
        == 200
    )
    return "ann"


@pytest.fixture
def send_logs() -> Iterator[io.StringIO]:
    """The send function's log lines (the pipeline's included: its logger is the handler's child), at
    INFO, as JSON lines."""
    loggers = (send.logger, pipeline.logger)
    levels = [logger.log_level for logger in loggers]
    handler = send.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    for logger in loggers:
        logger.setLevel("INFO")
    try:
        yield stream
    finally:
        handler.setStream(previous)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def metric_documents(out: str) -> list[dict[str, Any]]:
    """The EMF documents among printed lines."""
    documents = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def counted(out: str) -> dict[str, dict[str, float]]:
    """Channel -> metric name -> value, from the EMF documents printed."""
    found: dict[str, dict[str, float]] = {}
    for document in metric_documents(out):
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Nudge"
        assert directive["Dimensions"] == [["channel"]]  # never a workspace, never the service
        channel = document["channel"]
        assert channel not in found, "one document per channel per invocation"
        found[channel] = {m["Name"]: _value(document[m["Name"]]) for m in directive["Metrics"]}
    return found


def _value(value: float | list[float]) -> float:
    """EMF takes one value or a list of them (each a sample)."""
    return sum(value) if isinstance(value, list) else value


def deliveries_stream_records() -> list[dict[str, Any]]:
    """Every record of the deliveries table's stream so far, as Lambda hands them to the send function."""
    arn = DeliveriesItem.describe_table()["LatestStreamArn"]
    # botocore 1.44 routes stream calls to account-based endpoints that moto 5.2 does not serve.
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    found = []
    for shard in client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = client.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        found += [
            lambda_record(r, arn, "us-east-1") for r in client.get_records(ShardIterator=iterator)["Records"]
        ]
    return found


def send_through_the_app_api(app_key: str, body: dict[str, Any], request_id: str) -> str:
    """POST /v1/send/email through the App API handler, as API Gateway invokes it; the delivery id."""
    event = http_api_event(
        "POST",
        "/v1/send/email",
        {"authorization": f"Bearer {app_key}", "content-type": "application/json"},
        json.dumps(body),
    )
    event["requestContext"]["requestId"] = request_id
    status, _, raw = http_response(api_handler.handler(event, LocalContext()))
    assert status == 200, raw
    return str(json.loads(raw)["delivery_id"])


def handle(*stream_records: dict[str, Any]) -> dict[str, Any]:
    context: Any = LocalContext()
    return send.handler({"Records": list(stream_records)}, context)


# Correlation ids


def test_a_transactional_send_is_logged_with_its_api_request_id_through_to_the_send(
    keys, ws, ann, channels, send_logs
):
    delivery_id = send_through_the_app_api(
        keys.app_api_key,
        {"identifiers": {"id": "ann"}, "subject": "Receipt", "body": "<p>Thanks</p>"},
        REQUEST_ID,
    )
    assert records.request_of(delivery(ws, delivery_id))["correlation_id"] == REQUEST_ID
    # A campaign's delivery in the same batch, after it: queued by no request, so it carries no id.
    other = campaign(ws, "ann")

    assert handle(*deliveries_stream_records()) == {"batchItemFailures": []}

    assert delivery(ws, delivery_id).state == states.SENT
    lines = log_lines(send_logs)
    ours = [line for line in lines if line.get("delivery_id") == delivery_id]
    assert "message sent" in {line["message"] for line in ours}  # the pipeline's own line
    assert {line.get("correlation_id") for line in ours} == {REQUEST_ID}
    theirs = [line for line in lines if line.get("delivery_id") == other]
    assert "message sent" in {line["message"] for line in theirs}
    assert all("correlation_id" not in line for line in theirs)


def test_a_send_without_a_request_id_stores_none(keys, ws, ann, channels):
    delivery_id = send_through_the_app_api(
        keys.app_api_key, {"identifiers": {"id": "ann"}, "subject": "s", "body": "b"}, ""
    )

    assert "correlation_id" not in records.request_of(delivery(ws, delivery_id))


# Metrics


def test_each_outcome_is_counted_once_by_channel(ws, ann, channels, capsys):
    sent_email = campaign(ws, "ann")
    failed_email = campaign(ws, "ann", content={"subject": "Hi", "body": "{{ 1/0 }}"})
    sent_sms = campaign(ws, "ann", "sms")
    batch = [
        delivery_change(ws, sent_email, "101"),
        delivery_change(ws, failed_email, "102"),
        delivery_change(ws, sent_sms, "103"),
    ]
    capsys.readouterr()

    assert handle(*batch) == {"batchItemFailures": []}

    assert counted(capsys.readouterr().out) == {"email": {"Failed": 1, "Sent": 1}, "sms": {"Sent": 1}}


def test_a_replayed_batch_counts_nothing_again(ws, ann, channels, capsys):
    delivery_id = campaign(ws, "ann")
    record = delivery_change(ws, delivery_id, "101")
    handle(record)
    capsys.readouterr()

    handle(record)  # Lambda delivers it again: the delivery was sent the first time

    assert counted(capsys.readouterr().out) == {}
    assert len(channels.email.sent) == 1
