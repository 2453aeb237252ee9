"""Fault injection on the send pipeline: an exception or a lost answer at each point from the first read
to the outcome write, the same record twice and concurrently. Whatever happens, a delivery reaches its
provider exactly once, or never and then its stream record fails into the dead-letter queue.

Points, in the order the pipeline meets them: the person, the settings, the snippets, the suppression
list (all read before the claim), the claim, the message-limit counter (after the claim), the provider
call (not sent, refused, answer lost, crashed), the outcome write, the metering write.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from pynamodb.exceptions import GetError, PutError, UpdateError

from functions.send import handler as send
from nudge import clock
from nudge.billing import metering
from nudge.delivery import channel_set, feedback, gates, pipeline, records, scheduled, states
from nudge.delivery import settings as delivery_settings
from nudge.delivery.messages import AmbiguousSendError, Receipt, TransientSendError
from nudge.delivery.ses_events import Feedback
from nudge.model.deliveries import Delivery
from nudge_tools.local.apigw import LocalContext
from tests.support.channels import FakeChannels, FakePort
from tests.support.deliveries import CONTENT, campaign, cio_id, delivery, messages_metered, metrics
from tests.support.stream_records import delivery_change

ANN = "ann@example.com"


def throttled(error: type[GetError | PutError | UpdateError] = GetError) -> Exception:
    """DynamoDB throttling the table, as PynamoDB raises it."""
    answer: Any = {
        "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return error("throttled", ClientError(answer, "GetItem"))


def fail(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, error: Exception, times: int = 1
) -> list[Any]:
    """Make ``owner.name`` raise ``error`` on its first ``times`` calls, then behave; returns the calls."""
    original = getattr(owner, name)
    calls: list[Any] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) <= times:
            raise error
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, flaky)
    return calls


@dataclass
class LostAnswer(FakePort):
    """A provider that takes the message and whose answer never arrives (a read timeout after the
    request was written)."""

    def _take(self, message: Any) -> Receipt:
        self.sent.append(message)
        raise AmbiguousSendError("SES: no answer after the request was sent: ReadTimeoutError")


@dataclass
class Crashing(FakePort):
    """A provider call that raises something no adapter expects (a bug), after the request went out."""

    def _take(self, message: Any) -> Receipt:
        self.sent.append(message)
        raise RuntimeError("adapter bug")


@dataclass
class During(FakePort):
    """A provider that runs ``meanwhile`` while it holds the message, before it answers."""

    meanwhile: list[Callable[[Any], None]] = field(default_factory=list)

    def _take(self, message: Any) -> Receipt:
        for action in self.meanwhile:
            action(message)
        return super()._take(message)


def use(channels: FakeChannels, **ports: FakePort) -> None:
    """Replace some of the fake channels' ports; the fixture puts the real ones back afterwards."""
    for name, port in ports.items():
        setattr(channels, name, port)
    channel_set.install(
        channel_set.Channels(
            email=channels.email,
            sms=channels.sms,
            push=channels.push,
            webhook=channels.webhook,
            smtp=channels.smtp,
        )
    )


def _failed(*stream_records: dict[str, Any]) -> list[str]:
    """The records the send function fails. All of them when it raises (every record failed): Lambda
    then retries the whole batch, the same as when it reports each."""
    context: Any = LocalContext()
    try:
        answer = send.handler({"Records": list(stream_records)}, context)
    except BatchProcessingError:
        return [record["eventID"] for record in stream_records]
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


_ahead = [0]  # seconds this module's clock runs ahead of the wall clock: moved by ``_release``


