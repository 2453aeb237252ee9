"""SES events through SNS into the real feedback handler: each notification's signature is checked
(against a test certificate), then the event moves its delivery forward, suppresses bounced and
complaining addresses, and unsubscribes complainers."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from functions.feedback import handler as feedback_handler
from nudge import clock
from nudge.delivery import gates, sns_verify, states
from nudge_tools.local.apigw import LocalContext
from tests.support.deliveries import campaign, delivery, messages_metered, metrics, unsubscribed

CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000000000000.pem"
TOPIC = "arn:aws:sns:us-east-1:123456789012:nudge-ses-events"
ANN = "ann@example.com"


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pem(key):
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(autouse=True)
def sns_certificate(monkeypatch, pem):
    """SNS's certificate URL serves the test certificate (never fetched over the network)."""
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return pem

    monkeypatch.setattr(sns_verify, "_fetch_certificate", fetch)
    return fetched


@pytest.fixture(autouse=True)
def feedback_topic(monkeypatch):
    """The topic the deployed function is subscribed to, as the stack configures it."""
    monkeypatch.setenv(feedback_handler.TOPIC_ENV, TOPIC)


def _iso(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ses_event(event_type: str, section: dict, *, tags: dict | None) -> dict:
    now = _iso(clock.now())
    mail: dict[str, Any] = {
        "timestamp": now,
        "messageId": "0100018f-test",
        "source": "shop@example.com",
        "destination": [ANN],
    }
    if tags is not None:
        mail["tags"] = tags
    key = {"Delivery": "delivery", "Bounce": "bounce", "Complaint": "complaint"}[event_type]
    return {"eventType": event_type, "mail": mail, key: {"timestamp": now, **section}}


def tags_of(ws: str, delivery_id: str) -> dict:
    return {"nudge-workspace": [ws], "nudge-delivery": [delivery_id], "ses:configuration-set": ["nudge"]}


def sns_record(key, message: dict, *, sign: bool = True, topic: str = TOPIC) -> dict:
    """A Lambda event record for one SNS notification, signed as SNS signs (SignatureVersion 1)."""
    sns: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Subject": None,
        "Message": json.dumps(message),
        "Timestamp": _iso(clock.now()),
        "SignatureVersion": "1",
        "SigningCertUrl": CERT_URL,
        "UnsubscribeUrl": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={TOPIC}:1",
        "MessageAttributes": {},
    }
    if sign:
        names = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        text = "".join(f"{name}\n{sns[name]}\n" for name in names if sns[name] is not None)
        signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 (SNS v1)
        sns["Signature"] = base64.b64encode(signature).decode()
    return {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": f"{TOPIC}:1", "Sns": sns}


def handle(*records):
    context: Any = LocalContext()
    return feedback_handler.handler({"Records": list(records)}, context)


@pytest.fixture
def sent(track, ws, deliver, channels):
    """A campaign email that went out to ann."""
    track.put("/api/v1/customers/ann", {"email": ANN})
    delivery_id = campaign(ws, "ann")
    assert deliver(delivery_id).state == states.SENT
    return delivery_id


def test_delivery_event_marks_the_delivery_delivered(key, ws, sent, sns_certificate):
    event = ses_event("Delivery", {"recipients": [ANN], "smtpResponse": "250 ok"}, tags=tags_of(ws, sent))

    assert handle(sns_record(key, event)) == {"applied": 1, "skipped": 0}

    assert delivery(ws, sent).state == states.DELIVERED
    assert states.DELIVERED in metrics(ws, sent)
    assert sns_certificate == [CERT_URL]


def test_hard_bounce_suppresses_the_address(key, ws, sent, deliver):
    bounce = {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": ANN, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
    }

    handle(sns_record(key, ses_event("Bounce", bounce, tags=tags_of(ws, sent))))

    assert delivery(ws, sent).state == states.BOUNCED
    assert gates.is_blocked(ws, ANN)
    following = deliver(campaign(ws, "ann"))
    assert following.state == states.UNDELIVERABLE
    assert following.reason is not None and following.reason.startswith("suppressed_address")


def test_soft_bounce_defers_without_suppressing(key, ws, sent):
    bounce = {
        "bounceType": "Transient",
        "bounceSubType": "MailboxFull",
        "bouncedRecipients": [{"emailAddress": ANN}],
    }

    handle(sns_record(key, ses_event("Bounce", bounce, tags=tags_of(ws, sent))))

    assert delivery(ws, sent).state == states.DEFERRED
    assert states.BOUNCED not in metrics(ws, sent)
    assert not gates.is_blocked(ws, ANN)


def test_complaint_suppresses_and_unsubscribes(key, ws, sent):
    complaint = {"complainedRecipients": [{"emailAddress": ANN}], "complaintFeedbackType": "abuse"}

    handle(sns_record(key, ses_event("Complaint", complaint, tags=tags_of(ws, sent))))

    assert delivery(ws, sent).state == states.SPAMMED
    assert gates.is_blocked(ws, ANN)
    assert unsubscribed(ws, "ann") is True


def test_the_same_event_twice_changes_nothing_more(key, ws, sent):
    event = ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, sent))
    handle(sns_record(key, event))
    first = metrics(ws, sent)

    handle(sns_record(key, event))

    assert metrics(ws, sent) == first
    assert delivery(ws, sent).state == states.DELIVERED


