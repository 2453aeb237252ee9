"""The send pipeline: render, check every gate, deliver through the channel, record what happened, and
report it (``outcomes``: billing meters it). One delivery at a time; the send function calls ``process``
for each delivery that became ``queued``.

At most once, and nothing lost:

1. **Prepare** while the delivery is still ``queued``: the person, the settings, the template, layout and
   snippets are read, the message is rendered and the gates that only read are checked. Nothing is
   claimed yet, so a failure here leaves nothing to clean up. A storage error (throttled, unreachable)
   reschedules the delivery with backoff; any other exception propagates with the delivery still
   ``queued``, and the stream record is retried by Lambda and then dead-lettered. A decision (a gate
   blocked it, the template failed) is recorded straight from ``queued`` (``records.settle``).
2. **Claim** it (``queued`` -> ``attempted``, a conditional write under a fresh attempt id): a duplicate
   or concurrent sighting finds it taken and sends nothing. Only the message-limit gate (the one gate that
   writes) comes between the claim and the provider call; if it fails, the claim is given back.
3. **Send** once, and read the channel's answer in three kinds (``messages``): not sent
   (``TransientSendError``: rescheduled; ``PermanentSendError``: failed with the provider's reason), or
   ambiguous (``AmbiguousSendError``: the request went out and the answer was lost). An ambiguous email,
   SMS or push is recorded ``failed`` as "send outcome unknown" and never resent; SES feedback, tagged with
   the delivery id, still marks it sent and delivered if it went out. Webhooks are retried by their
   adapter under an ``Idempotency-Key`` instead.
4. **Record** the outcome under the claim, then report it (metering subscribes). If the process dies
   between the provider call and that write, the delivery stays ``attempted``: its next sighting records
   it as failed, outcome unknown, never sends it again. If that sighting came while the sender was still
   at work (a duplicate record processed concurrently), the sender's own record of the outcome replaces
   the guess.

Retries are capped: a delivery rescheduled ``MAX_RETRIES`` times, or first rescheduled ``MAX_RETRY_AGE``
ago, is failed ("gave up", with the last error) and ``DeadLettered`` is raised, so its stream record ends
in the send function's dead-letter queue and raises its alarm.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from pynamodb.exceptions import DoesNotExist, PutError

from nudge import clock
from nudge.delivery import channel_set, compose, gates, outcomes, records, states, templates
from nudge.delivery import settings as delivery_settings
from nudge.delivery.channels import aws_errors
from nudge.delivery.channels.aws_errors import STORAGE_ERRORS
from nudge.delivery.inbox import store as store_in_app
from nudge.delivery.messages import (
    AmbiguousSendError,
    Email,
    PermanentSendError,
    Push,
    Receipt,
    Sms,
    TransientSendError,
    Webhook,
)
from nudge.delivery.template_store import StoredTemplate, layout_source, load, snippets
from nudge.errors import NotFound
from nudge.model.deliveries import Delivery
from nudge.model.keys import PROFILE, person_pk
from nudge.model.people import Person

logger = Logger(child=True)
RETRY_DELAYS = (60, 300, 900, 3600)  # seconds before the 1st, 2nd, ... retry; hourly after the 4th
MAX_RETRIES = 10  # reschedules before giving up: about 7.4 hours of hourly tries after the first ones
MAX_RETRY_AGE = 24 * 3600  # seconds from the first reschedule after which it gives up (a sweep outage)
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


class DeadLettered(Exception):
    """The pipeline gave up on the delivery (``records.GAVE_UP``). Raised, so the stream record fails and,
    once Lambda's retries of it are spent, lands in the dead-letter queue and its alarm; every later
    sighting of the record raises it again. ``outcome`` is what this sighting decided (no channel when an
    earlier one did)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(f"delivery {outcome.delivery_id} given up: {outcome.reason}")
        self.outcome = outcome


@dataclass(frozen=True)
class _Decided:
    """An outcome known before anything could be sent: a gate blocked it, or it cannot be rendered."""

    state: str
    reason: str


@dataclass(frozen=True)
class _Ready:
    """A delivery rendered and past the gates that only read: what the claim then sends."""

    person: Person
    settings: delivery_settings.WorkspaceDelivery
    composed: compose.Composed
    request: dict[str, Any]