@pytest.fixture(autouse=True)
def travelling_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nudge's clock, which ``_release`` moves to the time it sweeps at. Without it, a retry scheduled
    after a sweep in the future is due by the wall clock, possibly in a minute that sweep had already
    bookmarked (a world where time went backwards), and the next sweep rightly skips it."""
    _ahead[0] = 0
    wall = clock.now
    monkeypatch.setattr(clock, "now", lambda: wall() + _ahead[0])


def _release(ws: str, delivery_id: str) -> None:
    """The sweep, run when the rescheduled delivery is due, with the clock moved on to then."""
    at = int(delivery(ws, delivery_id).due_at) + 1
    _ahead[0] += max(0, at - clock.now())
    assert scheduled.sweep(now=at) >= 1
    assert delivery(ws, delivery_id).state == states.QUEUED


@pytest.fixture(autouse=True)
def fresh_content_cache() -> None:
    pipeline._content_cache.clear()  # each test reads its templates and snippets itself


@pytest.fixture
def ann(track: Any) -> str:
    body = {"email": ANN, "phone": "+15555550100"}
    assert track.put("/api/v1/customers/ann", body).status == 200
    assert (
        track.put("/api/v1/customers/ann/devices", {"device": {"id": "tok-1", "platform": "ios"}}).status
        == 200
    )
    return "ann"


@pytest.fixture
def limited(app: Any) -> None:
    """A message limit, so the limit's counter is written after the claim."""
    assert app.put("/v1/settings/delivery", {"message_limit": {"count": 5, "days": 1}}).status == 200


# --- before the provider call: nothing sent, the delivery rescheduled, then sent once ----------------


READ_POINTS = [
    ("person", lambda: (pipeline, "_person")),
    ("settings", lambda: (delivery_settings, "load")),
    ("snippets", lambda: (pipeline, "snippets")),
    ("suppression list", lambda: (gates, "is_blocked")),
    ("claim", lambda: (records, "claim")),
]


