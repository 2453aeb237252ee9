"""Each delivery is sent at most once: claimed before sending, its outcome recorded under the claim,
retried later (never failed) when the provider throttles, and the send function reports only the stream
records that raised."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.send import handler as send
from nudge import clock
from nudge.delivery import pipeline, records, scheduled, states
from nudge.delivery.messages import PermanentSendError, TransientSendError
from nudge_tools.local.apigw import LocalContext
from tests.support.deliveries import campaign, delivery, messages_metered
from tests.support.stream_records import delivery_change


@pytest.fixture
def ann(track):
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com"}).status == 200
    return "ann"


def test_processing_a_delivery_twice_sends_it_once(ws, ann, deliver, channels):
    delivery_id = campaign(ws, ann)

    first = deliver(delivery_id)
    again = deliver(delivery_id)

    assert first.state == states.SENT
    assert again.state == states.SENT  # what it already is; nothing new happened
    assert len(channels.email.sent) == 1
    assert messages_metered(ws)["email"] == 1


def test_two_senders_racing_for_one_delivery_send_it_once(ws, ann, deliver, channels):
    delivery_id = campaign(ws, ann)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(deliver, [delivery_id, delivery_id]))

    assert states.SENT in {o.state for o in outcomes}
    assert len(channels.email.sent) == 1
    assert delivery(ws, delivery_id).state == states.SENT
    assert messages_metered(ws)["email"] == 1


def test_a_claim_never_finished_is_failed_not_resent(ws, ann, deliver, channels):
    delivery_id = campaign(ws, ann)
    assert records.claim(delivery(ws, delivery_id)) is not None  # a sender that died after claiming

    outcome = deliver(delivery_id)

    assert outcome.state == states.FAILED
    stored = delivery(ws, delivery_id)
    assert stored.state == states.FAILED
    assert "outcome unknown" in stored.reason
    assert channels.email.sent == []
    assert messages_metered(ws)["email"] == 0


def test_a_sender_still_at_work_records_the_real_outcome_over_the_guess(ws, ann, deliver, channels):
    delivery_id = campaign(ws, ann)
    held = delivery(ws, delivery_id)
    attempt = records.claim(held)
    assert attempt is not None
    assert deliver(delivery_id).state == states.FAILED  # a duplicate sighting guesses "outcome unknown"

    assert not records.finish(delivery(ws, delivery_id), "another-attempt", states.SENT)
    assert records.finish(held, attempt, states.SENT, reason=None)  # the sender knows it went out

    stored = delivery(ws, delivery_id)
    assert stored.state == states.SENT
    assert stored.reason is None
    assert states.FAILED not in stored.metrics.as_dict()


def test_throttling_reschedules_the_delivery_and_the_sweep_releases_it(ws, ann, deliver, channels):
    channels.email.failures.append(TransientSendError("throttled"))
    delivery_id = campaign(ws, ann)

    outcome = deliver(delivery_id)

    assert outcome.state == states.SCHEDULED
    stored = delivery(ws, delivery_id)
    assert stored.state == states.SCHEDULED
    assert stored.due_at > clock.now()
    assert states.FAILED not in stored.metrics.as_dict()
    assert stored.reason == "retrying: throttled"  # why it waits, until its next outcome
    assert channels.email.sent == []

    assert scheduled.sweep(now=int(stored.due_at) + 1) == 1
    assert delivery(ws, delivery_id).state == states.QUEUED
    assert deliver(delivery_id).state == states.SENT
    assert deliver(delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1
    assert messages_metered(ws)["email"] == 1


def test_throttled_again_waits_longer(ws, ann, deliver, channels):
    channels.email.failures.extend([TransientSendError("throttled"), TransientSendError("throttled")])
    delivery_id = campaign(ws, ann)

    deliver(delivery_id)
    first_delay = int(delivery(ws, delivery_id).due_at) - clock.now()
    scheduled.sweep(now=int(delivery(ws, delivery_id).due_at) + 1)
    deliver(delivery_id)
    second_delay = int(delivery(ws, delivery_id).due_at) - clock.now()

    assert delivery(ws, delivery_id).state == states.SCHEDULED
    assert second_delay > first_delay


def test_a_throttled_message_does_not_use_up_the_message_limit(app, ws, ann, deliver, channels):
    app.put("/v1/settings/delivery", {"message_limit": {"count": 1, "days": 1}})
    channels.email.failures.append(TransientSendError("throttled"))
    delivery_id = campaign(ws, ann)

    assert deliver(delivery_id).state == states.SCHEDULED
    scheduled.sweep(now=int(delivery(ws, delivery_id).due_at) + 1)

    assert deliver(delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1


def test_a_refused_message_is_failed_with_the_providers_reason(ws, ann, deliver, channels):
    channels.email.failures.append(PermanentSendError("MessageRejected: bad"))
    delivery_id = campaign(ws, ann)

    outcome = deliver(delivery_id)

    assert outcome.state == states.FAILED
    assert delivery(ws, delivery_id).reason == "MessageRejected: bad"
    assert channels.email.sent == []
    assert messages_metered(ws)["email"] == 0


def test_a_template_that_fails_to_render_fails_the_delivery(ws, ann, deliver, channels):
    delivery_id = campaign(ws, ann, content={"subject": "Hi", "body": "<p>{{ 1/0 }}</p>"})

    outcome = deliver(delivery_id)

    assert outcome.state == states.FAILED
    assert delivery(ws, delivery_id).reason.startswith("template:")
    assert "division by zero" in delivery(ws, delivery_id).reason
    assert channels.email.sent == []


def _handle(*stream_records: dict[str, Any]) -> dict[str, Any]:
    """The send function's answer to one batch of stream records."""
    context: Any = LocalContext()
    return send.handler({"Records": list(stream_records)}, context)