def process(workspace_id: str, delivery_id: str) -> Outcome:
    delivery = records.load(workspace_id, delivery_id)
    if delivery is None:
        return Outcome(delivery_id, "missing")
    if delivery.state != states.QUEUED:
        return _already_handled(delivery)
    try:
        ready = _prepare(delivery)
        if isinstance(ready, _Decided):
            return _settle(delivery, ready)
        attempt = records.claim(delivery)
    except STORAGE_ERRORS as exc:
        # Nothing was claimed (or the claim's write failed): the delivery is still queued.
        return _retry(
            delivery, None, f"preparing the message failed: {aws_errors.describe(aws_errors.cause_of(exc))}"
        )
    if attempt is None:
        return Outcome(delivery_id, "claimed elsewhere")
    return _send_claimed(delivery, attempt, ready)


def _already_handled(delivery: Delivery) -> Outcome:
    if delivery.state == states.ATTEMPTED and delivery.attempt_id:
        # Its sender claimed it to call the provider and ended before recording the answer: the message
        # may have gone out, so it is never sent again.
        if states.furthest(delivery.metrics.as_dict() if delivery.metrics else {}) is not None:
            return _went_out(delivery, delivery.attempt_id)
        reason = (
            f"{records.OUTCOME_UNKNOWN}: the sender stopped between calling the provider and recording "
            "its answer; not resent"
        )
        if not records.finish(delivery, delivery.attempt_id, states.FAILED, reason=reason):
            return Outcome(delivery.delivery_id, "claimed elsewhere")  # its sender recorded it meanwhile
        _report_unsent(delivery, states.FAILED)
        logger.warning("delivery outcome unknown", delivery_id=delivery.delivery_id)
        return Outcome(delivery.delivery_id, states.FAILED, reason, delivery.channel)
    # Lambda retrying the record of a send that decided an outcome: reporting it may be what failed the
    # record (a refused reporting-webhook event is kept for this retry), so it is reported again, not first.
    if records.gave_up(delivery):
        _report_again(delivery, delivery.state)
        # It fails again, so the record ends in the dead-letter queue.
        raise DeadLettered(Outcome(delivery.delivery_id, delivery.state, delivery.reason))
    if delivery.state in states.OUT:
        _report_sent(delivery)  # the crash may have come between recording the send and metering it
    elif delivery.state in (states.FAILED, states.UNDELIVERABLE):
        _report_again(delivery, delivery.state)
    elif delivery.state == states.SCHEDULED and delivery.retries:
        _report_again(delivery, states.ATTEMPTED)  # the try that rescheduled it
    return Outcome(delivery.delivery_id, delivery.state)


def _report_again(delivery: Delivery, state: str) -> None:
    outcomes.report(outcomes.of(delivery, state, clock.now(), first=False, decided_by_send=True))


def _went_out(delivery: Delivery, attempt: str) -> Outcome:
    """A dead sender's delivery that feedback (SES's delivery event, a client's metric) already showed
    went out: recorded as sent, then moved on to that metric, and metered."""
    if not records.finish(delivery, attempt, states.SENT, reason=None):
        return Outcome(delivery.delivery_id, "claimed elsewhere")
    _report_sent(delivery)
    logger.info("message sent, as its feedback shows", delivery_id=delivery.delivery_id)
    return Outcome(delivery.delivery_id, states.SENT, channel=delivery.channel)


def _prepare(delivery: Delivery) -> _Ready | _Decided:
    """Everything before the claim: reads, rendering and the gates that only read."""
    ws = delivery.workspace_id
    request = records.request_of(delivery)
    person = _person_of(delivery, request)
    if person is None:
        return _Decided(states.UNDELIVERABLE, "the person no longer exists")
    settings = delivery_settings.load(ws)
    try:
        job = _job(delivery, request, person, settings)
        composed = compose.compose(job)
    except templates.TemplateError as exc:
        return _Decided(states.FAILED, f"template: {exc.reason}")
    except NotFound as exc:
        return _Decided(states.FAILED, str(exc))
    blocked = gates.check(
        ws,
        channel=delivery.channel,
        source=delivery.source,
        request=request,
        person=person,
        address=composed.address,
        template=job.template,
    )
    if blocked is not None:
        return _Decided(states.UNDELIVERABLE, f"{blocked.gate}: {blocked.reason}")
    return _Ready(person, settings, composed, request)