@pytest.mark.parametrize(("point", "target"), READ_POINTS, ids=[name for name, _ in READ_POINTS])
def test_a_storage_error_before_the_claim_reschedules_and_the_message_goes_once(
    ws, ann, deliver, channels, monkeypatch, point, target
):
    owner, name = target()
    fail(monkeypatch, owner, name, throttled(UpdateError if point == "claim" else GetError))
    delivery_id = campaign(ws, ann)

    outcome = deliver(delivery_id)

    assert outcome.state == states.SCHEDULED
    stored = delivery(ws, delivery_id)
    assert stored.state == states.SCHEDULED  # never "attempted": nothing was about to be sent
    assert stored.attempt_id is None
    assert stored.reason.startswith("retrying: preparing the message failed: ProvisionedThroughput")
    assert channels.email.sent == []

    _release(ws, delivery_id)
    assert deliver(delivery_id).state == states.SENT
    assert deliver(delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1
    assert messages_metered(ws)["email"] == 1


def test_a_limit_counter_error_after_the_claim_gives_the_claim_back(
    ws, ann, deliver, channels, monkeypatch, limited
):
    fail(monkeypatch, gates, "_count_against_limit", throttled(UpdateError))
    delivery_id = campaign(ws, ann)

    assert deliver(delivery_id).state == states.SCHEDULED
    stored = delivery(ws, delivery_id)
    assert stored.attempt_id is None
    assert "message limit failed" in stored.reason
    assert channels.email.sent == []

    _release(ws, delivery_id)
    assert deliver(delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1


def test_an_unexpected_error_before_the_claim_leaves_the_delivery_queued_for_the_records_retry(
    ws, ann, channels, monkeypatch
):
    # Not a storage error (a bug): the record fails, Lambda retries it, and the retry finds the delivery
    # still queued, never "attempted" with a false "outcome unknown".
    fail(monkeypatch, pipeline.compose, "compose", KeyError("customer"))
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "301")

    assert _failed(record) == ["301"]
    assert delivery(ws, delivery_id).state == states.QUEUED
    assert channels.email.sent == []

    assert _failed(record) == []  # Lambda's retry of the record
    assert delivery(ws, delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1


# --- a failure that keeps coming: capped, failed with its reason, dead-lettered -----------------------


def _exhaust(ws: str, delivery_id: str, record: dict[str, Any]) -> list[list[str]]:
    """Process the delivery's record, releasing it each time it is rescheduled, until it fails."""
    answers = []
    for _ in range(pipeline.MAX_RETRIES + 2):
        answers.append(_failed(record))
        if delivery(ws, delivery_id).state != states.SCHEDULED:
            break
        _release(ws, delivery_id)
    return answers


def test_a_storage_error_that_keeps_coming_ends_failed_and_dead_lettered(ws, ann, channels, monkeypatch):
    calls = fail(monkeypatch, delivery_settings, "load", throttled(), times=10_000)
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "401")

    answers = _exhaust(ws, delivery_id, record)

    assert len(calls) == pipeline.MAX_RETRIES + 1
    assert answers == [[]] * pipeline.MAX_RETRIES + [["401"]]
    stored = delivery(ws, delivery_id)
    assert stored.state == states.FAILED
    assert stored.reason.startswith(f"{records.GAVE_UP}: {pipeline.MAX_RETRIES + 1} tries over")
    assert "ProvisionedThroughputExceededException" in stored.reason  # the true reason, not a guess
    assert channels.email.sent == []
    # Lambda retries the failed record until it gives it to the dead-letter queue: it fails every time.
    assert _failed(record) == ["401"]
    assert channels.email.sent == []


def test_a_webhook_that_keeps_failing_is_tried_a_capped_number_of_times_then_dead_lettered(ws, ann, channels):
    channels.webhook.failures.extend([TransientSendError("webhook answered HTTP 503")] * 100)
    delivery_id = campaign(ws, ann, "webhook")
    record = delivery_change(ws, delivery_id, "402")

    answers = _exhaust(ws, delivery_id, record)

    assert 100 - len(channels.webhook.failures) == pipeline.MAX_RETRIES + 1  # provider calls, capped
    assert answers == [[]] * pipeline.MAX_RETRIES + [["402"]]
    stored = delivery(ws, delivery_id)
    assert stored.state == states.FAILED
    assert stored.reason.endswith("the last: webhook answered HTTP 503")
    assert channels.webhook.sent == []


def test_retries_stop_at_their_maximum_age(ws, ann, deliver, channels):
    channels.email.failures.extend([TransientSendError("SES: Throttling (HTTP 400)")] * 2)
    delivery_id = campaign(ws, ann)
    assert deliver(delivery_id).state == states.SCHEDULED
    # The first retry was scheduled over a day ago (the sweep was down, say).
    delivery(ws, delivery_id).update(
        actions=[Delivery.retrying_since.set(clock.now() - pipeline.MAX_RETRY_AGE - 60)]
    )
    _release(ws, delivery_id)

    with pytest.raises(pipeline.DeadLettered, match=records.GAVE_UP):
        deliver(delivery_id)

    stored = delivery(ws, delivery_id)
    assert stored.state == states.FAILED
    assert stored.reason.startswith(f"{records.GAVE_UP}: 2 tries over")
    assert channels.email.sent == []


# --- the provider call and after: one call, never a second ------------------------------------------


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
def test_a_lost_answer_is_recorded_as_outcome_unknown_and_never_resent(ws, ann, channels, channel, limited):
    lost = LostAnswer()
    use(channels, **{channel: lost})
    delivery_id = campaign(ws, ann, channel)
    record = delivery_change(ws, delivery_id, "501")

    assert _failed(record) == []
    assert _failed(record) == []  # the record again: nothing more

    stored = delivery(ws, delivery_id)
    assert stored.state == states.FAILED
    assert stored.reason.startswith(f"{records.OUTCOME_UNKNOWN}: SES: no answer")
    assert stored.reason.endswith("not resent")
    assert len(lost.sent) == 1
    assert messages_metered(ws)[channel] == 0
    assert scheduled.sweep(now=clock.now() + 86_400) == 0  # nothing rescheduled


def test_ses_feedback_reconciles_a_lost_answer(ws, ann, channels):
    lost = LostAnswer()
    use(channels, email=lost)
    delivery_id = campaign(ws, ann)
    assert pipeline.process(ws, delivery_id).state == states.FAILED

    feedback.from_ses(Feedback(ws, delivery_id, "delivered", clock.now(), (ANN,)))

    stored = delivery(ws, delivery_id)
    assert stored.state == states.DELIVERED
    assert stored.reason is None
    assert messages_metered(ws)["email"] == 1


def test_a_crash_in_the_provider_call_is_never_followed_by_a_second_call(ws, ann, channels):
    crashing = Crashing()
    use(channels, email=crashing)
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "601")

    assert _failed(record) == ["601"]
    assert _failed(record) == []  # Lambda's retry: outcome unknown, not resent

    stored = delivery(ws, delivery_id)
    assert stored.state == states.FAILED
    assert stored.reason.startswith(records.OUTCOME_UNKNOWN)
    assert len(crashing.sent) == 1


