import json
from datetime import UTC, datetime

import pytest

from nudge.delivery.ses_events import DELIVERY_TAG, WORKSPACE_TAG, Feedback, UnusableEvent, parse

MAIL_SENT = "2017-08-05T00:40:02.012Z"
EVENT_AT = "2017-08-05T00:41:02.669Z"


def unix(timestamp):
    return int(datetime.fromisoformat(timestamp).astimezone(UTC).timestamp())


def mail(**changes):
    """The mail object SES puts in every event record, as in the AWS examples, tagged by Nudge."""
    value = {
        "timestamp": MAIL_SENT,
        "source": "Acme <news@acme.example>",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/acme.example",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": ["Recipient@Example.com"],
        "headersTruncated": False,
        "headers": [{"name": "From", "value": "Acme <news@acme.example>"}],
        "commonHeaders": {
            "from": ["Acme <news@acme.example>"],
            "to": ["Recipient@Example.com"],
            "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "subject": "Welcome",
        },
        "tags": {
            "ses:configuration-set": ["nudge"],
            "ses:source-ip": ["192.0.2.0"],
            "ses:from-domain": ["acme.example"],
            "ses:caller-identity": ["nudge-sender"],
            WORKSPACE_TAG: ["ws1"],
            DELIVERY_TAG: ["d1"],
        },
    }
    value.update(changes)
    return value


def event(event_type, key=None, body=None, *, field="eventType", **mail_changes):
    record = {field: event_type, "mail": mail(**mail_changes)}
    if key is not None:
        record[key] = body
    return json.dumps(record)


def test_a_permanent_bounce_is_a_hard_bounce_of_the_bounced_recipient():
    text = event(
        "Bounce",
        "bounce",
        {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "Recipient@Example.com",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": EVENT_AT,
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com",
        },
    )

    assert parse(text) == Feedback(
        workspace_id="ws1",
        delivery_id="d1",
        kind="bounced",
        at=unix(EVENT_AT),
        addresses=("recipient@example.com",),
        permanent=True,
        detail={
            "message_id": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            "bounce_type": "Permanent",
            "bounce_subtype": "General",
            "diagnostic": "smtp; 550 5.1.1 user unknown",
        },
    )


def test_a_transient_bounce_is_not_permanent():
    text = event(
        "Bounce",
        "bounce",
        {
            "bounceType": "Transient",
            "bounceSubType": "MailboxFull",
            "bouncedRecipients": [{"emailAddress": "recipient@example.com"}],
            "timestamp": EVENT_AT,
            "feedbackId": "0100015e",
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert feedback.kind == "bounced"
    assert feedback.permanent is False
    assert feedback.detail["bounce_subtype"] == "MailboxFull"


def test_an_undetermined_bounce_is_not_permanent():
    text = event(
        "Bounce",
        "bounce",
        {"bounceType": "Undetermined", "bounceSubType": "Undetermined", "bouncedRecipients": []},
    )

    feedback = parse(text)

    assert feedback is not None
    assert feedback.permanent is False


def test_a_bounce_concerns_only_the_recipients_that_bounced():
    text = event(
        "Bounce",
        "bounce",
        {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "B@example.com"}],
            "timestamp": EVENT_AT,
        },
        destination=["a@example.com", "b@example.com"],
    )

    feedback = parse(text)

    assert feedback is not None
    assert feedback.addresses == ("b@example.com",)


