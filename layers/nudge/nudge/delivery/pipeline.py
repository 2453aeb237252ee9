"""The send pipeline: render, check every gate, deliver through the channel, record what happened, and
meter it for billing. One delivery at a time; the send function calls ``process`` for each delivery
that became ``queued``.

Exactly once: the delivery is claimed with a conditional write (``queued`` -> ``attempted``) before
anything goes out, and the outcome is recorded under that claim. A retried record finds the delivery no
longer queued and sends nothing. A send that the provider throttled or failed (5xx) is rescheduled with
backoff, never recorded as failed. If the process dies between the provider accepting the message and
the outcome being recorded, the delivery stays ``attempted``: its next sighting records it as failed
with an "outcome unknown" reason rather than risk a second send (SES feedback, tagged with the delivery
id, still marks it delivered if it went out). If that sighting came while the sender was still at work
(a duplicate record processed concurrently), the sender's own record of the outcome replaces the guess.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.billing import metering
from nudge.delivery import channel_set, compose, gates, records, states, templates
from nudge.delivery import settings as delivery_settings
from nudge.delivery.inbox import store as store_in_app
from nudge.delivery.messages import Email, PermanentSendError, Push, Receipt, Sms, TransientSendError, Webhook
from nudge.delivery.template_store import StoredTemplate, load, load_layout, snippets
from nudge.errors import NotFound
from nudge.model.deliveries import Delivery
from nudge.model.keys import PROFILE, person_pk
from nudge.model.people import Person

logger = Logger(child=True)
RETRY_DELAYS = (60, 300, 900, 3600)  # seconds before the 1st, 2nd, ... retry after throttling
RETENTION_LIMIT = 300_000  # characters of rendered content kept for "view in browser"
CONTENT_CACHE_SECONDS = 30.0  # how long a process reuses a template, layout or snippets it read


@dataclass(frozen=True)
class Outcome:
    delivery_id: str
    state: str
    reason: str | None = None
    # The delivery's channel when this call decided the outcome (sent it, failed it, found it
    # undeliverable, deferred it), which the send function counts once; empty when there was nothing to
    # decide (no delivery, another sender's claim, an outcome decided before: a replayed record).
    channel: str = ""


def process(workspace_id: str, delivery_id: str) -> Outcome:
    delivery = records.load(workspace_id, delivery_id)
    if delivery is None:
        return Outcome(delivery_id, "missing")
    if delivery.state != states.QUEUED:
        return _already_handled(delivery)
    attempt = records.claim(delivery)
    if attempt is None:
        return Outcome(delivery_id, "claimed elsewhere")
    return _send_claimed(delivery, attempt)


def _already_handled(delivery: Delivery) -> Outcome:
    if delivery.state == states.ATTEMPTED and delivery.attempt_id:
        # A sender claimed it and ended without recording the outcome: never send again.
        reason = f"{records.OUTCOME_UNKNOWN}: the sending invocation ended before recording it; not resent"
        if not records.finish(delivery, delivery.attempt_id, states.FAILED, reason=reason):
            return Outcome(delivery.delivery_id, "claimed elsewhere")  # its sender recorded it meanwhile
        logger.warning("delivery outcome unknown", delivery_id=delivery.delivery_id)
        return Outcome(delivery.delivery_id, states.FAILED, reason, delivery.channel)
    if delivery.state in states.OUT and delivery.billable:
        _meter(delivery)  # the crash may have come between recording the send and metering it
    return Outcome(delivery.delivery_id, delivery.state)


def _send_claimed(delivery: Delivery, attempt: str) -> Outcome:
    ws = delivery.workspace_id
    request = records.request_of(delivery)
    now = clock.now()
    person = (
        _recipient_of_system_mail(delivery, request)
        if delivery.source == "system"
        else _person(ws, delivery.cio_id)
    )
    if person is None:
        return _finish(delivery, attempt, states.UNDELIVERABLE, "the person no longer exists")
    settings = delivery_settings.load(ws)
    try:
        job = _job(delivery, request, person, settings)
        composed = compose.compose(job)
    except templates.TemplateError as exc:
        return _finish(delivery, attempt, states.FAILED, f"template: {exc.reason}")
    except NotFound as exc:
        return _finish(delivery, attempt, states.FAILED, str(exc))
    blocked = gates.check(
        ws,
        channel=delivery.channel,
        source=delivery.source,
        request=request,
        person=person,
        address=composed.address,
        limit=settings.limit,
        now=now,
    )
    if blocked is not None:
        return _finish(delivery, attempt, states.UNDELIVERABLE, f"{blocked.gate}: {blocked.reason}")
    assert composed.message is not None  # the no-address gate let it through
    own_smtp = isinstance(composed.message, Email) and settings.smtp is not None
    try:
        receipt = _deliver(composed.message, settings)
    except (TransientSendError, PermanentSendError) as exc:
        if settings.limit is not None and gates.limited(delivery.channel, delivery.source):
            gates.uncount(ws, person.cio_id, settings.limit, now)  # nothing went out
        if isinstance(exc, PermanentSendError):
            return _finish(delivery, attempt, states.FAILED, exc.reason)
        delay = RETRY_DELAYS[min(int(delivery.retries or 0), len(RETRY_DELAYS) - 1)]
        records.retry_later(delivery, attempt, delay)
        logger.warning(
            "send deferred", delivery_id=delivery.delivery_id, channel=delivery.channel, error=str(exc)
        )
        return Outcome(delivery.delivery_id, states.SCHEDULED, str(exc), delivery.channel)
    retained = None
    if not request.get("disable_message_retention"):
        text = json.dumps(composed.retained, separators=(",", ":"))
        retained = text if len(text) <= RETENTION_LIMIT else None
    recorded = records.finish(
        delivery,
        attempt,
        states.SENT,
        recipient=_recipient(composed.address),
        provider_id=receipt.provider_id,
        links=composed.links,
        content_json=retained,
        reason=None,
    )
    if recorded and delivery.billable:
        metering.message_sent(ws, delivery.delivery_id, delivery.channel, own_smtp=own_smtp)
    logger.info(
        "message sent", delivery_id=delivery.delivery_id, channel=delivery.channel, source=delivery.source
    )
    return Outcome(delivery.delivery_id, states.SENT, channel=delivery.channel)


def _finish(delivery: Delivery, attempt: str, state: str, reason: str) -> Outcome:
    records.finish(delivery, attempt, state, reason=reason)
    logger.info("message not sent", delivery_id=delivery.delivery_id, state=state, reason=reason)
    return Outcome(delivery.delivery_id, state, reason, delivery.channel)


def _meter(delivery: Delivery) -> None:
    own_smtp = bool(delivery.provider_id and delivery.provider_id.startswith("smtp:"))
    metering.message_sent(delivery.workspace_id, delivery.delivery_id, delivery.channel, own_smtp=own_smtp)


def _person(workspace_id: str, cio_id: str) -> Person | None:
    try:
        return Person.get(person_pk(workspace_id, cio_id), PROFILE)
    except DoesNotExist:
        return None


def _recipient_of_system_mail(delivery: Delivery, request: dict) -> Person:
    """Nudge's own mail (invoices) goes to an address, not a person: a profile-shaped stand-in, never
    stored, so the same composing and gates apply."""
    return Person(
        person_pk(delivery.workspace_id, delivery.cio_id),
        PROFILE,
        workspace_id=delivery.workspace_id,
        cio_id=delivery.cio_id,
        email=str(request.get("to") or ""),
        created_at=0,
        updated_at=0,
    )


_content_cache: dict[tuple[str, str, str], tuple[float, Any]] = {}


def _cached(workspace_id: str, kind: str, key: str, read: Callable[[], Any]) -> Any:
    """Templates, layouts and snippets, kept ``CONTENT_CACHE_SECONDS`` per process: a batch of a
    campaign's messages shares one template, so only the first message reads it (an edit reaches sends
    within that time)."""
    cache_key = (workspace_id, kind, key)
    found = _content_cache.get(cache_key)
    if found is not None and time.monotonic() - found[0] < CONTENT_CACHE_SECONDS:
        return found[1]
    value = read()
    _content_cache[cache_key] = (time.monotonic(), value)
    return value


def _job(
    delivery: Delivery, request: dict, person: Person, settings: delivery_settings.WorkspaceDelivery
) -> compose.Job:
    ws = delivery.workspace_id
    template: StoredTemplate | None = None
    template_id = delivery.template_id
    if template_id:
        template = _cached(ws, "template", template_id, lambda: load(ws, template_id))
    layout = None
    layout_id = request.get("content", {}).get("layout_id") or (
        template.fields.get("layout_id") if template else None
    )
    if layout_id:
        layout = _cached(ws, "layout", str(layout_id), lambda: load_layout(ws, str(layout_id))["body"])
    found_snippets = _cached(ws, "snippets", "", lambda: snippets(ws)) if delivery.channel == "email" else {}
    return compose.Job(
        ws,
        delivery.delivery_id,
        delivery.channel,
        delivery.source,
        request,
        person,
        template,
        layout,
        found_snippets,
        settings,
    )


def _deliver(message: compose.Message, settings: delivery_settings.WorkspaceDelivery) -> Receipt:
    channels = channel_set.get()
    if isinstance(message, Email):
        if settings.smtp is not None:
            receipt = channels.smtp(settings.smtp).send_email(message)
            return Receipt(f"smtp:{receipt.provider_id}", receipt.detail)
        return channels.email.send_email(message)
    if isinstance(message, Sms):
        return channels.sms.send_sms(message)
    if isinstance(message, Push):
        if channels.push is None:
            raise PermanentSendError("push is not configured: no push application in this deployment")
        return channels.push.send_push(message)
    if isinstance(message, Webhook):
        return channels.webhook.send_webhook(message)
    store_in_app(message)
    return Receipt(None)


def _recipient(address: object) -> str | None:
    if isinstance(address, str):
        return address
    if isinstance(address, tuple):
        return ",".join(getattr(d, "token", str(d))[:8] + "…" for d in address)  # tokens shortened
    return None
