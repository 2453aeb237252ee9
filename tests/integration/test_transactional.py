"""The transactional App API (POST /v1/send/*) and the pipeline behind it: real handlers under moto,
channels replaced by recording fakes."""

from __future__ import annotations

import base64

import pytest
from customerio import APIClient, SendEmailRequest

from nudge import clock
from nudge.billing import metering
from nudge.delivery import records, scheduled, states
from tests.support.track import LambdaAdapter


def _send(app, channel="email", **body):
    body.setdefault("identifiers", {"id": "ann"})
    return app.post(f"/v1/send/{channel}", body)


def _state(ws, delivery_id):
    return records.load(ws, delivery_id).state


def _messages_metered(ws):
    from nudge.billing import periods
    from nudge.workspaces import billing_anchor

    period = periods.period_start_at(billing_anchor(ws), periods.day_of(clock.now()))
    return dict(metering.read_usage(ws, period.isoformat()).messages)


def test_inline_email_renders_customer_and_trigger_data(app, track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "Ann"})
    answer = _send(
        app,
        subject="Hi {{ customer.first_name }}",
        body="<p>Order {{ trigger.order_id }} for {{ customer.email }}</p>",
        message_data={"order_id": "A-1"},
    )
    assert answer.status == 200
    assert set(answer.json) == {"delivery_id", "queued_at"}

    outcome = deliver(answer.json["delivery_id"])

    assert outcome.state == states.SENT
    [email] = channels.email.sent
    assert email.to == "ann@example.com"
    assert email.subject == "Hi Ann"
    assert "Order A-1 for ann@example.com" in email.html
    assert "Order A-1" in email.text
    assert _messages_metered(ws)["email"] == 1


def test_person_is_created_when_missing(app, ws, deliver, channels):
    answer = _send(app, identifiers={"email": "new@example.com"}, subject="s", body="b")
    deliver(answer.json["delivery_id"])
    assert channels.email.sent[0].to == "new@example.com"


def test_template_by_number_and_by_trigger_name(app, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    created = app.post(
        "/v1/templates",
        {
            "name": "Receipt",
            "channel": "email",
            "trigger_name": "receipt",
            "subject": "Receipt",
            "body": "<p>x</p>",
        },
    ).json["template"]
    by_number = _send(app, transactional_message_id=created["id"])
    by_name = _send(app, transactional_message_id="receipt")
    deliver(by_number.json["delivery_id"])
    deliver(by_name.json["delivery_id"])
    assert [e.subject for e in channels.email.sent] == ["Receipt", "Receipt"]


def test_template_of_another_channel_is_refused(app):
    sms = app.post("/v1/templates", {"name": "t", "channel": "sms", "body": "hi"}).json["template"]
    answer = _send(app, transactional_message_id=sms["id"])
    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == "/transactional_message_id"


def test_unknown_template_is_404(app):
    assert _send(app, transactional_message_id=999).status == 404


@pytest.mark.parametrize("reference", [[1], 1.5, True, {"id": 1}])
def test_a_template_reference_that_is_neither_an_id_nor_a_name_is_a_400(app, reference):
    answer = _send(app, transactional_message_id=reference)
    assert answer.status == 400, answer.json
    assert answer.json["errors"][0]["source"]["pointer"] == "/transactional_message_id"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"identifiers": None, "subject": "s", "body": "b"}, "/identifiers"),
        ({"subject": "s"}, "/body"),
        ({"subject": "{{ oops", "body": "b"}, "/subject"),
        ({"subject": "s", "body": "b", "send_at": "tomorrow"}, "/send_at"),
        ({"subject": "s", "body": "b", "attachments": {"a.txt": "not base64!"}}, "/attachments"),
        ({"subject": "s", "body": "b", "tracked": "yes"}, "/tracked"),
    ],
)
def test_invalid_requests_name_the_field(app, body, pointer):
    answer = _send(app, **body)
    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == pointer


@pytest.mark.parametrize(
    ("channel", "body", "pointer", "says"),
    [
        ("email", {"to": "ann at example.com"}, "/to", "one email address"),
        ("email", {"to": "ann@example.com, bob@example.com"}, "/to", "one email address"),
        ("email", {"bcc": ["audit@example.com", "audit"]}, "/bcc", '"audit" is not an email address'),
        ("email", {"bcc": [f"a{n}@example.com" for n in range(15)]}, "/bcc", "more than 15 addresses"),
        ("sms", {"to": "555-0100"}, "/to", "E.164"),
    ],
)
def test_recipients_are_checked_as_the_channel_addresses_them(app, channel, body, pointer, says):
    content = {"subject": "s", "body": "b"} if channel == "email" else {"body": "b"}
    answer = _send(app, channel, **content, **body)
    assert answer.status == 400, answer.json
    [error] = answer.json["errors"]
    assert error["source"]["pointer"] == pointer
    assert says in error["detail"]