def test_an_outcome_write_that_fails_is_never_followed_by_a_second_call(ws, ann, channels, monkeypatch):
    fail(monkeypatch, records, "finish", throttled(UpdateError))
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "602")

    assert _failed(record) == ["602"]
    assert _failed(record) == []

    assert delivery(ws, delivery_id).state == states.FAILED
    assert delivery(ws, delivery_id).reason.startswith(records.OUTCOME_UNKNOWN)
    assert len(channels.email.sent) == 1


def test_content_that_cannot_be_kept_is_forgotten_and_the_send_recorded_once(ws, ann, channels, monkeypatch):
    kept = fail(monkeypatch, records, "keep_content", throttled(PutError))
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "603")

    assert _failed(record) == []
    assert _failed(record) == []

    sent = delivery(ws, delivery_id)
    assert sent.state == states.SENT and records.content_of(sent) is None  # "forgotten", not resent
    assert len(channels.email.sent) == 1 and len(kept) == 1


def test_feedback_before_a_dead_senders_outcome_makes_it_sent_not_unknown(ws, ann, channels):
    # The sender died after SES took the message; SES's delivery event came before the next sighting.
    delivery_id = campaign(ws, ann)
    assert records.claim(delivery(ws, delivery_id)) is not None
    feedback.from_ses(Feedback(ws, delivery_id, "delivered", clock.now(), (ANN,)))
    assert delivery(ws, delivery_id).state == states.ATTEMPTED  # the metric waits for the outcome

    assert pipeline.process(ws, delivery_id).state == states.SENT

    stored = delivery(ws, delivery_id)
    assert stored.state == states.DELIVERED
    assert stored.reason is None
    assert messages_metered(ws)["email"] == 1
    assert channels.email.sent == []  # never sent again


