"""Metering, as data changes: O(1) work per change, exactly once per change, never a scan at billing time.

Counted per period (the one containing the moment the change is metered):
- people and objects **created** and **deleted** (every incarnation), and **new**: identifiers not
  already counted in the period. The billable high watermark is the period's opening live count plus
  its new identifiers; the next period opens at opening + created - deleted (the live count then).
- An identifier is already counted when it was alive at the period's start (in the opening count), or
  was counted earlier in the period: so a person deleted and re-created with the same id counts once.
- messages per channel, each delivery once; sends through a workspace's own SMTP are kept apart.

Each metering write is one transaction: a marker that makes the change happen once (a redelivered
stream record fails its condition), the identity record (versioned: a concurrent change of the same
identifier retries), and an atomic ``ADD`` on one of ``SHARDS`` counter items. The creations of one
stream batch share one transaction (``created_many``): all of them or none, so each stays exactly once;
so do the messages one send batch sent (``batch()``: a marker each and one counter update).
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError

from nudge import clock
from nudge.billing import periods
from nudge.delivery import outcomes, states
from nudge.delivery.channel_names import CHANNELS
from nudge.model.base import transaction
from nudge.model.billing import BillingItem, Identity, Incarnation, MeteredMessage, Usage
from nudge.workspaces import billing_anchor

SHARDS = 8
MAX_ATTEMPTS = 5
# TransactWriteItems takes 100 items: two per subject (marker, identity) and one per counter shard.
MAX_GROUP = (100 - SHARDS) // 2


@dataclass(frozen=True)
class Subject:
    """What is metered: a person or an object, by its identifier and this incarnation's internal id."""

    kind: str  # "people" or "objects"
    key: str
    incarnation: str


def usage_pk(workspace_id: str, period_id: str, shard: int) -> str:
    return f"{workspace_id}#usage#{period_id}#{shard}"


def _shard(key: str) -> int:
    return zlib.crc32(key.encode()) % SHARDS


def _period_of(workspace_id: str, at: int) -> tuple[str, int]:
    """The period id (start date) containing ``at``, and its start in unix seconds."""
    start = periods.period_start_at(billing_anchor(workspace_id), periods.day_of(at))
    return start.isoformat(), periods.midnight(start)


def _identity_pk(workspace_id: str, subject: Subject) -> str:
    return f"{workspace_id}#identity#{subject.kind}#{subject.key}"


def created(workspace_id: str, subject: Subject, at: int | None = None) -> bool:
    """Meter the creation of one incarnation; False when it was already metered."""
    at = clock.now() if at is None else at
    period_id, period_start = _period_of(workspace_id, at)
    for _ in range(MAX_ATTEMPTS):
        try:
            identity = Identity.get(_identity_pk(workspace_id, subject), "identity", consistent_read=True)
        except DoesNotExist:
            identity = None
        record, new = _created_identity(workspace_id, subject, identity, period_id, period_start, at)
        try:
            _write(workspace_id, subject, period_id, record, created=True, new=new, at=at)
            return True
        except TransactWriteError as exc:
            if _marker_exists(workspace_id, subject, created=True):
                return False  # redelivered: this incarnation's creation is already metered
            if not _lost_race(exc):
                raise
    raise RuntimeError(f"metering {subject} kept colliding with concurrent changes")