def _settle(delivery: Delivery, decided: _Decided) -> Outcome:
    if not records.settle(delivery, decided.state, decided.reason):
        return Outcome(delivery.delivery_id, "claimed elsewhere")
    _report_unsent(delivery, decided.state)
    logger.info(
        "message not sent", delivery_id=delivery.delivery_id, state=decided.state, reason=decided.reason
    )
    return Outcome(delivery.delivery_id, decided.state, decided.reason, delivery.channel)


def _send_claimed(delivery: Delivery, attempt: str, ready: _Ready) -> Outcome:
    ws = delivery.workspace_id
    now = clock.now()
    person, settings, composed = ready.person, ready.settings, ready.composed
    try:
        blocked = gates.take_slot(
            ws, person.cio_id, channel=delivery.channel, source=delivery.source, limit=settings.limit, now=now
        )
    except STORAGE_ERRORS as exc:
        reason = (
            f"counting it against the message limit failed: {aws_errors.describe(aws_errors.cause_of(exc))}"
        )
        return _retry(delivery, attempt, reason)
    if blocked is not None:
        return _finish(delivery, attempt, states.UNDELIVERABLE, f"{blocked.gate}: {blocked.reason}")
    assert composed.message is not None  # the no-address gate let it through
    own_smtp = isinstance(composed.message, Email) and settings.smtp is not None
    try:
        receipt = _deliver(composed.message, settings)
    except AmbiguousSendError as exc:
        # It may have gone out: the limit's slot stays used and it is never sent again.
        logger.warning("send outcome unknown", delivery_id=delivery.delivery_id, channel=delivery.channel)
        return _finish(
            delivery, attempt, states.FAILED, f"{records.OUTCOME_UNKNOWN}: {exc.reason}; not resent"
        )
    except (TransientSendError, PermanentSendError) as exc:
        _give_slot_back(delivery, person, settings, now)  # nothing went out
        if isinstance(exc, PermanentSendError):
            return _finish(delivery, attempt, states.FAILED, exc.reason)
        return _retry(delivery, attempt, str(exc))
    if not ready.request.get("disable_message_retention"):
        _retain(delivery, json.dumps(composed.retained, separators=(",", ":")))
    recorded = records.finish(
        delivery,
        attempt,
        states.SENT,
        recipient=_recipient(composed.address),
        provider_id=receipt.provider_id,
        links=composed.links,
        reason=None,
    )
    if recorded:
        outcomes.report(outcomes.of(delivery, states.SENT, clock.now(), first=True, own_smtp=own_smtp))
    logger.info(
        "message sent", delivery_id=delivery.delivery_id, channel=delivery.channel, source=delivery.source
    )
    return Outcome(delivery.delivery_id, states.SENT, channel=delivery.channel)


def _retain(delivery: Delivery, text: str) -> None:
    """Keep the content for "view in browser" before the send is recorded, so a reader who opens it at
    once finds it. It went out already: a content that cannot be kept is logged, never a reason to send
    again."""
    if len(text) > RETENTION_LIMIT:
        return
    try:
        records.keep_content(delivery, text)
    except STORAGE_ERRORS as exc:
        logger.warning(
            "message content not retained",
            delivery_id=delivery.delivery_id,
            error=aws_errors.describe(aws_errors.cause_of(exc)),
        )


def _give_slot_back(
    delivery: Delivery, person: Person, settings: delivery_settings.WorkspaceDelivery, now: int
) -> None:
    if settings.limit is None or not gates.limited(delivery.channel, delivery.source):
        return
    try:
        gates.uncount(delivery.workspace_id, person.cio_id, settings.limit, now)
    except STORAGE_ERRORS as exc:
        # Recording the outcome matters more: a slot not given back only makes the limit stricter.
        logger.warning(
            "message limit slot not given back",
            delivery_id=delivery.delivery_id,
            error=aws_errors.describe(aws_errors.cause_of(exc)),
        )


