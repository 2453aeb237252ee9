"""Events for the reporting webhooks, queued where they happen: delivery outcomes (``delivery.outcomes``,
subscribed by ``nudge.composition``) and a person's ``unsubscribed`` attribute or topic choices changing (a
stream change consumer, subscribed by the evaluate handler).

Both run inside their reporter's call, so they only queue: one message per subscribed webhook, no HTTP.
A workspace without webhooks costs the cached read of its list (``store.active``) and nothing more. A
metric is queued the first time its delivery reaches it (``Outcome.first``: a retried report queues
nothing again); opens and clicks every time for a webhook with ``full_resolution``.

Nothing is lost when the queue refuses a first report's events: they are kept beside the delivery (a
``PendingReport``) and the reporter's call fails, so it is retried (the send function's stream record,
SES's redelivery, the client's request); the retry reports the metric again, not first, and that report
queues what was kept, with the same event ids, then forgets it. A repeated report of a metric in a
workspace with webhooks wanting it costs that one read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from nudge import clock, ids
from nudge.delivery import outcomes, records, states
from nudge.model.base import plain
from nudge.model.deliveries import PendingReport
from nudge.model.people import Person
from nudge.reporting import events, store
from nudge.reporting import queue as reporting_queue
from nudge.reporting.queue import QueuedEvent
from nudge.stream_changes.changes import Change

# How long refused events wait for their report's retry (Lambda's and SES's own retries end sooner).
PENDING_DAYS = 14


def on_delivery_outcome(outcome: outcomes.Outcome) -> None:
    if outcome.state not in events.REPORTED_METRICS or not outcome.cio_id:
        return
    if not outcome.billable:
        return  # Nudge's own mail (invoices) and template tests: not the workspace's messages to people
    event = events.name(outcome.channel, outcome.state)
    wanting = [webhook for webhook in store.active(outcome.workspace_id) if webhook.wants(event)]
    if not wanting:
        return
    repeat = not outcome.first
    if repeat:
        # Reported before: its first report queued its events, unless the queue refused them; then they
        # wait beside the delivery for this retry.
        _queue_pending(outcome)
        if outcome.state not in events.REPEATABLE:
            return
        wanting = [webhook for webhook in wanting if webhook.full_resolution]
        if not wanting:
            return
    if repeat or outcome.state == states.ATTEMPTED:
        event_id = ids.ulid(outcome.at * 1000)  # each open, click or failed try is an event of its own
    else:
        event_id = _event_id(outcome.at, outcome.workspace_id, outcome.delivery_id, outcome.state)
    bodies = [
        QueuedEvent(
            workspace_id=outcome.workspace_id,
            webhook_id=webhook.webhook_id,
            event_id=event_id,
            object_type=outcome.channel,
            metric=outcome.state,
            timestamp=outcome.at,
            cio_id=outcome.cio_id,
            delivery_id=outcome.delivery_id,
            link=outcome.link,
        ).to_json()
        for webhook in wanting
    ]
    try:
        reporting_queue.get().send(bodies)
    except Exception:
        if not repeat:
            # Its retry reports the metric again, not first: the events are kept for it to queue, since
            # nothing else would (the reporter's call still fails, so the retry comes).
            _keep_pending(outcome, bodies)
        raise


def _pending_key(outcome: outcomes.Outcome) -> tuple[str, str]:
    return records.delivery_pk(outcome.workspace_id, outcome.delivery_id), f"report#{outcome.state}"


def _keep_pending(outcome: outcomes.Outcome, bodies: list[str]) -> None:
    pk, sk = _pending_key(outcome)
    expires = datetime.fromtimestamp(clock.now() + PENDING_DAYS * 86_400, UTC)
    PendingReport(pk, sk, workspace_id=outcome.workspace_id, bodies=bodies, expires_at=expires).save()


def _queue_pending(outcome: outcomes.Outcome) -> None:
    """Queue what a first report of this metric could not, if it left anything; then forget it."""
    pk, sk = _pending_key(outcome)
    try:
        pending = PendingReport.get(pk, sk, consistent_read=True)
    except PendingReport.DoesNotExist:
        return
    reporting_queue.get().send(list(pending.bodies))  # the same bodies, so the same event ids
    pending.delete()


def on_change(change: Change) -> None:
    """``customer_subscribed`` / ``customer_unsubscribed`` when a profile's ``unsubscribed`` flips (or a
    new profile starts out unsubscribed), and ``customer_subscription_preferences_changed`` when its topic
    choices change, whatever changed them: the Track API, an unsubscribe link or the subscription centre,
    a complaint. A redelivered stream record queues the event again, with the same ``event_id`` (made from
    the record's sequence number), so a receiver that keeps the ids it has seen drops the repeat."""
    old, new = change.old, change.new
    if change.table != "people" or not isinstance(new, Person):
        return
    before = bool(old.unsubscribed) if isinstance(old, Person) else False
    after = bool(new.unsubscribed)
    if before != after:
        metric = events.UNSUBSCRIBED if after else events.SUBSCRIBED
        _customer_event(change, new, metric)
    chosen = plain(new.subscription_preferences)
    if chosen != (plain(old.subscription_preferences) if isinstance(old, Person) else {}):
        content = json.dumps(_nested(chosen), separators=(",", ":"))
        _customer_event(change, new, events.PREFERENCES_CHANGED, content)


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"topics.topic_1": false}`` as Customer.io writes it: ``{"topics": {"topic_1": false}}``."""
    nested: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        *parents, leaf = key.split(".")
        level = nested
        for part in parents:
            level = level.setdefault(part, {})
        level[leaf] = value
    return nested


def _event_id(at: int, *cause: str) -> str:
    """A ULID at ``at`` whose 80 random bits come from what caused the event: reported again (a retried
    call, a redelivered stream record), the event keeps its id."""
    digest = hashlib.sha256("\x1f".join(cause).encode()).digest()
    return ids.ulid(at * 1000, randomness=int.from_bytes(digest[:10], "big"))


def _customer_event(change: Change, person: Person, metric: str, content: str | None = None) -> None:
    workspace_id = change.workspace_id
    event = events.name(events.CUSTOMER, metric)
    webhooks = [webhook for webhook in store.active(workspace_id) if webhook.wants(event)]
    if not webhooks:
        return
    at = int(person.updated_at)
    event_id = _event_id(at, workspace_id, change.table, change.sequence_number, metric)
    reporting_queue.get().send(
        [
            QueuedEvent(
                workspace_id=workspace_id,
                webhook_id=webhook.webhook_id,
                event_id=event_id,
                object_type=events.CUSTOMER,
                metric=metric,
                timestamp=at,
                cio_id=str(person.cio_id),
                content=content,
            ).to_json()
            for webhook in webhooks
        ]
    )
