"""Read what SES says happened to an email: the event records its configuration set's event destination
publishes to SNS, turned into the one shape the feedback Lambda acts on.

Nudge tags every email it sends with its workspace and delivery (``WORKSPACE_TAG``, ``DELIVERY_TAG``);
SES copies the tags into every event about that email, which is how an event finds its delivery.

https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from nudge.delivery import states

WORKSPACE_TAG = "nudge-workspace"
DELIVERY_TAG = "nudge-delivery"

MAX_DETAIL_CHARS = 1000  # an SMTP diagnostic can be long; what the detail is for fits in far less

# SES event type -> (Feedback.kind: the delivery state it reports, the key of the event's own object in
# the record).
_EVENTS: dict[str, tuple[str, str]] = {
    "Delivery": (states.DELIVERED, "delivery"),
    "Bounce": (states.BOUNCED, "bounce"),
    "Complaint": (states.SPAMMED, "complaint"),
    "Open": (states.OPENED, "open"),
    "Click": (states.CLICKED, "click"),
    "DeliveryDelay": (states.DEFERRED, "deliveryDelay"),
    "Reject": (states.FAILED, "reject"),
    "Rendering Failure": (states.FAILED, "failure"),  # SES spells this one with a space
    "RenderingFailure": (states.FAILED, "failure"),
    "Send": (states.SENT, "send"),
}
KINDS = frozenset(kind for kind, _ in _EVENTS.values())

# Events that need nothing from Nudge: a recipient's subscription preferences in an SES contact list
# (Nudge keeps its own), and the note SES posts once when a topic is first set up for notifications.
_IGNORED = frozenset({"Subscription", "AmazonSnsSubscriptionSucceeded"})


class UnusableEvent(ValueError):
    """Not an SES event Nudge can attribute: not JSON, an unknown shape, or no Nudge tags (a message
    Nudge did not send, or sent without tags)."""


@dataclass(frozen=True)
class Feedback:
    workspace_id: str
    delivery_id: str
    kind: str  # one of KINDS: the delivery state SES reports
    at: int  # unix seconds of the event (its own timestamp, else the mail's)
    addresses: tuple[str, ...]  # the recipients it concerns, lower-cased
    permanent: bool = False  # a hard (Permanent) bounce, or a complaint
    # e.g. bounce_type/bounce_subtype/diagnostic, complaint_type, link, reason; message_id is SES's id.
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SnsRecord:
    """One record of the event SNS invokes a Lambda function with (a small shape of our own: Powertools'
    ``SNSEvent`` would import its whole ``data_classes`` package, some 20 ms of a cold start)."""

    notification: Mapping[str, Any]  # the record's ``Sns`` object whole: ``sns_verify`` checks its signature
    message_id: str | None
    message: str  # the ``Message`` text: an SES event's JSON (``parse``)

    @classmethod
    def parse_event(cls, event: Mapping[str, Any]) -> list[SnsRecord]:
        """The records of an SNS invocation. An event without a list of records is not one (a clear
        error, not an empty batch); a record without its ``Sns`` object reads as an empty notification,
        which no signature check accepts, so it is refused and reported, never dropped."""
        records = event.get("Records")
        if not isinstance(records, list):
            raise UnusableEvent("the event has no Records list: it is not an SNS invocation")
        found = []
        for record in records:
            sns = record.get("Sns") if isinstance(record, Mapping) else None
            notification: Mapping[str, Any] = sns if isinstance(sns, Mapping) else {}
            message_id = notification.get("MessageId")
            found.append(
                cls(
                    notification=notification,
                    message_id=message_id if isinstance(message_id, str) else None,
                    message=str(notification.get("Message", "")),
                )
            )
        return found


def parse(message_text: str) -> Feedback | None:
    """The Feedback in an SNS message's ``Message`` text, or None for an event that needs no action
    (a Subscription event, the subscription-succeeded note). Raises UnusableEvent otherwise."""
    try:
        record = json.loads(message_text)
    except (TypeError, ValueError):
        raise UnusableEvent("the message is not JSON") from None
    if not isinstance(record, dict):
        raise UnusableEvent("the message is not a JSON object")

    # Event publishing says eventType; identity feedback notifications (and older records) notificationType.
    event_type = record.get("eventType", record.get("notificationType"))
    if not isinstance(event_type, str):
        raise UnusableEvent("the message has no eventType")
    if event_type in _IGNORED:
        return None
    if event_type not in _EVENTS:
        raise UnusableEvent(f"unknown SES event type {event_type[:50]!r}")
    kind, section_key = _EVENTS[event_type]

    mail = record.get("mail")
    if not isinstance(mail, dict):
        raise UnusableEvent("the event has no mail object")
    tags = mail.get("tags")
    if not isinstance(tags, dict):
        raise UnusableEvent("the email has no tags: Nudge did not send it, or sent it untagged")
    workspace_id = _tag(tags, WORKSPACE_TAG)
    delivery_id = _tag(tags, DELIVERY_TAG)

    section = record.get(section_key, {} if kind == states.SENT else None)  # a Send record's "send" is empty
    if not isinstance(section, dict):
        raise UnusableEvent(f"the {event_type} event has no {section_key} object")

    at = _unix(section.get("timestamp"))
    if at is None:
        at = _unix(mail.get("timestamp"))
    if at is None:
        raise UnusableEvent("the event has no timestamp")

    detail: dict[str, str] = {}
    _put(detail, "message_id", mail.get("messageId"))
    permanent, recipients = _details(event_type, kind, section, detail)

    # Opens, clicks, sends, rejects and rendering failures concern the whole email: its destination.
    addresses = _addresses(recipients) or _addresses(mail.get("destination"))
    return Feedback(
        workspace_id=workspace_id,
        delivery_id=delivery_id,
        kind=kind,
        at=at,
        addresses=addresses,
        permanent=permanent,
        detail=detail,
    )


def _details(event_type: str, kind: str, section: dict[str, Any], detail: dict[str, str]) -> tuple[bool, Any]:
    """What the event's own section says: whether the address is gone for good, the recipients it names
    (None: the whole email's), and its details, put into ``detail``."""
    permanent = False
    recipients: Any = None
    if event_type == "Bounce":
        permanent = section.get("bounceType") == "Permanent"
        recipients = section.get("bouncedRecipients")
        _put(detail, "bounce_type", section.get("bounceType"))
        _put(detail, "bounce_subtype", section.get("bounceSubType"))
        first = recipients[0] if isinstance(recipients, list) and recipients else None
        if isinstance(first, dict):
            _put(detail, "diagnostic", first.get("diagnosticCode"))
    elif event_type == "Complaint":
        permanent = True
        recipients = section.get("complainedRecipients")
        _put(detail, "complaint_type", section.get("complaintFeedbackType"))
        _put(detail, "complaint_subtype", section.get("complaintSubType"))
    elif event_type == "Delivery":
        recipients = section.get("recipients")
        _put(detail, "smtp_response", section.get("smtpResponse"))
    elif event_type == "DeliveryDelay":
        recipients = section.get("delayedRecipients")
        _put(detail, "delay_type", section.get("delayType"))
        _put(detail, "expires", section.get("expirationTime"))
    elif event_type == "Click":
        _put(detail, "link", section.get("link"))
    elif event_type == "Reject":
        _put(detail, "reason", section.get("reason"))
    elif kind == states.FAILED:  # Rendering Failure
        _put(detail, "error", section.get("errorMessage"))
        _put(detail, "template", section.get("templateName"))
    return permanent, recipients


def _tag(tags: Mapping[str, Any], name: str) -> str:
    """A tag's value: SES gives each tag as a list of values (a plain string is accepted too)."""
    value = tags.get(name)
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, str) and item.strip():
            return item.strip()
    raise UnusableEvent(f"the email has no {name} tag: Nudge did not send it, or sent it untagged")


def _unix(timestamp: Any) -> int | None:
    """ISO 8601 as SES writes it (2017-08-05T00:41:02.669Z) -> unix seconds; None if it is not one."""
    if not isinstance(timestamp, str):
        return None
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _addresses(recipients: Any) -> tuple[str, ...]:
    """Lower-cased addresses, in order, once each, from a list of strings (delivery recipients, the
    mail's destination, possibly "Name <address>") or of {"emailAddress": ...} objects."""
    if not isinstance(recipients, list):
        return ()
    found: dict[str, None] = {}
    for recipient in recipients:
        text = recipient.get("emailAddress") if isinstance(recipient, dict) else recipient
        if not isinstance(text, str):
            continue
        address = (parseaddr(text)[1] or text).strip().lower()
        if address:
            found.setdefault(address, None)
    return tuple(found)


def _put(detail: dict[str, str], key: str, value: Any) -> None:
    if isinstance(value, str) and value:
        detail[key] = value[:MAX_DETAIL_CHARS]