def created_many(workspace_id: str, subjects: Sequence[Subject], at: int | None = None) -> None:
    """Meter the creation of several incarnations of distinct identifiers in one transaction: one batched
    read of their identities, one write for all of them (a stream batch of new people costs two calls,
    not two per person). All or nothing: when any of them was metered already (a redelivered record) or
    raced a concurrent change, the transaction is cancelled and ``TransactWriteError`` raised, nothing
    written; the caller then meters them one by one with :func:`created`, which tells those cases apart.
    """
    if len(subjects) > MAX_GROUP:
        raise ValueError(f"at most {MAX_GROUP} subjects in one transaction")
    pks = [_identity_pk(workspace_id, subject) for subject in subjects]
    incarnations = {subject.incarnation for subject in subjects}
    if len(set(pks)) != len(pks) or len(incarnations) != len(subjects):
        raise ValueError("one transaction writes each identity and incarnation once")
    at = clock.now() if at is None else at
    period_id, period_start = _period_of(workspace_id, at)
    found = {i.pk: i for i in Identity.batch_get([(pk, "identity") for pk in pks], consistent_read=True)}
    counts: dict[int, Counter[str]] = {}
    with transaction(BillingItem) as tx:
        for subject, pk in zip(subjects, pks, strict=True):
            record, new = _created_identity(workspace_id, subject, found.get(pk), period_id, period_start, at)
            marker = _marker(workspace_id, subject)
            marker.created_at = at
            tx.save(marker, condition=Incarnation.pk.does_not_exist())
            tx.save(record)  # the version attribute adds the optimistic-lock condition
            shard = counts.setdefault(_shard(subject.key), Counter())
            shard[f"{subject.kind}_created"] += 1
            if new:
                shard[f"{subject.kind}_new"] += 1
        for shard_number, counters in sorted(counts.items()):
            usage = Usage(usage_pk(workspace_id, period_id, shard_number), "usage", workspace_id=workspace_id)
            actions = [getattr(Usage, name).add(count) for name, count in sorted(counters.items())]
            stamps = [Usage.period_id.set(period_id), Usage.workspace_id.set(workspace_id)]
            tx.update(usage, actions=[*actions, *stamps])


def _created_identity(
    workspace_id: str, subject: Subject, identity: Identity | None, period_id: str, period_start: int, at: int
) -> tuple[Identity, bool]:
    """The identity record after this creation, and whether the identifier is new in the period."""
    already_counted = identity is not None and (
        identity.counted_in == period_id
        or (identity.since < period_start and (identity.alive or (identity.deleted_at or 0) >= period_start))
    )
    record = identity or Identity(_identity_pk(workspace_id, subject), "identity", workspace_id=workspace_id)
    record.alive, record.incarnation, record.since, record.deleted_at = True, subject.incarnation, at, None
    record.counted_in = period_id
    return record, not already_counted


def deleted(workspace_id: str, subject: Subject, at: int | None = None) -> bool:
    """Meter the deletion of one incarnation; False when it was already metered."""
    at = clock.now() if at is None else at
    period_id, _ = _period_of(workspace_id, at)
    for _ in range(MAX_ATTEMPTS):
        try:
            identity: Identity | None = Identity.get(
                _identity_pk(workspace_id, subject), "identity", consistent_read=True
            )
        except DoesNotExist:
            identity = None
        # A later incarnation may already be alive (streams order per item, not across items): then
        # only the count changes, and the identifier stays alive.
        if identity is not None and identity.incarnation == subject.incarnation:
            identity.alive, identity.deleted_at = False, at
        try:
            _write(workspace_id, subject, period_id, identity, created=False, new=False, at=at)
            return True
        except TransactWriteError as exc:
            if _marker_exists(workspace_id, subject, created=False):
                return False
            if not _lost_race(exc):
                raise
    raise RuntimeError(f"metering {subject} kept colliding with concurrent changes")


def _write(
    workspace_id: str,
    subject: Subject,
    period_id: str,
    identity: Identity | None,
    *,
    created: bool,
    new: bool,
    at: int,
) -> None:
    marker = _marker(workspace_id, subject)
    usage = Usage(usage_pk(workspace_id, period_id, _shard(subject.key)), "usage", workspace_id=workspace_id)
    prefix = subject.kind
    with transaction(BillingItem) as tx:
        if created:
            marker.created_at = at
            tx.save(marker, condition=Incarnation.pk.does_not_exist())
        else:
            tx.update(
                marker,
                actions=[Incarnation.deleted_at.set(at), Incarnation.workspace_id.set(workspace_id)],
                condition=Incarnation.deleted_at.does_not_exist(),
            )
        if identity is not None:
            tx.save(identity)  # the version attribute adds the optimistic-lock condition
        counters = [getattr(Usage, f"{prefix}_{'created' if created else 'deleted'}").add(1)]
        if new:
            counters.append(getattr(Usage, f"{prefix}_new").add(1))
        tx.update(
            usage, actions=[*counters, Usage.period_id.set(period_id), Usage.workspace_id.set(workspace_id)]
        )