def test_an_unsigned_notification_is_rejected(key, ws, sent):
    complaint = {"complainedRecipients": [{"emailAddress": ANN}]}
    record = sns_record(key, ses_event("Complaint", complaint, tags=tags_of(ws, sent)), sign=False)

    with pytest.raises(feedback_handler.RejectedNotifications):
        handle(record)

    assert delivery(ws, sent).state == states.SENT
    assert not gates.is_blocked(ws, ANN)
    assert unsubscribed(ws, "ann") is False


def test_a_tampered_message_is_rejected(key, ws, sent, track, deliver):
    # A genuine notification about one delivery, its Message rewritten to name another.
    track.put("/api/v1/customers/bob", {"email": "bob@example.com"})
    other = campaign(ws, "bob")
    deliver(other)
    record = sns_record(key, ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, sent)))
    tampered = ses_event(
        "Complaint", {"complainedRecipients": [{"emailAddress": ANN}]}, tags=tags_of(ws, other)
    )
    record["Sns"]["Message"] = json.dumps(tampered)

    with pytest.raises(feedback_handler.RejectedNotifications):
        handle(record)

    assert delivery(ws, sent).state == states.SENT
    assert delivery(ws, other).state == states.SENT
    assert not gates.is_blocked(ws, ANN)
    assert unsubscribed(ws, "ann") is False


def test_a_genuinely_signed_notification_of_another_topic_is_rejected(key, ws, sent, sns_certificate):
    # SNS signs every account's topics with the same certificates: a signature alone proves nothing
    # about who published. Someone else's topic carrying a made-up complaint about ann must not count.
    complaint = {"complainedRecipients": [{"emailAddress": ANN}]}
    foreign = "arn:aws:sns:us-east-1:999999999999:not-nudge"
    record = sns_record(key, ses_event("Complaint", complaint, tags=tags_of(ws, sent)), topic=foreign)

    with pytest.raises(feedback_handler.RejectedNotifications):
        handle(record)

    assert delivery(ws, sent).state == states.SENT
    assert not gates.is_blocked(ws, ANN)
    assert unsubscribed(ws, "ann") is False
    assert sns_certificate == []  # refused before any certificate is fetched


def test_without_its_topic_configured_the_function_accepts_nothing(key, ws, sent, monkeypatch):
    monkeypatch.delenv(feedback_handler.TOPIC_ENV)
    record = sns_record(key, ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, sent)))

    with pytest.raises(feedback_handler.MissingTopic):
        handle(record)

    assert delivery(ws, sent).state == states.SENT


def test_a_rejected_record_does_not_stop_the_genuine_ones(key, ws, sent):
    genuine = sns_record(key, ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, sent)))
    unsigned = sns_record(
        key, ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, sent)), sign=False
    )

    with pytest.raises(feedback_handler.RejectedNotifications):
        handle(unsigned, genuine)

    assert delivery(ws, sent).state == states.DELIVERED


def test_an_event_without_tags_is_skipped(key, ws, sent):
    event = ses_event(
        "Bounce", {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": ANN}]}, tags=None
    )

    assert handle(sns_record(key, event)) == {"applied": 0, "skipped": 1}

    assert delivery(ws, sent).state == states.SENT
    assert not gates.is_blocked(ws, ANN)


def test_an_event_for_an_unknown_delivery_changes_nothing(key, ws, sent):
    bounce = {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": ANN}]}
    event = ses_event("Bounce", bounce, tags=tags_of(ws, "f" * 32))

    handle(sns_record(key, event))

    assert not gates.is_blocked(ws, ANN)
    assert delivery(ws, sent).state == states.SENT


def test_delivery_event_recovers_a_send_whose_outcome_was_unknown(key, ws, track, deliver, channels):
    # Given a sender that died after SES took the message but before recording it
    from nudge.delivery import records

    track.put("/api/v1/customers/ann", {"email": ANN})
    delivery_id = campaign(ws, "ann")
    assert records.claim(delivery(ws, delivery_id)) is not None
    assert deliver(delivery_id).state == states.FAILED  # its next sighting: outcome unknown, not resent
    assert messages_metered(ws)["email"] == 0

    # When SES reports the message delivered
    event = ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, delivery_id))
    handle(sns_record(key, event))

    # Then it counts as sent and delivered after all, and is metered once
    assert delivery(ws, delivery_id).state == states.DELIVERED
    assert states.FAILED not in metrics(ws, delivery_id)
    assert messages_metered(ws)["email"] == 1
    assert channels.email.sent == []


def test_bounces_and_complaints_are_counted_as_email_metrics(key, ws, sent, capsys):
    delivered = ses_event("Delivery", {"recipients": [ANN]}, tags=tags_of(ws, sent))
    bounce = ses_event(
        "Bounce",
        {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": ANN}]},
        tags=tags_of(ws, sent),
    )
    complaint = ses_event(
        "Complaint", {"complainedRecipients": [{"emailAddress": ANN}]}, tags=tags_of(ws, sent)
    )
    capsys.readouterr()

    handle(sns_record(key, delivered), sns_record(key, bounce), sns_record(key, complaint))

    # One EMF document (the log line is the metric): namespace Nudge, by channel only.
    (document,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"], document["channel"]) == (
        "Nudge",
        [["channel"]],
        "email",
    )
    assert {m["Name"]: document[m["Name"]] for m in directive["Metrics"]} == {
        "Bounced": [1.0],
        "Complained": [1.0],
        "Delivered": [1.0],
    }