def test_send_handler_sends_newly_queued_deliveries(ws, ann, channels):
    good = campaign(ws, ann)
    bad = campaign(ws, ann, content={"subject": "Hi", "body": "{{ 1/0 }}"})

    result = _handle(delivery_change(ws, bad, "101"), delivery_change(ws, good, "102"))

    assert result == {"batchItemFailures": []}
    assert delivery(ws, good).state == states.SENT
    assert delivery(ws, bad).state == states.FAILED
    assert [email.delivery_id for email in channels.email.sent] == [good]


def test_send_handler_sends_a_delivery_released_by_the_sweep(ws, ann, channels):
    delivery_id = campaign(ws, ann)

    result = _handle(delivery_change(ws, delivery_id, "101", old_state=states.SCHEDULED))

    assert result == {"batchItemFailures": []}
    assert delivery(ws, delivery_id).state == states.SENT


@pytest.mark.parametrize(
    ("state", "old_state", "kind"),
    [
        (states.QUEUED, states.QUEUED, "delivery"),  # a change to a delivery already queued
        (states.SENT, states.ATTEMPTED, "delivery"),  # the pipeline's own progress
        (states.QUEUED, None, "inbox"),  # another item of the table
    ],
)
def test_send_handler_skips_records_that_are_not_new_sends(ws, ann, channels, state, old_state, kind):
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "101", state=state, old_state=old_state, kind=kind)

    result = _handle(record)

    assert result == {"batchItemFailures": []}
    assert delivery(ws, delivery_id).state == states.QUEUED
    assert channels.email.sent == []


def test_send_handler_reports_only_the_record_that_raised(ws, ann, channels, monkeypatch):
    good = campaign(ws, ann)
    broken = campaign(ws, ann)
    process = pipeline.process

    def flaky(workspace_id, delivery_id):
        if delivery_id == broken:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "UpdateItem",
            )
        return process(workspace_id, delivery_id)

    monkeypatch.setattr(pipeline, "process", flaky)

    result = _handle(delivery_change(ws, broken, "201"), delivery_change(ws, good, "202"))

    assert result == {"batchItemFailures": [{"itemIdentifier": "201"}]}
    assert delivery(ws, good).state == states.SENT
    assert delivery(ws, broken).state == states.QUEUED  # Lambda retries it
