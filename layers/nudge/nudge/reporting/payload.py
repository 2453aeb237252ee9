"""One queued event as Customer.io's reporting webhook body.

``{"event_id", "object_type", "metric", "timestamp", "data"}``; ``data`` carries ``identifiers`` (``id``,
``email``, ``cio_id``) and the deprecated ``customer_id``, and for a message its ``delivery_id``,
``recipient``, ``subject`` (email), where it came from (``campaign_id`` and ``action_id`` for a
campaign's send block, ``transactional_message_id`` for a transactional template), ``href`` and
``link_id`` for a click, ``failure_message`` for a failure or bounce, and with ``with_content`` the
message's ``content`` in ``sent`` events. Customer subscription events carry ``email_address`` too.

The body is rebuilt on every try from what is stored (the delivery, the person), so it can only differ
between tries if those changed meanwhile; ``event_id`` and ``timestamp`` come from the queued event and
never change.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge.delivery import records, states
from nudge.model.deliveries import Delivery
from nudge.model.keys import PROFILE, person_pk
from nudge.model.people import Person
from nudge.reporting import events
from nudge.reporting.queue import QueuedEvent
from nudge.reporting.store import Webhook

_FAILURES = frozenset({states.ATTEMPTED, states.FAILED, states.BOUNCED, states.DROPPED, states.UNDELIVERABLE})


def _number_if_numeric(value: str) -> int | str:
    """Customer.io's ids are numbers; Nudge's campaign and block ids are strings, sent as they are unless
    they are numbers."""
    return int(value) if value.isdigit() and len(value) < 16 else value


def _person(event: QueuedEvent) -> Person | None:
    try:
        return Person.get(person_pk(event.workspace_id, event.cio_id), PROFILE)
    except DoesNotExist:
        return None


def _identifiers(event: QueuedEvent, person: Person | None) -> dict[str, Any]:
    if person is None:  # deleted since: Customer.io sends what it still knows
        return {"id": None, "email": None, "cio_id": event.cio_id}
    return {"id": person.person_id, "email": person.email, "cio_id": event.cio_id}


def _message_data(event: QueuedEvent, delivery: Delivery, webhook: Webhook) -> dict[str, Any]:
    data: dict[str, Any] = {"delivery_id": delivery.delivery_id}
    request = records.request_of(delivery)
    campaign = request.get("campaign") or {}
    if delivery.campaign_id:
        data["campaign_id"] = _number_if_numeric(str(delivery.campaign_id))
        if campaign.get("block"):
            data["action_id"] = _number_if_numeric(str(campaign["block"]))
    elif delivery.source == "transactional" and delivery.template_id:
        data["transactional_message_id"] = _number_if_numeric(str(delivery.template_id))
    if delivery.recipient:
        data["recipient"] = delivery.recipient
    content = records.content_of(delivery) or {}
    if content.get("subject") is not None:
        data["subject"] = content["subject"]
    if event.metric == states.CLICKED and event.link is not None:
        found = list(delivery.links or [])
        if 0 <= event.link < len(found):
            data["href"] = str(found[event.link])
            data["link_id"] = event.link + 1  # Customer.io numbers a message's links from 1
    if event.metric in _FAILURES and delivery.reason:
        data["failure_message"] = delivery.reason
    if event.metric == states.SENT and webhook.with_content and content:
        data["content"] = content.get("html") or content.get("text") or content.get("body") or ""
    return data


def build(event: QueuedEvent, webhook: Webhook) -> str:
    """The request body, as sent and signed (compact JSON)."""
    person = _person(event)
    identifiers = _identifiers(event, person)
    data: dict[str, Any] = {"customer_id": identifiers["id"] or "", "identifiers": identifiers}
    if event.object_type == events.CUSTOMER:
        data["email_address"] = identifiers["email"]
        if event.content is not None:
            data["content"] = event.content  # a preferences change: a JSON string, as Customer.io sends
    elif event.delivery_id:
        delivery = records.load(event.workspace_id, event.delivery_id)
        if delivery is not None:
            data.update(_message_data(event, delivery, webhook))
        else:
            data["delivery_id"] = event.delivery_id  # expired since: the ids are still worth sending
    body = {
        "event_id": event.event_id,
        "object_type": event.object_type,
        "metric": event.metric,
        "timestamp": event.timestamp,
        "data": data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