def test_a_metering_write_that_fails_is_metered_once_by_the_retry(ws, ann, channels, monkeypatch):
    fail(monkeypatch, metering, "message_sent", throttled(PutError))
    delivery_id = campaign(ws, ann)
    record = delivery_change(ws, delivery_id, "603")

    assert _failed(record) == ["603"]
    assert _failed(record) == []
    assert _failed(record) == []

    assert delivery(ws, delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1
    assert messages_metered(ws)["email"] == 1


# --- the same record twice, and concurrently ----------------------------------------------------------


def test_the_same_record_twice_in_one_batch_sends_once(ws, ann, channels):
    delivery_id = campaign(ws, ann)

    assert _failed(delivery_change(ws, delivery_id, "701"), delivery_change(ws, delivery_id, "702")) == []
    assert len(channels.email.sent) == 1
    assert messages_metered(ws)["email"] == 1


def test_a_duplicate_seen_while_the_provider_holds_the_message_does_not_send_it_again(ws, ann, channels):
    # The duplicate finds the delivery claimed and guesses "outcome unknown"; the sender, still at work,
    # then records what really happened over the guess.
    in_call, guessed = threading.Event(), threading.Event()

    def hold(_: Any) -> None:
        in_call.set()
        assert guessed.wait(10)

    port = During(meanwhile=[hold])
    use(channels, email=port)
    delivery_id = campaign(ws, ann)

    def duplicate() -> pipeline.Outcome:
        assert in_call.wait(10)
        try:
            return pipeline.process(ws, delivery_id)
        finally:
            guessed.set()

    with ThreadPoolExecutor(max_workers=2) as pool:
        sender = pool.submit(pipeline.process, ws, delivery_id)
        other = pool.submit(duplicate)
        outcomes = [sender.result(), other.result()]

    assert [o.state for o in outcomes] == [states.SENT, states.FAILED]
    assert len(port.sent) == 1
    stored = delivery(ws, delivery_id)
    assert stored.state == states.SENT
    assert stored.provider_id == "fake-1"
    assert messages_metered(ws)["email"] == 1


def test_concurrent_sightings_with_a_storage_error_in_one_send_once(ws, ann, channels, monkeypatch):
    fail(monkeypatch, delivery_settings, "load", throttled())
    delivery_id = campaign(ws, ann)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: pipeline.process(ws, delivery_id), range(2)))
    if delivery(ws, delivery_id).state == states.SCHEDULED:  # the failing one rescheduled it first
        _release(ws, delivery_id)
        pipeline.process(ws, delivery_id)

    assert delivery(ws, delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1
    assert messages_metered(ws)["email"] == 1


# --- metrics reported while the send is in flight -----------------------------------------------------


def test_a_metric_reported_during_the_send_does_not_race_the_outcome(ws, ann, channels, track):
    def reported(message: Any) -> None:  # a fast client: /api/v1/metrics while the provider answers
        answer = track.post("/api/v1/metrics", {"delivery_id": message.delivery_id, "metric": "delivered"})
        assert answer.status == 200

    port = During(meanwhile=[reported])
    use(channels, email=port)
    delivery_id = campaign(
        ws, ann, content={"subject": "Hi", "body": '<a href="https://shop.example/">x</a>'}
    )

    assert pipeline.process(ws, delivery_id).state == states.SENT

    stored = delivery(ws, delivery_id)
    assert stored.state == states.DELIVERED  # caught up once the send was recorded
    assert stored.provider_id == "fake-1"
    assert list(stored.links) == ["https://shop.example/"]
    assert {states.SENT, states.DELIVERED} <= set(metrics(ws, delivery_id))
    assert messages_metered(ws)["email"] == 1


def test_a_metric_during_a_send_that_sent_nothing_does_not_stop_the_reschedule(ws, ann, channels, track):
    def reported(message: Any) -> None:  # a client's mistaken "delivered" while SES throttles the send
        answer = track.post("/api/v1/metrics", {"delivery_id": message.delivery_id, "metric": "delivered"})
        assert answer.status == 200

    port = During(meanwhile=[reported], failures=[TransientSendError("SES: Throttling (HTTP 400)")])
    use(channels, email=port)
    delivery_id = campaign(ws, ann)

    assert pipeline.process(ws, delivery_id).state == states.SCHEDULED

    assert delivery(ws, delivery_id).state == states.SCHEDULED  # not "delivered": nothing went out
    _release(ws, delivery_id)
    assert pipeline.process(ws, delivery_id).state == states.SENT
    assert len(port.sent) == 1


# --- a sweep outage longer than a day -----------------------------------------------------------------


@pytest.mark.direct_moto  # a day of minute-by-minute sweeps: volume, not the AWS wire
def test_a_sweep_outage_longer_than_a_day_strands_nothing(ws, ann, deliver, channels, monkeypatch):
    monkeypatch.setattr(records, "DUE_SHARDS", 1)  # a quarter of the queries: the sweep reads every minute
    due = clock.now() + 120
    delivery_id = secrets.token_hex(16)
    records.queue(
        ws,
        records.NewDelivery(
            delivery_id, cio_id(ws, ann), "email", "campaign", {"content": CONTENT["email"]}, send_at=due
        ),
    )
    assert scheduled.sweep(now=clock.now()) == 0  # the sweep ran, then stopped for 30 hours
    back = due + 25 * 3600

    runs = [scheduled.sweep(now=back + 60 * run) for run in range(6)]

    assert sum(runs) == 1  # caught up a few hours per run, skipping no minute
    assert delivery(ws, delivery_id).state == states.QUEUED
    assert deliver(delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1