def test_a_complaint_is_spam_and_always_permanent():
    text = event(
        "Complaint",
        "complaint",
        {
            "complainedRecipients": [{"emailAddress": "Recipient@Example.com"}],
            "timestamp": EVENT_AT,
            "feedbackId": "0100015e-complaint",
            "userAgent": "Mozilla/5.0",
            "complaintFeedbackType": "abuse",
            "complaintSubType": None,
            "arrivalDate": "2017-08-05T00:41:00.000Z",
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert (feedback.kind, feedback.permanent) == ("spammed", True)
    assert feedback.addresses == ("recipient@example.com",)
    assert feedback.at == unix(EVENT_AT)
    assert feedback.detail["complaint_type"] == "abuse"
    assert "complaint_subtype" not in feedback.detail


def test_a_complaint_without_a_feedback_type_has_no_complaint_type():
    text = event(
        "Complaint",
        "complaint",
        {"complainedRecipients": [{"emailAddress": "recipient@example.com"}], "timestamp": EVENT_AT},
    )

    feedback = parse(text)

    assert feedback is not None
    assert "complaint_type" not in feedback.detail


def test_a_delivery_names_its_recipients():
    text = event(
        "Delivery",
        "delivery",
        {
            "timestamp": EVENT_AT,
            "processingTimeMillis": 546,
            "recipients": ["Recipient@Example.com"],
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert (feedback.kind, feedback.permanent) == ("delivered", False)
    assert feedback.addresses == ("recipient@example.com",)
    assert feedback.at == unix(EVENT_AT)
    assert feedback.detail["smtp_response"] == "250 ok:  Message 64111812 accepted"


def test_an_open_concerns_the_mail_destination():
    text = event(
        "Open",
        "open",
        {"ipAddress": "192.0.2.1", "timestamp": EVENT_AT, "userAgent": "Mozilla/5.0"},
        destination=["Recipient Name <Recipient@Example.com>"],
    )

    feedback = parse(text)

    assert feedback is not None
    assert feedback.kind == "opened"
    assert feedback.addresses == ("recipient@example.com",)
    assert feedback.at == unix(EVENT_AT)


def test_a_click_keeps_the_link():
    text = event(
        "Click",
        "click",
        {
            "ipAddress": "192.0.2.1",
            "link": "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
            "linkTags": {"samplekey0": ["samplevalue0"]},
            "timestamp": EVENT_AT,
            "userAgent": "Mozilla/5.0",
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert feedback.kind == "clicked"
    assert (
        feedback.detail["link"] == "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html"
    )


def test_a_delivery_delay_is_deferred_for_the_delayed_recipients():
    text = event(
        "DeliveryDelay",
        "deliveryDelay",
        {
            "timestamp": EVENT_AT,
            "delayType": "TransientCommunicationFailure",
            "expirationTime": "2020-06-17T00:15:05.000Z",
            "delayedRecipients": [
                {
                    "emailAddress": "Recipient@Example.com",
                    "status": "4.4.1",
                    "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host",
                }
            ],
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert (feedback.kind, feedback.permanent) == ("deferred", False)
    assert feedback.addresses == ("recipient@example.com",)
    assert feedback.detail["delay_type"] == "TransientCommunicationFailure"


def test_a_reject_is_a_failure_at_the_mail_timestamp():
    text = event("Reject", "reject", {"reason": "Bad content"})

    feedback = parse(text)

    assert feedback is not None
    assert (feedback.kind, feedback.permanent) == ("failed", False)
    assert feedback.at == unix(MAIL_SENT)
    assert feedback.addresses == ("recipient@example.com",)
    assert feedback.detail["reason"] == "Bad content"


def test_a_rendering_failure_is_a_failure():
    text = event(
        "Rendering Failure",
        "failure",
        {
            "errorMessage": "Attribute 'attributeName' is not present in the rendering data.",
            "templateName": "t",
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert feedback.kind == "failed"
    assert feedback.detail["template"] == "t"
    assert feedback.detail["error"].startswith("Attribute 'attributeName'")


def test_a_send_is_sent_even_with_its_empty_send_object_missing():
    feedback = parse(event("Send"))

    assert feedback is not None
    assert (feedback.kind, feedback.at) == ("sent", unix(MAIL_SENT))


def test_the_legacy_notification_type_spelling_is_accepted():
    text = event(
        "Bounce",
        "bounce",
        {
            "bounceType": "Permanent",
            "bounceSubType": "Suppressed",
            "bouncedRecipients": [{"emailAddress": "recipient@example.com"}],
            "timestamp": EVENT_AT,
        },
        field="notificationType",
    )

    feedback = parse(text)

    assert feedback is not None
    assert (feedback.workspace_id, feedback.delivery_id, feedback.kind) == ("ws1", "d1", "bounced")
    assert feedback.permanent is True


def test_a_long_diagnostic_is_truncated():
    text = event(
        "Bounce",
        "bounce",
        {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "a@b.c", "diagnosticCode": "x" * 5000}],
        },
    )

    feedback = parse(text)

    assert feedback is not None
    assert len(feedback.detail["diagnostic"]) == 1000


@pytest.mark.parametrize("event_type", ["Subscription", "AmazonSnsSubscriptionSucceeded"])
def test_an_event_that_needs_no_action_is_none(event_type):
    text = json.dumps(
        {
            "eventType": event_type,
            "mail": mail(tags={}),
            "subscription": {"contactList": "news", "timestamp": EVENT_AT, "source": "UnsubscribeHeader"},
        }
    )

    assert parse(text) is None


def test_an_email_without_tags_is_unusable():
    text = json.dumps({"eventType": "Delivery", "mail": mail(tags=None), "delivery": {"recipients": []}})

    with pytest.raises(UnusableEvent, match="tags"):
        parse(text)


def test_an_email_without_the_delivery_tag_is_unusable():
    text = event("Delivery", "delivery", {"timestamp": EVENT_AT}, tags={WORKSPACE_TAG: ["ws1"]})

    with pytest.raises(UnusableEvent, match=DELIVERY_TAG):
        parse(text)


def test_an_email_with_an_empty_workspace_tag_is_unusable():
    text = event(
        "Delivery", "delivery", {"timestamp": EVENT_AT}, tags={WORKSPACE_TAG: [], DELIVERY_TAG: ["d1"]}
    )

    with pytest.raises(UnusableEvent, match=WORKSPACE_TAG):
        parse(text)


@pytest.mark.parametrize("text", ["", "not json", "<xml/>", '["a list"]', "null"])
def test_text_that_is_not_a_json_object_is_unusable(text):
    with pytest.raises(UnusableEvent):
        parse(text)


def test_an_unknown_event_type_is_unusable():
    with pytest.raises(UnusableEvent, match="unknown"):
        parse(event("Teleported", "teleport", {}))


def test_an_event_without_a_type_is_unusable():
    with pytest.raises(UnusableEvent, match="eventType"):
        parse(json.dumps({"mail": mail()}))


def test_a_bounce_without_its_bounce_object_is_unusable():
    with pytest.raises(UnusableEvent, match="bounce"):
        parse(event("Bounce"))


def test_an_event_with_no_timestamp_anywhere_is_unusable():
    with pytest.raises(UnusableEvent, match="timestamp"):
        parse(event("Open", "open", {}, timestamp=None))