def test_a_named_recipient_and_fourteen_bcc_are_taken(app, track, deliver, channels):
    bcc = [f"a{n}@example.com" for n in range(14)]
    answer = _send(app, subject="s", body="b", to="Ann Lee <ann@example.com>", bcc=bcc)
    assert answer.status == 200, answer.json
    deliver(answer.json["delivery_id"])
    [email] = channels.email.sent
    assert (email.to, email.bcc) == ("Ann Lee <ann@example.com>", tuple(bcc))


def test_idempotency_key_makes_a_retry_the_same_delivery(app, track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    body = {"identifiers": {"id": "ann"}, "subject": "s", "body": "b"}
    first = app.request("POST", "/v1/send/email", body, headers={"Idempotency-Key": "order-77"})
    again = app.request("POST", "/v1/send/email", body, headers={"Idempotency-Key": "order-77"})
    assert first.json["delivery_id"] == again.json["delivery_id"]
    deliver(first.json["delivery_id"])
    deliver(again.json["delivery_id"])
    assert len(channels.email.sent) == 1


def test_send_at_waits_for_the_sweep(app, track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    later = clock.now() + 3600
    delivery_id = _send(app, subject="s", body="b", send_at=later).json["delivery_id"]
    assert _state(ws, delivery_id) == states.SCHEDULED
    assert deliver(delivery_id).state == states.SCHEDULED  # not yet
    assert scheduled.sweep(now=later - 120) == 0
    assert scheduled.sweep(now=later + 1) == 1
    assert _state(ws, delivery_id) == states.QUEUED
    assert deliver(delivery_id).state == states.SENT
    assert len(channels.email.sent) == 1


def test_queue_draft_is_stored_not_sent(app, track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    delivery_id = _send(app, subject="s", body="b", queue_draft=True).json["delivery_id"]
    deliver(delivery_id)
    assert _state(ws, delivery_id) == states.DRAFTED
    assert channels.email.sent == []


def test_attachments_and_bcc_reach_the_channel(app, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    pdf = base64.b64encode(b"%PDF-1.4 ...").decode()
    delivery_id = _send(app, subject="s", body="b", attachments={"invoice.pdf": pdf}, bcc="audit@example.com")
    deliver(delivery_id.json["delivery_id"])
    [email] = channels.email.sent
    assert email.bcc == ("audit@example.com",)
    assert email.attachments[0].name == "invoice.pdf"
    assert email.attachments[0].content == b"%PDF-1.4 ..."
    assert email.attachments[0].content_type == "application/pdf"


def test_sms_and_push_and_in_app(app, track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "phone": "+15550100"})
    track.put("/api/v1/customers/ann/devices", {"device": {"id": "tok-ios-1", "platform": "ios"}})
    sms_template = app.post(
        "/v1/templates", {"name": "code", "channel": "sms", "body": "Code {{ trigger.code }}"}
    )
    sms = _send(
        app, "sms", transactional_message_id=sms_template.json["template"]["id"], message_data={"code": 42}
    )
    push = _send(app, "push", title="Hi", message="Your order shipped", custom_data={"order": "A-1"})
    in_app = _send(app, "in_app", body="Welcome {{ customer.email }}")
    for answer in (sms, push, in_app):
        assert deliver(answer.json["delivery_id"]).state == states.SENT
    assert channels.sms.sent[0].phone == "+15550100"
    assert channels.sms.sent[0].body == "Code 42"
    assert [d.token for d in channels.push.sent[0].devices] == ["tok-ios-1"]
    assert channels.push.sent[0].data == {"order": "A-1"}
    usage = _messages_metered(ws)
    assert (usage["sms"], usage["push"], usage["in_app"]) == (1, 1, 1)


def test_customerio_api_client_sends_unmodified(keys, track, ws, deliver, channels):
    from functions.api import handler as api_handler

    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    client = APIClient(keys.app_api_key, url="https://api.nudge.test", retries=0)
    client.http.mount("https://", LambdaAdapter(api_handler.handler))
    request = SendEmailRequest(
        identifiers={"id": "ann"},
        _from="shop@example.com",
        subject="Hello",
        body="<b>Hi</b>",
        message_data={"a": 1},
    )
    answer = client.send_email(request)
    assert deliver(answer["delivery_id"]).state == states.SENT
    assert channels.email.sent[0].sender == "shop@example.com"
