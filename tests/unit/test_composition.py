"""Delivery reports outcomes through a port (``nudge.delivery.outcomes``) that campaigns and billing
subscribe to: every handler connects the subscribers, and each subscriber acts on what it should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nudge import composition
from nudge.billing import metering
from nudge.campaigns import metrics
from nudge.delivery import outcomes, states
from nudge.reporting import subscriber

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))


# The functions that report an outcome on nearly every invocation import the subscribers in their init.
LOADED = {"feedback", "links", "send"}


@pytest.mark.parametrize("function", HANDLERS)
def test_every_handler_connects_the_outcome_subscribers(function: str) -> None:
    # A fresh process: this one's conftest connected them already.
    probe = (
        "import sys\n"
        f"import functions.{function}.handler\n"
        "from nudge import composition\n"
        "from nudge.delivery import outcomes\n"
        "assert outcomes.subscribers() == composition.DELIVERY_OUTCOME_SUBSCRIBERS, outcomes.subscribers()\n"
        f"assert {function in LOADED} <= ('nudge.reporting.subscriber' in sys.modules), 'not loaded'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_outcome_subscribers_are_campaign_counters_metering_then_reporting_webhooks() -> None:
    assert outcomes.subscribers() == composition.DELIVERY_OUTCOME_SUBSCRIBERS
    assert [deferred.load() for deferred in composition.DELIVERY_OUTCOME_SUBSCRIBERS] == [
        metrics.on_delivery_outcome,
        metering.on_delivery_outcome,
        subscriber.on_delivery_outcome,
    ]


def test_a_deferred_subscriber_is_found_at_its_first_outcome_once() -> None:
    seen: list[str] = []
    found: list[int] = []

    def find() -> outcomes.Subscriber:
        found.append(1)
        return lambda outcome: seen.append(outcome.state)

    deferred = composition._Deferred(find)
    assert found == []
    deferred(_outcome(states.SENT))
    deferred(_outcome(states.OPENED))
    assert (found, seen) == ([1], [states.SENT, states.OPENED])


def test_the_evaluate_handler_subscribes_the_change_consumers_in_order() -> None:
    from functions.evaluate import handler  # noqa: F401 - imported for its subscriptions
    from nudge.activities import log
    from nudge.billing import consumer
    from nudge.campaigns import triggers
    from nudge.segments import backfill, evaluation
    from nudge.stream_changes import consumers

    assert consumers.CONSUMERS[:5] == [
        evaluation.on_change,
        backfill.on_change,
        consumer.on_change,
        log.on_change,
        triggers.on_change,
    ]


def _outcome(
    state: str, *, first: bool = True, campaign: str | None = "c1", billable: bool = True
) -> outcomes.Outcome:
    return outcomes.Outcome(
        workspace_id="ws",
        delivery_id="d1",
        channel="email",
        state=state,
        at=1,
        first=first,
        billable=billable,
        own_smtp=False,
        campaign_id=campaign,
        block="b1" if campaign else None,
    )


def test_campaigns_count_a_campaign_message_first_metric_but_not_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counted: list[tuple[str, str | None, str]] = []
    monkeypatch.setattr(
        metrics, "from_delivery", lambda ws, c, block, metric: counted.append((c, block, metric))
    )
    metrics.on_delivery_outcome(_outcome(states.OPENED))
    metrics.on_delivery_outcome(_outcome(states.OPENED, first=False))  # opened again
    metrics.on_delivery_outcome(_outcome(states.CLICKED, campaign=None))  # a transactional message
    metrics.on_delivery_outcome(_outcome(states.SENT))  # counted by the send block when queued
    assert counted == [("c1", "b1", states.OPENED)]


def test_billing_meters_each_billable_send_whether_first_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    metered: list[tuple[str, str, bool]] = []

    def message_sent(ws: str, delivery_id: str, channel: str, *, own_smtp: bool = False) -> bool:
        metered.append((delivery_id, channel, own_smtp))
        return True

    monkeypatch.setattr(metering, "message_sent", message_sent)
    metering.on_delivery_outcome(_outcome(states.SENT))
    metering.on_delivery_outcome(_outcome(states.SENT, first=False))  # a recovery: metering is idempotent
    metering.on_delivery_outcome(_outcome(states.SENT, billable=False))  # system mail
    metering.on_delivery_outcome(_outcome(states.DELIVERED))
    assert metered == [("d1", "email", False), ("d1", "email", False)]


def test_a_subscriber_is_subscribed_once_and_its_errors_reach_the_reporter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outcomes, "_subscribers", [])
    seen: list[str] = []

    def fails(outcome: outcomes.Outcome) -> None:
        seen.append(outcome.state)
        raise RuntimeError("down")

    outcomes.subscribe(fails)
    outcomes.subscribe(fails)
    with pytest.raises(RuntimeError):
        outcomes.report(_outcome(states.SENT))
    assert seen == [states.SENT]