def _retry(delivery: Delivery, attempt: str | None, why: str) -> Outcome:
    """Reschedule a delivery nothing was sent for, with backoff; past the cap on tries or their age, fail
    it and raise ``DeadLettered``."""
    retries = int(delivery.retries or 0)
    now = clock.now()
    since = int(delivery.retrying_since) if delivery.retrying_since is not None else now
    if retries >= MAX_RETRIES or now - since >= MAX_RETRY_AGE:
        reason = f"{retries + 1} tries over {(now - since) // 60} minutes sent nothing; the last: {why}"
        if not records.give_up(delivery, attempt, reason):
            return Outcome(delivery.delivery_id, "claimed elsewhere")
        _report_unsent(delivery, states.FAILED)
        logger.error(
            "delivery given up", delivery_id=delivery.delivery_id, channel=delivery.channel, reason=why
        )
        raise DeadLettered(
            Outcome(delivery.delivery_id, states.FAILED, f"{records.GAVE_UP}: {reason}", delivery.channel)
        )
    delay = RETRY_DELAYS[min(retries, len(RETRY_DELAYS) - 1)]
    if not records.retry_later(delivery, attempt, delay, why):
        return Outcome(delivery.delivery_id, "claimed elsewhere")
    _report_unsent(delivery, states.ATTEMPTED)
    logger.warning("send deferred", delivery_id=delivery.delivery_id, channel=delivery.channel, error=why)
    return Outcome(delivery.delivery_id, states.SCHEDULED, why, delivery.channel)


def _finish(delivery: Delivery, attempt: str, state: str, reason: str) -> Outcome:
    if records.finish(delivery, attempt, state, reason=reason):
        _report_unsent(delivery, state)
    logger.info("message not sent", delivery_id=delivery.delivery_id, state=state, reason=reason)
    return Outcome(delivery.delivery_id, state, reason, delivery.channel)


def _report_unsent(delivery: Delivery, state: str) -> None:
    """Report what the send decided for a message that did not go out: ``failed`` or ``undeliverable``
    (recorded once, by whoever's conditional write won), or ``attempted`` (one try failed, another is
    scheduled: each is its own report)."""
    outcomes.report(outcomes.of(delivery, state, clock.now(), first=True, decided_by_send=True))


def _report_sent(delivery: Delivery) -> None:
    """Report again a message recorded as sent: its sender may have died before reporting it, and
    metering (which counts each delivery once) must not miss it."""
    outcomes.report(outcomes.of(delivery, states.SENT, clock.now(), first=False))


def _person(workspace_id: str, cio_id: str) -> Person | None:
    try:
        return Person.get(person_pk(workspace_id, cio_id), PROFILE)
    except DoesNotExist:
        return None


def _person_of(delivery: Delivery, request: dict) -> Person | None:
    """Whose data the message renders: its person's; for a test, the person it was asked for (if any,
    and still there); for Nudge's own mail, no one's."""
    if delivery.source == "system":
        return _recipient_of_system_mail(delivery, request)
    if delivery.source == "test":
        render_as = request.get("render_as")
        found = _person(delivery.workspace_id, str(render_as)) if render_as else None
        return found or _recipient_of_system_mail(delivery, request)
    return _person(delivery.workspace_id, delivery.cio_id)


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


_content_cache: dict[tuple[str, str, str], tuple[float, int, Any]] = {}  # -> (monotonic, clock.now(), value)


def _cached(
    workspace_id: str, kind: str, key: str, read: Callable[[], Any], *, newer_than: int | None = None
) -> Any:
    """Templates, layouts and snippets, kept ``CONTENT_CACHE_SECONDS`` per process: a batch of a
    campaign's messages shares one template, so only the first message reads it (an edit reaches sends
    within that time). ``newer_than``: when the content being rendered was saved (``clock.now()``
    seconds); a copy read before the end of that second is read again, since it may predate what was
    saved with it (a snippet created just before the template that names it)."""
    cache_key = (workspace_id, kind, key)
    found = _content_cache.get(cache_key)
    if (
        found is not None
        and time.monotonic() - found[0] < CONTENT_CACHE_SECONDS
        and (newer_than is None or newer_than < found[1])
    ):
        return found[2]
    read_at = clock.now()
    value = read()
    _content_cache[cache_key] = (time.monotonic(), read_at, value)
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
        layout = _cached(ws, "layout", str(layout_id), lambda: layout_source(ws, str(layout_id)))
    found_snippets: dict[str, templates.Source] = {}
    if delivery.channel == "email":
        saved_at = template.updated_at if template else None
        found_snippets = _cached(ws, "snippets", "", lambda: snippets(ws), newer_than=saved_at)
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
    try:
        store_in_app(message)
    except PutError as exc:
        raise aws_errors.storage_send_error("inbox", exc) from exc
    return Receipt(None)


def _recipient(address: object) -> str | None:
    if isinstance(address, str):
        return address
    if isinstance(address, tuple):
        return ",".join(getattr(d, "token", str(d))[:8] + "…" for d in address)  # tokens shortened
    return None