def _marker(workspace_id: str, subject: Subject) -> Incarnation:
    return Incarnation(
        f"{workspace_id}#incarnation#{subject.incarnation}", "incarnation", workspace_id=workspace_id
    )


def _marker_exists(workspace_id: str, subject: Subject, *, created: bool) -> bool:
    try:
        marker = Incarnation.get(
            f"{workspace_id}#incarnation#{subject.incarnation}", "incarnation", consistent_read=True
        )
    except DoesNotExist:
        return False
    return True if created else marker.deleted_at is not None


def _lost_race(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def message_sent(workspace_id: str, delivery_id: str, channel: str, *, own_smtp: bool = False) -> bool:
    """Meter one delivered message (reported by the delivery pipeline); False if already metered."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    at = clock.now()
    period_id, _ = _period_of(workspace_id, at)
    counter = Usage.messages_own_smtp if own_smtp else getattr(Usage, f"messages_{channel}")
    usage = Usage(usage_pk(workspace_id, period_id, _shard(delivery_id)), "usage", workspace_id=workspace_id)
    marker = MeteredMessage(
        f"{workspace_id}#message#{delivery_id}", "message", workspace_id=workspace_id, channel=channel, at=at
    )
    try:
        with transaction(BillingItem) as tx:
            tx.save(marker, condition=MeteredMessage.pk.does_not_exist())
            tx.update(
                usage,
                actions=[
                    counter.add(1),
                    Usage.period_id.set(period_id),
                    Usage.workspace_id.set(workspace_id),
                ],
            )
    except TransactWriteError:
        if _message_metered(workspace_id, delivery_id):
            return False
        raise
    return True


def _message_metered(workspace_id: str, delivery_id: str) -> bool:
    try:
        MeteredMessage.get(f"{workspace_id}#message#{delivery_id}", "message", consistent_read=True)
    except DoesNotExist:
        return False
    return True


def on_delivery_outcome(outcome: outcomes.Outcome) -> None:
    """A billable message sent (``outcomes``'s subscriber): metered, once however often it is reported.
    Inside ``batch()`` (the send function opens one around its stream batch) it is metered with the
    batch's other messages at the batch's end."""
    if outcome.state == states.SENT and outcome.billable:
        pending = _pending.get()
        if pending is not None:
            pending.add(outcome.workspace_id, outcome.delivery_id, outcome.channel, own_smtp=outcome.own_smtp)
            return
        message_sent(outcome.workspace_id, outcome.delivery_id, outcome.channel, own_smtp=outcome.own_smtp)


@dataclass(frozen=True)
class _Sent:
    workspace_id: str
    delivery_id: str
    channel: str
    own_smtp: bool
    at: int
    record: str  # the stream record that reported it (``PendingMessages.record``), failed with it


@dataclass
class PendingMessages:
    """A stream batch's sent messages waiting to be metered together, and the records whose metering
    failed (the caller reports them as batch item failures: their retry finds the message sent, reports
    it again, and metering it again is refused by its marker if it went through)."""

    waiting: dict[tuple[str, str], _Sent] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    record: str = ""  # the record being handled: what a message reported now is failed with

    def add(self, workspace_id: str, delivery_id: str, channel: str, *, own_smtp: bool) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
        key = (workspace_id, delivery_id)
        if key not in self.waiting:  # the same message twice in one batch is one
            self.waiting[key] = _Sent(workspace_id, delivery_id, channel, own_smtp, clock.now(), self.record)

    def flush(self) -> None:
        """Meter what waits: one transaction per workspace and period and per ``MAX_MESSAGES`` messages
        (a marker each, conditional, and one counter update for all of them), so a message costs its
        marker's two transactional write units and a share of one counter update, not a transaction of
        its own. A transaction refused (a marker already there: a redelivered record; a concurrent
        transaction on the counter) is metered again message by message (``message_sent`` tells those
        apart); a message that still cannot be metered fails its record."""
        waiting, self.waiting = list(self.waiting.values()), {}
        groups: dict[tuple[str, str], list[_Sent]] = {}
        for sent in waiting:
            groups.setdefault((sent.workspace_id, _period_of(sent.workspace_id, sent.at)[0]), []).append(sent)
        for (workspace_id, period_id), messages in groups.items():
            for start in range(0, len(messages), MAX_MESSAGES):
                self._meter(workspace_id, period_id, messages[start : start + MAX_MESSAGES])

    def _meter(self, workspace_id: str, period_id: str, messages: list[_Sent]) -> None:
        if len(messages) > 1:
            try:
                _messages_sent(workspace_id, period_id, messages)
                return
            except TransactWriteError:
                pass  # one by one below
        for sent in messages:
            try:
                message_sent(sent.workspace_id, sent.delivery_id, sent.channel, own_smtp=sent.own_smtp)
            except PynamoDBException:
                if sent.record not in self.failed:
                    self.failed.append(sent.record)


_pending: ContextVar[PendingMessages | None] = ContextVar("nudge_pending_messages", default=None)
# TransactWriteItems takes 100 items: a marker per message and the one counter shard they are added to.
MAX_MESSAGES = 99


@contextmanager
def batch() -> Iterator[PendingMessages]:
    """Meter the messages reported inside together; ``flush()`` it, then read ``failed``."""
    pending = PendingMessages()
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def handling(record: str) -> None:
    """Inside ``batch()``: the stream record now handled (its sequence number), failed if what it reports
    cannot be metered."""
    pending = _pending.get()
    if pending is not None:
        pending.record = record


def _messages_sent(workspace_id: str, period_id: str, messages: list[_Sent]) -> None:
    """Meter messages of one workspace and period in one transaction: all or none (``TransactWriteError``
    when any was metered already or the counter raced another transaction)."""
    counts = Counter("messages_own_smtp" if m.own_smtp else f"messages_{m.channel}" for m in messages)
    shard = _shard(messages[0].delivery_id)
    usage = Usage(usage_pk(workspace_id, period_id, shard), "usage", workspace_id=workspace_id)
    with transaction(BillingItem) as tx:
        for sent in messages:
            marker = MeteredMessage(
                f"{workspace_id}#message#{sent.delivery_id}",
                "message",
                workspace_id=workspace_id,
                channel=sent.channel,
                at=sent.at,
            )
            tx.save(marker, condition=MeteredMessage.pk.does_not_exist())
        actions = [getattr(Usage, name).add(count) for name, count in sorted(counts.items())]
        tx.update(
            usage, actions=[*actions, Usage.period_id.set(period_id), Usage.workspace_id.set(workspace_id)]
        )


@dataclass(frozen=True)
class PeriodUsage:
    people_created: int = 0
    people_deleted: int = 0
    people_new: int = 0
    objects_created: int = 0
    objects_deleted: int = 0
    objects_new: int = 0
    messages: tuple[tuple[str, int], ...] = ()
    messages_own_smtp: int = 0

    @property
    def billable_messages(self) -> int:
        return sum(count for _, count in self.messages)


def read_usage(workspace_id: str, period_id: str) -> PeriodUsage:
    """Sum the period's counter shards: ``SHARDS`` reads in one batch, whatever the workspace's size."""
    keys = [(usage_pk(workspace_id, period_id, shard), "usage") for shard in range(SHARDS)]
    totals: dict[str, int] = {}
    fields = (
        "people_created",
        "people_deleted",
        "people_new",
        "objects_created",
        "objects_deleted",
        "objects_new",
        "messages_own_smtp",
        *(f"messages_{c}" for c in CHANNELS),
    )
    for item in Usage.batch_get(keys):
        for name in fields:
            totals[name] = totals.get(name, 0) + int(getattr(item, name) or 0)
    return PeriodUsage(
        **{
            k: totals.get(k, 0)
            for k in (
                "people_created",
                "people_deleted",
                "people_new",
                "objects_created",
                "objects_deleted",
                "objects_new",
                "messages_own_smtp",
            )
        },
        messages=tuple((c, totals.get(f"messages_{c}", 0)) for c in CHANNELS),
    )
