"""The gates a message passes before it goes out (unsubscribed, topic, suppressed address, message
limit, no address), each recorded on the delivery as ``undeliverable`` with its reason."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from nudge import clock
from nudge.delivery import gates, states
from tests.support.deliveries import campaign, delivery, messages_metered


def _transactional(app, channel="email", **body):
    body.setdefault("identifiers", {"id": "ann"})
    if channel == "email":
        body.setdefault("subject", "Receipt")
        body.setdefault("body", "<p>Thanks</p>")
    answer = app.post(f"/v1/send/{channel}", body)
    assert answer.status == 200, answer.raw
    return answer.json["delivery_id"]


def _limit(app, count, days=1):
    answer = app.put("/v1/settings/delivery", {"message_limit": {"count": count, "days": days}})
    assert answer.status == 200, answer.raw


@pytest.fixture
def ann(track):
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com"}).status == 200
    return "ann"


@pytest.fixture
def unsubscribed_ann(track, ann):
    assert track.put("/api/v1/customers/ann", {"unsubscribed": True}).status == 200
    return ann


def test_campaign_email_to_an_unsubscribed_person_is_undeliverable(ws, unsubscribed_ann, deliver, channels):
    delivery_id = campaign(ws, unsubscribed_ann)

    outcome = deliver(delivery_id)

    assert outcome.state == states.UNDELIVERABLE
    assert outcome.reason is not None and outcome.reason.startswith("unsubscribed")
    stored = delivery(ws, delivery_id)
    assert stored.state == states.UNDELIVERABLE
    assert stored.reason.startswith("unsubscribed")
    assert channels.email.sent == []
    assert messages_metered(ws)["email"] == 0


def test_transactional_email_still_goes_to_an_unsubscribed_person(app, unsubscribed_ann, deliver, channels):
    outcome = deliver(_transactional(app))

    assert outcome.state == states.SENT
    assert [email.to for email in channels.email.sent] == ["ann@example.com"]


def test_transactional_email_can_respect_unsubscribing(app, ws, unsubscribed_ann, deliver, channels):
    delivery_id = _transactional(app, send_to_unsubscribed=False)

    outcome = deliver(delivery_id)

    assert outcome.state == states.UNDELIVERABLE
    assert delivery(ws, delivery_id).reason.startswith("unsubscribed")
    assert channels.email.sent == []


def test_topic_opt_out_blocks_messages_of_that_topic(track, ws, ann, deliver, channels):
    track.put("/api/v1/customers/ann", {"cio_subscription_preferences": {"topics": {"topic_1": False}}})

    opted_out = deliver(campaign(ws, ann, topic="topic_1"))
    other_topic = deliver(campaign(ws, ann, topic="topic_2"))

    assert opted_out.state == states.UNDELIVERABLE
    assert opted_out.reason is not None and opted_out.reason.startswith("topic_opt_out")
    assert other_topic.state == states.SENT
    assert len(channels.email.sent) == 1


def test_suppressed_email_address_is_undeliverable(ws, ann, deliver, channels):
    gates.block(ws, "ann@example.com", "bounced", None, clock.now())

    delivery_id = campaign(ws, ann)
    outcome = deliver(delivery_id)

    assert outcome.state == states.UNDELIVERABLE
    assert delivery(ws, delivery_id).reason.startswith("suppressed_address")
    assert channels.email.sent == []


def test_suppression_matches_the_address_whatever_its_case(ws, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "Ann@Example.COM"})
    gates.block(ws, "ann@example.com", "bounced", None, clock.now())

    outcome = deliver(campaign(ws, "ann"))

    assert outcome.state == states.UNDELIVERABLE
    assert outcome.reason is not None and outcome.reason.startswith("suppressed_address")


def test_suppressed_phone_number_is_undeliverable(track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"phone": "+15550100"})
    gates.block(ws, "+15550100", "spammed", None, clock.now())

    outcome = deliver(campaign(ws, "ann", "sms"))

    assert outcome.state == states.UNDELIVERABLE
    assert outcome.reason is not None and outcome.reason.startswith("suppressed_address")
    assert channels.sms.sent == []


def test_message_limit_stops_the_campaign_message_over_it(app, ws, ann, deliver, channels):
    _limit(app, 2)

    outcomes = [deliver(campaign(ws, ann)) for _ in range(3)]

    assert [o.state for o in outcomes] == [states.SENT, states.SENT, states.UNDELIVERABLE]
    assert outcomes[2].reason is not None and outcomes[2].reason.startswith("message_limit")
    assert len(channels.email.sent) == 2


def test_transactional_and_in_app_messages_are_exempt_from_the_limit(app, ws, ann, deliver, channels):
    _limit(app, 1)
    assert deliver(campaign(ws, ann)).state == states.SENT
    assert deliver(campaign(ws, ann)).state == states.UNDELIVERABLE  # the limit holds

    transactional = deliver(_transactional(app))
    in_app = deliver(campaign(ws, ann, "in_app"))

    assert transactional.state == states.SENT
    assert in_app.state == states.SENT
    assert len(channels.email.sent) == 2


def test_the_limit_holds_under_concurrent_sends(app, ws, ann, deliver, channels):
    _limit(app, 3)
    queued = [campaign(ws, ann) for _ in range(10)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(deliver, queued))

    assert sorted(o.state for o in outcomes).count(states.SENT) == 3
    assert [o.state for o in outcomes].count(states.UNDELIVERABLE) == 7
    assert len(channels.email.sent) == 3
    assert messages_metered(ws)["email"] == 3


def test_sms_to_a_person_without_a_phone_has_no_address(ws, ann, deliver, channels):
    delivery_id = campaign(ws, ann, "sms")

    outcome = deliver(delivery_id)

    assert outcome.state == states.UNDELIVERABLE
    assert delivery(ws, delivery_id).reason.startswith("no_address")
    assert channels.sms.sent == []


def test_push_to_a_person_without_devices_has_no_address(ws, ann, deliver, channels):
    outcome = deliver(campaign(ws, ann, "push"))

    assert outcome.state == states.UNDELIVERABLE
    assert outcome.reason is not None and outcome.reason.startswith("no_address")
    assert channels.push.sent == []


def test_a_message_not_sent_does_not_count_against_the_limit(app, ws, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    _limit(app, 1)
    assert deliver(campaign(ws, "ann", "sms")).state == states.UNDELIVERABLE  # no phone

    assert deliver(campaign(ws, "ann")).state == states.SENT


def test_the_first_gate_that_blocks_is_recorded(ws, unsubscribed_ann, deliver, channels):
    gates.block(ws, "ann@example.com", "bounced", None, clock.now())

    outcome = deliver(campaign(ws, unsubscribed_ann))

    assert outcome.state == states.UNDELIVERABLE
    assert outcome.reason is not None and outcome.reason.startswith("unsubscribed")


def test_blocked_deliveries_are_listed_with_their_reason(app, track, ws, ann, deliver, channels):
    email = campaign(ws, ann)
    sms = campaign(ws, ann, "sms")
    deliver(email)
    deliver(sms)
    track.put("/api/v1/customers/ann", {"unsubscribed": True})
    unsubscribed = campaign(ws, ann)
    deliver(unsubscribed)

    answer = app.get("/v1/customers/ann/messages")

    assert answer.status == 200
    listed = {m["id"]: m for m in answer.json["messages"]}
    assert set(listed) == {email, sms, unsubscribed}
    assert listed[email]["state"] == states.SENT
    assert listed[email]["failure_message"] is None
    assert listed[sms]["state"] == states.UNDELIVERABLE
    assert listed[sms]["failure_message"].startswith("no_address")
    assert listed[unsubscribed]["state"] == states.UNDELIVERABLE
    assert listed[unsubscribed]["failure_message"].startswith("unsubscribed")
    assert listed[unsubscribed]["type"] == "campaign"
    assert states.UNDELIVERABLE in listed[unsubscribed]["metrics"]
