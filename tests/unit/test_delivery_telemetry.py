"""Counting sends and SES feedback as CloudWatch metrics (EMF): names, the channel dimension, one document
per channel, and only outcomes the invocation itself decided."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nudge.delivery import states, telemetry
from nudge.delivery.pipeline import Outcome


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv(telemetry.NAMESPACE_ENV, raising=False)
    found = telemetry.metrics()
    found.clear_metrics()
    yield found
    found.clear_metrics()


def documents(out: str) -> dict[str, dict[str, Any]]:
    """Channel -> the EMF document printed for it."""
    found = {}
    for line in out.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            found[document["channel"]] = document
    return found


def values(document: dict[str, Any]) -> dict[str, float]:
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    return {m["Name"]: sum(document[m["Name"]]) for m in directive["Metrics"]}


def test_counts_are_written_one_document_per_channel(
    metrics: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = telemetry.MetricCounts()
    counts.sent("email")
    counts.sent("email")
    counts.not_sent("email", states.FAILED)
    counts.not_sent("sms", states.UNDELIVERABLE)
    counts.not_sent("push", states.SCHEDULED)

    counts.publish(metrics)
    metrics.flush_metrics()  # what @metrics.log_metrics does as the invocation ends

    found = documents(capsys.readouterr().out)
    assert {channel: values(document) for channel, document in found.items()} == {
        "email": {"Sent": 2, "Failed": 1},
        "push": {"Deferred": 1},
        "sms": {"Undeliverable": 1},
    }
    for document in found.values():
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Nudge"
        assert directive["Dimensions"] == [["channel"]]
        assert "service" not in document and "workspace_id" not in document
        assert {m["Unit"] for m in directive["Metrics"]} == {"Count"}


def test_publishing_starts_over(metrics: Any, capsys: pytest.CaptureFixture[str]) -> None:
    counts = telemetry.MetricCounts()
    counts.sent("email")
    counts.publish(metrics)
    metrics.flush_metrics()
    capsys.readouterr()

    counts.publish(metrics)

    assert counts.counts == {}
    assert metrics.metric_set == {}


def test_nothing_is_kept_when_metrics_are_disabled(metrics: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The local runtime disables them; Powertools would then keep what it is given, never flushing it.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    counts = telemetry.MetricCounts()
    counts.sent("email")

    counts.publish(metrics)

    assert counts.counts == {}
    assert metrics.metric_set == {}


def test_feedback_counts_what_ses_reports_on_email_only() -> None:
    counts = telemetry.MetricCounts()
    for kind in (
        states.DELIVERED,
        states.BOUNCED,
        states.BOUNCED,
        states.SPAMMED,
        states.SENT,
        states.OPENED,
    ):
        counts.feedback(kind)

    # "sent" is the send function's to count; opens and clicks are not published by SES here.
    assert counts.counts == {("email", "Delivered"): 1, ("email", "Bounced"): 2, ("email", "Complained"): 1}


def test_a_state_without_a_name_is_still_counted_as_not_sent() -> None:
    counts = telemetry.MetricCounts()
    counts.not_sent("webhook", "something new")

    assert counts.counts == {("webhook", telemetry.OTHERWISE_NOT_SENT): 1}


def test_the_send_function_counts_only_outcomes_it_decided() -> None:
    from functions.send.handler import count

    counts = telemetry.MetricCounts()
    count(counts, Outcome("d1", states.SENT, channel="email"))
    count(counts, Outcome("d2", states.FAILED, "template: boom", channel="sms"))
    count(counts, Outcome("d3", states.SENT))  # a replayed record: sent before, not now
    count(counts, Outcome("d4", "claimed elsewhere"))

    assert counts.counts == {("email", "Sent"): 1, ("sms", "Failed"): 1}


def test_the_namespace_comes_from_the_environment_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(telemetry.NAMESPACE_ENV, "NudgeStaging")

    assert telemetry.metrics().namespace == "NudgeStaging"
    monkeypatch.delenv(telemetry.NAMESPACE_ENV)
    assert telemetry.metrics().namespace == telemetry.NAMESPACE
