"""Delivery records: queueing a message, claiming it for sending, and every state change after.

Every change is a conditional write, so a retried stream record, a duplicate Step Functions task or a
late metric can never move a delivery backwards or send it twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.condition import Condition

from nudge import clock
from nudge.delivery import states
from nudge.model.base import condition_failed, plain, update_if
from nudge.model.deliveries import (
    DeliveriesItem,
    Delivery,
    DeliveryContent,
    DeliveryListing,
    workspace_shard,
)

SK = "delivery"
LISTING_SK = "listing"
# How a delivery the provider may have taken, without an answer, is failed (never sent again).
OUTCOME_UNKNOWN = "send outcome unknown"
# How a delivery is failed after its tries, none of which sent anything, reached their cap or maximum age.
GAVE_UP = "gave up"
DUE_SHARDS = 4
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # SES tag values allow no more
# Mail to an address rather than to a person (Nudge's own invoices, a user's test of a template): no
# subscription gate, no unsubscribe header, since there is no person's consent to read or offer.
ADDRESSED_SOURCES = frozenset({"system", "test"})


def delivery_pk(workspace_id: str, delivery_id: str) -> str:
    return f"{workspace_id}#d#{delivery_id}"


def person_key(workspace_id: str, cio_id: str) -> str:
    return f"{workspace_id}#{cio_id}"


def stable_id(*cause: str) -> str:
    """A delivery id derived from what caused the message, so a repeated cause is the same delivery."""
    return hashlib.sha256("\x1f".join(cause).encode()).hexdigest()[:32]


def valid_id(delivery_id: str) -> bool:
    return bool(_DELIVERY_ID.match(delivery_id))


@dataclass(frozen=True)
class NewDelivery:
    delivery_id: str
    cio_id: str
    channel: str
    source: str  # transactional | campaign | system | test
    request: dict[str, Any]
    template_id: str | None = None
    campaign_id: str | None = None
    send_at: int | None = None
    draft: bool = False
    billable: bool = True


def queue(workspace_id: str, new: NewDelivery) -> tuple[Delivery, bool]:
    """Store the delivery (queued, scheduled or drafted). Returns it and whether this call created it: the
    same delivery id queued twice is one delivery.

    Its listing item (``DeliveryListing``: the message listings' index keys) is written first, once: a
    call that dies between the two writes leaves a listing without a delivery, which listings pass over
    (``resolve``) and a retry completes; never a delivery missing from the listings."""
    now = clock.now()
    _list(workspace_id, new, now)
    state = states.QUEUED
    if new.draft:
        state = states.DRAFTED
    elif new.send_at is not None and new.send_at > now:
        state = states.SCHEDULED
    item = Delivery(
        delivery_pk(workspace_id, new.delivery_id),
        SK,
        workspace_id=workspace_id,
        delivery_id=new.delivery_id,
        cio_id=new.cio_id,
        channel=new.channel,
        source=new.source,
        state=state,
        template_id=new.template_id,
        campaign_id=new.campaign_id,
        request_json=json.dumps(new.request, separators=(",", ":")),
        metrics={state: now},
        billable=new.billable,
        created_at=now,
        queued_at=now,
        updated_at=now,
        created_key=f"{now:012d}#{new.delivery_id}",  # its order; no index key without person_key
    )
    if state == states.SCHEDULED:
        assert new.send_at is not None
        _schedule(item, new.send_at)
    try:
        item.save(condition=Delivery.pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise
        existing = load(workspace_id, new.delivery_id)
        assert existing is not None
        return existing, False
    return item, True


def _list(workspace_id: str, new: NewDelivery, now: int) -> None:
    """The delivery's listing item, unless an earlier call for the same delivery wrote it (its refused
    condition costs one write unit; the index entries are not touched)."""
    listing = DeliveryListing(
        delivery_pk(workspace_id, new.delivery_id),
        LISTING_SK,
        workspace_id=workspace_id,
        delivery_id=new.delivery_id,
        channel=new.channel,
        source=new.source,
        template_id=new.template_id,
        campaign_id=new.campaign_id,
        created_at=now,
        person_key=person_key(workspace_id, new.cio_id),
        created_key=f"{now:012d}#{new.delivery_id}",
        workspace_shard=workspace_shard(workspace_id, new.delivery_id),
    )
    try:
        listing.save(condition=DeliveryListing.pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def resolve(entries: Sequence[DeliveriesItem]) -> list[DeliveriesItem]:
    """Message-listing index entries as the deliveries they list, in the same order: a listing item is
    replaced by its delivery (read in one BatchGetItem per 100, eventually consistent as the index is),
    keeping the entry's ``created_key`` (the listing's position); a delivery queued before listing items
    existed is its own entry (what its index projects). A listing whose delivery is missing (its queueing
    died between the two writes) stays as it is: callers show only ``Delivery`` entries."""
    keys = [(e.pk, SK) for e in entries if isinstance(e, DeliveryListing)]
    if not keys:
        return list(entries)
    found = {d.pk: d for d in Delivery.batch_get(keys)}
    resolved: list[DeliveriesItem] = []
    for entry in entries:
        delivery = found.get(entry.pk) if isinstance(entry, DeliveryListing) else None
        if delivery is not None:
            delivery.created_key = entry.created_key
            resolved.append(delivery)
        else:
            resolved.append(entry)
    return resolved


def _schedule(item: Delivery, due_at: int) -> None:
    shard = zlib.crc32(item.delivery_id.encode()) % DUE_SHARDS
    item.due_at = due_at
    item.due_bucket = f"{due_at // 60}#{shard}"
    item.due_key = f"{due_at:012d}#{item.workspace_id}#{item.delivery_id}"


def load(workspace_id: str, delivery_id: str) -> Delivery | None:
    if not valid_id(delivery_id):
        return None
    try:
        return Delivery.get(delivery_pk(workspace_id, delivery_id), SK, consistent_read=True)
    except DoesNotExist:
        return None


def request_of(delivery: Delivery) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(delivery.request_json)
    return loaded


CONTENT_SK = "content"


def keep_content(delivery: Delivery, content_json: str) -> None:
    """Retain what a delivery sent, in its own item beside it (``DeliveryContent``: later updates of the
    delivery are billed on its size, so the content stays off it). Written again, it is replaced."""
    DeliveryContent(
        delivery.pk, CONTENT_SK, workspace_id=delivery.workspace_id, content_json=content_json
    ).save()


def content_of(delivery: Delivery) -> dict[str, Any] | None:
    """The content a delivery sent, as retained; None when none was kept (retention disabled, over the
    limit, not sent yet). A delivery sent before the content had its own item holds it itself."""
    text = delivery.content_json
    if not text:
        try:
            text = DeliveryContent.get(delivery.pk, CONTENT_SK).content_json
        except DoesNotExist:
            return None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# --- the send's claim and its outcome ---------------------------------------------------------------


def claim(delivery: Delivery) -> str | None:
    """Move a queued delivery to ``attempted`` under a fresh attempt id; None if someone else has it."""
    attempt = secrets.token_hex(8)
    now = clock.now()
    claimed = update_if(
        delivery,
        [
            Delivery.state.set(states.ATTEMPTED),
            Delivery.attempt_id.set(attempt),
            Delivery.metrics[states.ATTEMPTED].set(now),
            Delivery.updated_at.set(now),
        ],
        Delivery.state == states.QUEUED,
    )
    return attempt if claimed else None


def settle(delivery: Delivery, state: str, reason: str) -> bool:
    """Record an outcome decided before any claim (a gate blocked it, the template failed): nothing was
    sent or is about to be. False if the delivery is no longer queued (a duplicate sighting decided)."""
    now = clock.now()
    return update_if(
        delivery,
        [
            Delivery.state.set(state),
            Delivery.metrics[state].set(now),
            Delivery.reason.set(reason),
            Delivery.updated_at.set(now),
        ],
        Delivery.state == states.QUEUED,
    )


def _held(attempt: str) -> Condition:
    """The claim ``attempt`` still holds the delivery: it is ``attempted`` under that claim, or another
    sighting took the claim for a dead sender's and failed it as outcome unknown while the sender was in
    fact still at work. The sender knows the outcome, so its record replaces that guess."""
    guessed = (Delivery.state == states.FAILED) & Delivery.reason.startswith(OUTCOME_UNKNOWN)
    return (Delivery.attempt_id == attempt) & ((Delivery.state == states.ATTEMPTED) | guessed)


def _ours(attempt: str | None) -> Condition:
    """Before a claim (``attempt`` None) the delivery must still be queued; after, held by the claim."""
    return Delivery.state == states.QUEUED if attempt is None else _held(attempt)


def finish(delivery: Delivery, attempt: str, state: str, **fields: Any) -> bool:
    """Record the claimed send's outcome (sent, failed, undeliverable). False if the claim was lost.

    A metric reported while the send was in flight (a fast SES delivery event, a client's ``opened``) was
    kept without moving the state (``record_metric``): once the send is recorded, the state catches up."""
    now = clock.now()
    actions = [
        Delivery.state.set(state),
        Delivery.metrics[state].set(now),
        Delivery.updated_at.set(now),
    ]
    if state != states.FAILED:
        actions.append(Delivery.metrics[states.FAILED].remove())  # an outcome-unknown guess, if any
    for name, value in fields.items():
        attribute = getattr(Delivery, name)
        actions.append(attribute.set(value) if value is not None else attribute.remove())
    if not update_if(delivery, actions, _held(attempt)):
        return False
    if state == states.SENT:
        _catch_up(delivery)
    return True


def _catch_up(delivery: Delivery) -> None:
    """Move a just-recorded send to the furthest metric it already has (``delivery`` holds the item as
    the outcome write left it)."""
    recorded = delivery.metrics.as_dict() if delivery.metrics else {}
    target = states.furthest(recorded)
    if target is None or delivery.state not in states.lower_than(target):
        return
    # False: a later metric moved it further meanwhile, nothing to catch up.
    update_if(
        delivery,
        [Delivery.state.set(target), Delivery.updated_at.set(clock.now())],
        Delivery.state.is_in(*states.out_lower_than(target)),
    )


def retry_later(delivery: Delivery, attempt: str | None, delay: int, reason: str) -> bool:
    """Schedule the delivery again ``delay`` seconds from now: nothing went out (the provider throttled,
    failed or was unreachable, or preparing the message failed). Gives the claim back (``attempt``), or,
    with None, takes a delivery still queued. ``reason`` stays on it until the next outcome. False if the
    delivery was not ours to reschedule."""
    now = clock.now()
    holder = Delivery(delivery.pk, SK, workspace_id=delivery.workspace_id, delivery_id=delivery.delivery_id)
    _schedule(holder, now + delay)
    return update_if(
        delivery,
        [
            Delivery.state.set(states.SCHEDULED),
            Delivery.attempt_id.remove(),
            Delivery.retries.add(1),
            Delivery.retrying_since.set(Delivery.retrying_since | now),
            Delivery.due_at.set(holder.due_at),
            Delivery.due_bucket.set(holder.due_bucket),
            Delivery.due_key.set(holder.due_key),
            Delivery.metrics[states.FAILED].remove(),
            Delivery.reason.set(f"retrying: {reason}"),
            Delivery.updated_at.set(now),
        ],
        _ours(attempt),
    )


def give_up(delivery: Delivery, attempt: str | None, reason: str) -> bool:
    """Fail a delivery whose tries, none of which sent anything, reached their cap or maximum age. False
    if the delivery was not ours to fail."""
    now = clock.now()
    return update_if(
        delivery,
        [
            Delivery.state.set(states.FAILED),
            Delivery.metrics[states.FAILED].set(now),
            Delivery.reason.set(f"{GAVE_UP}: {reason}"),
            Delivery.updated_at.set(now),
        ],
        _ours(attempt),
    )


def gave_up(delivery: Delivery) -> bool:
    return delivery.state == states.FAILED and str(delivery.reason or "").startswith(GAVE_UP)


def release_due(delivery_key: tuple[str, str], due_key: str) -> bool:
    """A scheduled delivery whose time came: back to ``queued``, which the send function picks up."""
    now = clock.now()
    return update_if(
        Delivery(*delivery_key),
        [
            Delivery.state.set(states.QUEUED),
            Delivery.due_bucket.remove(),
            Delivery.due_key.remove(),
            Delivery.updated_at.set(now),
        ],
        (Delivery.state == states.SCHEDULED) & (Delivery.due_key == due_key),
    )


# --- metrics after sending ----------------------------------------------------------------------------


def recover_sent(delivery: Delivery) -> bool:
    """The provider reports on a delivery failed as outcome unknown: it did go out. Record it as sent
    (True), so its feedback applies and it is metered; False if it was not such a delivery.

    Every delivered email's feedback asks, and a write its condition refuses is billed all the same (2
    write units a message): a delivery the caller read as already out (sent, delivered...) is answered
    without one, since states never move back and only an ``attempted`` one can become such a failure."""
    if delivery.state in states.OUT:
        return False
    now = clock.now()
    return update_if(
        delivery,
        [
            Delivery.state.set(states.SENT),
            Delivery.metrics[states.SENT].set(now),
            Delivery.metrics[states.FAILED].remove(),
            Delivery.reason.remove(),
            Delivery.updated_at.set(now),
        ],
        (Delivery.state == states.FAILED) & Delivery.reason.startswith(OUTCOME_UNKNOWN),
    )


def record_metric(delivery: Delivery, metric: str, at: int, **fields: Any) -> bool:
    """Keep the metric's first time; advance ``state`` if the metric outranks it. False if the delivery
    never went out (a metric for it is a client's mistake).

    A delivery whose send is in flight (``attempted``) keeps its state: its sender's outcome write is
    conditional on it, and a metric must not make that write fail (the links, the provider id and the
    metering would be lost). The metric's time is kept and ``finish`` moves the state on after."""
    in_flight = (states.ATTEMPTED,)
    if delivery.state not in states.OUT and delivery.state not in in_flight:
        return False
    first = Delivery.metrics[metric].set(Delivery.metrics[metric] | at)
    extra = [getattr(Delivery, name).set(value) for name, value in fields.items()]
    advanced = update_if(
        delivery,
        [first, Delivery.state.set(metric), Delivery.updated_at.set(clock.now()), *extra],
        Delivery.state.is_in(*states.out_lower_than(metric)),
    )
    # Else a later state already holds, or the send is in flight: keep only the metric. False: rescheduled
    # or failed meanwhile, it has not gone out.
    return advanced or update_if(delivery, [first, *extra], Delivery.state.is_in(*states.OUT, *in_flight))


def to_api(item: DeliveriesItem) -> dict[str, Any]:
    """A delivery as ``/v1/customers/{id}/messages`` shows it (from the person index's projection)."""
    metrics = {name: int(at) for name, at in plain(getattr(item, "metrics", None)).items()}
    return {
        "id": item.delivery_id,  # type: ignore[attr-defined]
        "channel": item.channel,  # type: ignore[attr-defined]
        "type": item.source,  # type: ignore[attr-defined]
        "state": item.state,  # type: ignore[attr-defined]
        "template_id": getattr(item, "template_id", None),
        "campaign_id": getattr(item, "campaign_id", None),
        "recipient": getattr(item, "recipient", None),
        "failure_message": getattr(item, "reason", None),
        "created": int(item.created_at),  # type: ignore[attr-defined]
        "metrics": metrics,
    }


def for_person(
    workspace_id: str, cio_id: str, *, limit: int, start: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A person's deliveries, newest first, a page at a time."""
    last_key = None
    if start:
        last_key = _decode_cursor(workspace_id, cio_id, start)
    page = DeliveriesItem.by_person.query(
        person_key(workspace_id, cio_id), scan_index_forward=False, limit=limit, last_evaluated_key=last_key
    )
    entries = list(page)
    found = [to_api(item) for item in resolve(entries) if isinstance(item, Delivery)]
    cursor = None
    if page.last_evaluated_key and entries:
        cursor = str(entries[-1].created_key)
    return found, cursor


def _decode_cursor(workspace_id: str, cio_id: str, start: str) -> dict[str, Any]:
    _, _, delivery_id = start.partition("#")
    return {
        "person_key": {"S": person_key(workspace_id, cio_id)},
        "created_key": {"S": start},
        "pk": {"S": delivery_pk(workspace_id, delivery_id)},
        "sk": {"S": SK},
    }
