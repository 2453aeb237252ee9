"""Recording activities where their changes are already seen: the stream consumers.

The evaluate function records attribute and subscription changes (a profile's MODIFY) and segment
entries and exits (a membership's INSERT and REMOVE); the send function records each metric a message
reaches (a delivery whose ``metrics`` gained a name). Nothing is read to do it: an activity is built
from the stream record's images alone. Inside ``batch()`` (each handler opens one around its stream
batch) the batch's activities are written together at its end, 25 to a BatchWriteItem; a chunk that
cannot be written is reported by its records' sequence numbers, and the handler reports those records as
batch item failures, so the stream delivers them again. An activity's key comes from what caused it, so
writing it again replaces it rather than adding a second. A person's deletion drops what the batch still
holds of theirs, so nothing recorded before it is written after it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import PynamoDBException

from nudge import clock
from nudge.activities import kinds
from nudge.model import Membership, Person
from nudge.model.activities import ActivityItem, activity_pk, activity_shard
from nudge.model.base import plain
from nudge.model.deliveries import Delivery
from nudge.model.keys import event_time_key
from nudge.settings import get_settings
from nudge.stream_changes.changes import Change

log = logging.getLogger(__name__)

BATCH_WRITE_MAX = 25  # DynamoDB's BatchWriteItem limit
# An attribute value kept in an attribute change, as JSON; a longer one is kept cut to this length (an
# item holds at most 400 KB, and a timeline needs to show a change, not carry a document).
VALUE_MAX = 1000
# The profile fields Customer.io treats as attributes, beside the attributes themselves.
_PROFILE_FIELDS = {
    "id": "person_id",
    "email": "email",
    "created_at": "created_at",
    "unsubscribed": "unsubscribed",
}


class ActivitiesNotRecorded(RuntimeError):
    """Outside a batch, the activities of a change could not be written."""


class UnreadableRecord(ValueError):
    """A stream record whose image is no readable item: no activity can be made of it (a retry reads the
    same image, so it never will)."""


@dataclass
class PendingActivities:
    """One stream batch's activities waiting to be written, and the records whose writing failed."""

    waiting: dict[tuple[str, str], tuple[ActivityItem, list[str]]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def add(self, items: list[ActivityItem], sequence_number: str) -> None:
        for item in items:
            # One write per key: a BatchWriteItem refuses a key twice, and the later image is the newer.
            key = (item.pk, item.sk)
            sequence_numbers = self.waiting[key][1] if key in self.waiting else []
            self.waiting[key] = (item, [*sequence_numbers, sequence_number])

    def drop(self, pk: str) -> None:
        """Forget the waiting activities of one log (a person deleted after they were recorded)."""
        self.waiting = {key: entry for key, entry in self.waiting.items() if key[0] != pk}

    def flush(self) -> None:
        waiting, self.waiting = list(self.waiting.values()), {}
        for start in range(0, len(waiting), BATCH_WRITE_MAX):
            chunk = waiting[start : start + BATCH_WRITE_MAX]
            try:
                with ActivityItem.batch_write() as batch:  # at most 25: one call (and its retries)
                    for item, _ in chunk:
                        batch.save(item)
            except PynamoDBException:
                log.exception("recording activities failed", extra={"activities": len(chunk)})
                self.failed.extend(s for _, numbers in chunk for s in numbers if s not in self.failed)


_pending: ContextVar[PendingActivities | None] = ContextVar("nudge_pending_activities", default=None)


@contextmanager
def batch() -> Iterator[PendingActivities]:
    """Write the activities of the records handled inside together; ``flush()`` it, then read ``failed``."""
    pending = PendingActivities()
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def _record(items: list[ActivityItem], sequence_number: str) -> None:
    if not items:
        return
    pending = _pending.get()
    if pending is not None:
        pending.add(items, sequence_number)
        return
    alone = PendingActivities()
    alone.add(items, sequence_number)
    alone.flush()
    if alone.failed:
        raise ActivitiesNotRecorded(f"{len(items)} activities could not be written")


def failing_also(response: Mapping[str, Any], sequence_numbers: list[str]) -> dict[str, Any]:
    """A partial batch response with the records of ``sequence_numbers`` reported as failures too (the
    mapping retries from the earliest failure; every consumer of a record is idempotent)."""
    failures = list(response.get("batchItemFailures", []))
    reported = {f["itemIdentifier"] for f in failures}
    extra = [{"itemIdentifier": s} for s in dict.fromkeys(sequence_numbers) if s not in reported]
    return {**response, "batchItemFailures": [*failures, *extra]} if extra else dict(response)


# --- what a change means -----------------------------------------------------------------------------


def on_change(change: Change) -> None:
    """The evaluate function's consumer: attribute changes, segment entries and exits; a person's
    deletion deletes their log (their events go with them in the request that deletes them)."""
    item = change.item
    if isinstance(item, Person) and change.event_name == "REMOVE":
        forget(change.workspace_id, item.cio_id)
    elif isinstance(item, Person) and isinstance(change.old, Person) and isinstance(change.new, Person):
        # A profile's creation is not a change of its attributes.
        found = _attribute_changes(change.workspace_id, change.old, change.new)
        found += _subscription_changes(change.workspace_id, change.old, change.new)
        _record(found, change.sequence_number)
    elif isinstance(item, Membership) and change.event_name in ("INSERT", "REMOVE"):
        _record(
            [_membership(change.workspace_id, item, entered=change.event_name == "INSERT")],
            change.sequence_number,
        )


def forget(workspace_id: str, cio_id: str) -> int:
    """Delete a person's log (a Query of its keys, 25 deletes a call) and what the batch still holds of
    it (changes recorded earlier in the same stream batch, written at its end, would outlive the
    deletion); returns how many stored entries were deleted. Only a deletion reads: an exit recorded
    after it (another table's stream, in no set order) stays until it expires, and the listings leave out
    people who no longer exist."""
    pk = activity_pk(workspace_id, cio_id)
    pending = _pending.get()
    if pending is not None:
        pending.drop(pk)
    deleted = 0
    with ActivityItem.batch_write() as batch:
        for entry in ActivityItem.query(pk, attributes_to_get=["pk", "sk"]):
            batch.delete(entry)
            deleted += 1
    return deleted


def on_delivery_record(record: Mapping[str, Any]) -> None:
    """The send function's: each metric a message reached since the record's old image. Raises
    ``UnreadableRecord`` for a record whose images are not a delivery's."""
    body = record.get("dynamodb") or {}
    new_image = body.get("NewImage") or {}
    if (new_image.get("kind") or {}).get("S") != "delivery":
        return  # the inbox, counters, templates, settings beside deliveries; or a removal
    new = _delivery(new_image)
    old = _delivery(body.get("OldImage"))
    if new is None:
        return
    reached = plain(new.metrics)
    before = plain(old.metrics) if old is not None else {}
    items = [
        _message(new, metric, int(at))
        for metric, at in sorted(reached.items())
        if metric not in before and kinds.message_type(metric, new.channel) is not None
    ]
    _record(items, str(body.get("SequenceNumber", "")))


def _delivery(image: Mapping[str, Any] | None) -> Delivery | None:
    if not image:
        return None
    try:
        return Delivery.from_raw_data(dict(image))
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableRecord(f"unreadable delivery image: {exc}") from exc


# --- the activities ----------------------------------------------------------------------------------


def _item(
    workspace_id: str, cio_id: str, activity_id: str, activity_type: str, at: int, **fields: Any
) -> ActivityItem:
    expires = clock.now() + get_settings().activity_retention_days * 86400
    return ActivityItem(
        activity_pk(workspace_id, cio_id),
        activity_id,
        ts_key=event_time_key(at, activity_id),
        activity_shard=activity_shard(workspace_id, f"{cio_id}#{activity_id}"),
        workspace_id=workspace_id,
        cio_id=cio_id,
        type=activity_type,
        timestamp=at,
        expires_at=datetime.fromtimestamp(expires, UTC),
        **fields,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def _attribute_changes(workspace_id: str, old: Person, new: Person) -> list[ActivityItem]:
    before, after = _attributes(old), _attributes(new)
    # Keyed by the profile's version and time: the change that made it, once, however often it is
    # delivered.
    version = f"{new.version}@{int(new.updated_at)}"
    return [
        _item(
            workspace_id,
            new.cio_id,
            f"a{_digest(version, name)}",
            kinds.ATTRIBUTE_CHANGE,
            int(new.updated_at),
            name=name,
            data={"attribute": name, **_bounded("from", before.get(name)), **_bounded("to", after.get(name))},
        )
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def _subscription_changes(workspace_id: str, old: Person, new: Person) -> list[ActivityItem]:
    """``customer_unsubscribed`` / ``customer_subscribed`` when the global flag flips, and
    ``cio_subscription_preferences_changed`` with the topics whose choice changed (``{"topics":
    {"topic_4": false}}``), as Customer.io reports them: whatever wrote them (identify, the subscription
    centre, an unsubscribe link, a complaint)."""
    version = f"{new.version}@{int(new.updated_at)}"
    found = []
    if bool(old.unsubscribed) != bool(new.unsubscribed):
        kind = kinds.CUSTOMER_UNSUBSCRIBED if new.unsubscribed else kinds.CUSTOMER_SUBSCRIBED
        activity_id = f"u{_digest(version, kind)}"
        found.append(_item(workspace_id, new.cio_id, activity_id, kind, int(new.updated_at), name=None))
    before, after = plain(old.subscription_preferences), plain(new.subscription_preferences)
    changed = {
        key.removeprefix("topics."): after.get(key)
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }
    if changed:
        found.append(
            _item(
                workspace_id,
                new.cio_id,
                f"p{_digest(version, kinds.PREFERENCES_CHANGED)}",
                kinds.PREFERENCES_CHANGED,
                int(new.updated_at),
                name=None,
                data={"topics": changed},
            )
        )
    return found


def _attributes(person: Person) -> dict[str, Any]:
    values = plain(person.attributes)
    for name, attribute in _PROFILE_FIELDS.items():
        value = getattr(person, attribute)
        if value is not None:
            values[name] = int(value) if name == "created_at" else value
    return values


def _bounded(key: str, value: Any) -> dict[str, Any]:
    text = json.dumps(value, default=str)
    if len(text) <= VALUE_MAX:
        return {key: value}
    return {key: text[:VALUE_MAX], f"{key}_truncated": True}


def _membership(workspace_id: str, membership: Membership, *, entered: bool) -> ActivityItem:
    segment_id = str(membership.segment_id)
    # An exit's time is when it is seen (the membership is gone; the stream carries only wall-clock time,
    # which the local runtime's accelerated clock does not follow). Keyed by the membership it ends, so a
    # record delivered again replaces its exit.
    at = int(membership.entered_at) if entered else clock.now()
    kind = kinds.ENTERED_SEGMENT if entered else kinds.EXITED_SEGMENT
    return _item(
        workspace_id,
        membership.cio_id,
        f"s{_digest(segment_id, str(int(membership.entered_at)), kind)}",
        kind,
        at,
        name=segment_id,
        data={"segment_id": segment_id},
    )


def _message(delivery: Delivery, metric: str, at: int) -> ActivityItem:
    activity_type = kinds.message_type(metric, delivery.channel)
    assert activity_type is not None  # filtered by the caller
    return _item(
        delivery.workspace_id,
        delivery.cio_id,
        f"m{_digest(delivery.delivery_id, metric)}",
        activity_type,
        at,
        name=None,
        delivery_id=delivery.delivery_id,
        delivery_type=kinds.CHANNEL_NAMES[delivery.channel],
        data=_message_data(delivery),
    )


def _message_data(delivery: Delivery) -> dict[str, Any]:
    data: dict[str, Any] = {"source": delivery.source}
    for name in ("campaign_id", "template_id", "recipient", "reason"):
        value = getattr(delivery, name)
        if value is not None:
            data[name] = value
    return data
