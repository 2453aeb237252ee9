"""From data changes to journeys: the evaluate function's campaigns consumer, and the date-trigger sweep.

Each change names the trigger index keys it can fire (``event#<name>``, ``segment#<id>``,
``attribute#<name>``, ``date#<attribute>``), and each key costs one query of the trigger index
(``store.active_for``): a change no active campaign listens to costs that query and nothing else, never a
scan of campaigns.

- An event a person performed (events INSERT) enters the campaigns triggered by its name whose trigger
  filters match its data, if it is timestamped within the last 72 hours (Customer.io's rule, so a
  backfill of old events does not start journeys) and arrived after the campaign was activated.
- A segment membership written (segments INSERT) is a segment entry, one deleted (REMOVE) an exit.
- A profile written (people INSERT / MODIFY) fires ``attribute_change`` campaigns for each attribute whose
  value changed (to the trigger's ``to`` value, when it names one), and (re)schedules the person's
  ``date_attribute`` triggers: a :class:`DateTrigger` at the attribute's time plus the offset, moved when
  the attribute changes, deleted when it is removed or the moment has passed.

Trigger ids, which name the execution, come from the change's own data so a redelivered record gives the
same id: the event's id; the membership's ``entered_at``; a hash of the attribute's new value and the
profile's ``updated_at``; a date trigger's due time. A deleted person needs nothing here: their
memberships' removals arrive as exits, and ``executions.enter`` starts nothing for a missing profile.

The date sweep works like the segment re-checks (:mod:`nudge.segments.rechecks`): the due items are
indexed by due minute (``by_due``, ``SHARDS`` keys a minute), a bookmark remembers the last minute swept,
and a sweep that was down catches up however long it was down (``nudge.sweep_window``). A trigger that
cannot start is moved to the next minute and tried again until ``MAX_RETRY_SECONDS`` after it was due,
then given up with an error log, so one broken trigger never holds the bookmark back. A due item fires
only when it still says what was read (the attribute may have moved it meanwhile), and it is consumed
after its journey was started: a crash in between fires it again, under the same trigger id, which starts
nothing new.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import zlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from nudge import batch_reads, clock, sweep_window
from nudge.campaigns import executions, store
from nudge.errors import NotFound
from nudge.model import EventItem, Membership, Person
from nudge.model.base import condition_failed, plain
from nudge.model.campaigns import CampaignsItem, DateTrigger
from nudge.segments.condition_eval import FieldsOnly, evaluate
from nudge.segments.condition_types import MAX_TIMESTAMP
from nudge.segments.conditions import Condition, ConditionError, EventCondition, parse
from nudge.segments.context import StoredPerson
from nudge.stream_changes.changes import Change
from nudge.tracking.people import to_view

log = logging.getLogger(__name__)

EVENT_MAX_AGE_SECONDS = 72 * 3600
SHARDS = 4
DUE_SK = "due"
MAX_RETRY_SECONDS = 24 * 3600  # a date trigger that keeps failing to start is tried this long
_STATE_PK, _STATE_SK = "_system#date-sweep", "state"


# --- the store's trigger index (a seam: tests replace these two) ---------------------------------------


def listened_keys(workspace_id: str) -> frozenset[str]:
    """Every key an active campaign listens to: ``store.listened_keys`` (one query)."""
    # Once per stream batch: every profile record of a batch asks it (see nudge.batch_reads).
    return batch_reads.cached(("listened_keys", workspace_id), lambda: store.listened_keys(workspace_id))


def active_for(workspace_id: str, key: str) -> list[dict[str, Any]]:
    """Active campaigns listening to ``key``: ``store.active_for``."""
    found = batch_reads.cached(
        ("active_for", workspace_id, key), lambda: tuple(store.active_for(workspace_id, key))
    )
    return [dict(campaign) for campaign in found]  # copies: a caller's change stays its own


def load_campaign(workspace_id: str, campaign_id: str) -> dict[str, Any] | None:
    """One campaign as ``active_for`` describes it (with ``state``), None when gone: ``store.get``."""
    try:
        found = store.get(workspace_id, campaign_id)
    except NotFound:
        return None
    return dict(found) if found is not None else None


# --- the consumer -----------------------------------------------------------------------------------


def on_change(change: Change) -> None:
    """The evaluate function's consumer: idempotent, as every consumer must be."""
    item = change.item
    if isinstance(item, EventItem):
        if change.event_name == "INSERT" and item.cio_id:
            _event(change.workspace_id, item)
    elif isinstance(item, Membership):
        if change.event_name in ("INSERT", "REMOVE"):
            _membership(change.workspace_id, item, entered=change.event_name == "INSERT")
    elif isinstance(item, Person) and isinstance(change.new, Person):
        _profile(change.workspace_id, change.old if isinstance(change.old, Person) else None, change.new)


def _event(workspace_id: str, event: EventItem) -> None:
    now = clock.now()
    timestamp = int(event.timestamp)
    if now - timestamp > EVENT_MAX_AGE_SECONDS:
        return
    data = plain(event.data)
    assert event.cio_id is not None  # checked by the caller: anonymous events trigger nothing
    for campaign in active_for(workspace_id, f"event#{event.name}"):
        trigger = campaign.get("trigger") or {}
        if trigger.get("type") != "event" or trigger.get("name") != event.name:
            continue
        if event.type != trigger.get("event_type", "event"):
            continue  # page views and screens are not events
        if int(event.received_at) < int(campaign.get("activated_at") or 0):
            continue  # sent before the campaign was active, delivered late
        if not event_filters_match(trigger.get("filters"), data, now):
            continue
        executions.enter(
            workspace_id,
            campaign,
            event.cio_id,
            {"type": "event", "name": event.name, "id": event.event_id, "timestamp": timestamp, "data": data},
            str(event.event_id),
            now,
        )


def _membership(workspace_id: str, membership: Membership, *, entered: bool) -> None:
    kind = "segment_entry" if entered else "segment_exit"
    segment_id = str(membership.segment_id)
    entered_at = int(membership.entered_at)
    for campaign in active_for(workspace_id, f"segment#{segment_id}"):
        trigger = campaign.get("trigger") or {}
        if trigger.get("type") != kind or str(trigger.get("segment_id")) != segment_id:
            continue
        executions.enter(
            workspace_id,
            campaign,
            membership.cio_id,
            {"type": kind, "segment_id": segment_id, "entered_at": entered_at},
            membership_trigger_id(kind, entered_at),
            clock.now(),
        )


def membership_trigger_id(kind: str, entered_at: int) -> str:
    """One membership's entry or exit: its ``entered_at`` tells memberships of one person apart (the exit
    reads it from the removed item's old image)."""
    return f"{'entry' if kind == 'segment_entry' else 'exit'}-{entered_at}"


def _profile(workspace_id: str, old: Person | None, new: Person) -> None:
    before = _attributes(old) if old is not None else {}
    after = _attributes(new)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    if not changed:
        return
    listened = listened_keys(workspace_id)
    changed = [n for n in changed if f"attribute#{n}" in listened or f"date#{n}" in listened]
    if not changed:
        return
    now = clock.now()
    for name in changed:
        value = after.get(name)
        for campaign in active_for(workspace_id, f"attribute#{name}"):
            trigger = campaign.get("trigger") or {}
            if trigger.get("type") != "attribute_change" or trigger.get("attribute") != name:
                continue
            wanted = trigger.get("to")
            if wanted is not None and not value_equals(value, wanted, now):
                continue
            executions.enter(
                workspace_id,
                campaign,
                new.cio_id,
                {"type": "attribute_change", "attribute": name, "previous": before.get(name), "value": value},
                attribute_trigger_id(value, int(new.updated_at)),
                now,
            )
        for campaign in active_for(workspace_id, f"date#{name}"):
            trigger = campaign.get("trigger") or {}
            if trigger.get("type") == "date_attribute" and trigger.get("attribute") == name:
                reschedule(workspace_id, str(campaign["id"]), new.cio_id, due_at(value, trigger), now)


def _attributes(person: Person) -> dict[str, Any]:
    """The profile's attributes as conditions see them: identifiers and ``created_at`` folded in."""
    view = to_view(person)
    return {**view["attributes"], "created_at": view["created_at"]}


def attribute_trigger_id(value: Any, updated_at: int) -> str:
    text = json.dumps([_jsonable(value), updated_at], sort_keys=True)
    return "attr-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


# --- conditions over a plain map -------------------------------------------------------------------


def event_filters_match(filters: Any, data: dict[str, Any], now: int) -> bool:
    """An event trigger's filters over the event's data, exactly as an event condition's ``filters``."""
    if not filters:
        return True
    try:
        condition = _event_filters(json.dumps(filters, sort_keys=True))
    except ConditionError:
        log.error("event trigger filters do not parse", exc_info=True)
        return False
    return condition is None or evaluate(condition, FieldsOnly(data, now)).matched


@lru_cache(maxsize=256)
def _event_filters(text: str) -> Condition | None:
    # Parsed as an event condition's filters, the same entry point the definition validated them with.
    parsed = parse({"event": {"name": "trigger", "filters": json.loads(text)}})
    return parsed.filters if isinstance(parsed, EventCondition) else None


def value_equals(value: Any, wanted: Any, now: int) -> bool:
    """``eq`` as conditions compare (so "10" equals 10, true equals "true")."""
    condition = parse({"attribute": {"field": "value", "operator": "eq", "value": wanted}})
    return evaluate(condition, FieldsOnly({"value": value}, now)).matched


# --- date triggers ----------------------------------------------------------------------------------


def due_at(value: Any, trigger: dict[str, Any]) -> int | None:
    """When a date trigger fires for this attribute value: the timestamp plus the offset, None when the
    value is not a timestamp (unix seconds, a number or a numeric string)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value)) if isinstance(value, str | int | float | Decimal) else None
    except ArithmeticError:
        return None
    if number is None or not number.is_finite() or not 0 <= number <= MAX_TIMESTAMP:
        return None
    return math.floor(number) + int(trigger.get("offset_seconds") or 0)


def date_pk(workspace_id: str, campaign_id: str, cio_id: str) -> str:
    return executions.journey_pk(workspace_id, campaign_id, cio_id)


def _bucket(due: int, shard: int) -> str:
    return f"{due // 60}#{shard}"


def _due_key(due: int, workspace_id: str, campaign_id: str, cio_id: str) -> str:
    return f"{due:012d}#{workspace_id}#{campaign_id}#{cio_id}"


def reschedule(workspace_id: str, campaign_id: str, cio_id: str, due: int | None, now: int) -> None:
    """Put the person's date trigger at ``due``; remove it when there is no due time or it has passed."""
    if due is None or due <= now:
        unschedule(workspace_id, campaign_id, cio_id)
        return
    shard = zlib.crc32(f"{cio_id}#{campaign_id}".encode()) % SHARDS
    DateTrigger(
        date_pk(workspace_id, campaign_id, cio_id),
        DUE_SK,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        cio_id=cio_id,
        due_at=due,
        due_bucket=_bucket(due, shard),
        due_key=_due_key(due, workspace_id, campaign_id, cio_id),
    ).save()


def unschedule(workspace_id: str, campaign_id: str, cio_id: str) -> None:
    DateTrigger(date_pk(workspace_id, campaign_id, cio_id), DUE_SK).delete()


def scheduled(workspace_id: str, campaign_id: str, cio_id: str) -> int | None:
    """The person's pending date trigger's due time, if any."""
    try:
        item = DateTrigger.get(date_pk(workspace_id, campaign_id, cio_id), DUE_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return int(item.due_at)


@dataclass(frozen=True)
class Due:
    workspace_id: str
    campaign_id: str
    cio_id: str
    due_at: int
    due_key: str


def _due_between(minutes: range, now: int) -> list[Due]:
    found = []
    for minute in minutes:
        for shard in range(SHARDS):
            for item in CampaignsItem.by_due.query(
                f"{minute}#{shard}", CampaignsItem.due_key <= f"{now:012d}#~"
            ):
                due, workspace_id, campaign_id, cio_id = str(item.due_key).split("#", 3)
                found.append(Due(workspace_id, campaign_id, cio_id, int(due), str(item.due_key)))
    return found


def sweep_dates(now: int | None = None) -> int:
    """Fire every date trigger due up to ``now``; returns how many started a journey."""
    now = clock.now() if now is None else now
    window = sweep_window.window(_last_swept_minute(), now)
    campaigns: dict[tuple[str, str], dict[str, Any] | None] = {}
    fired = 0
    for due in _due_between(window.minutes, now):
        key = (due.workspace_id, due.campaign_id)
        try:
            if key not in campaigns:
                campaigns[key] = load_campaign(*key)
            if _fire(due, campaigns[key], now):
                fired += 1
        except Exception:
            # One trigger that cannot start (Step Functions throttling, a broken campaign) must not hold
            # up the others: it is tried again next minute, for a while.
            log.exception("date trigger not fired", extra={"campaign_id": due.campaign_id})
            _retry_later(due, now)
            continue
        _consume(due)
    _save_last_swept_minute(window.bookmark())
    return fired


def _fire(due: Due, campaign: dict[str, Any] | None, now: int) -> bool:
    if campaign is None or campaign.get("state", "active") != "active":
        return False
    trigger = campaign.get("trigger") or {}
    if trigger.get("type") != "date_attribute":
        return False
    person = StoredPerson.load(due.workspace_id, due.cio_id)
    if person is None:
        return False
    attribute = str(trigger.get("attribute"))
    # The index may lag the item, and the attribute may have moved since: fire only what is still true.
    if due_at(person.attributes.get(attribute), trigger) != due.due_at:
        return False
    return executions.enter(
        due.workspace_id,
        campaign,
        due.cio_id,
        {"type": "date_attribute", "attribute": attribute, "at": due.due_at},
        str(due.due_at),
        now,
        person=person,
    ).started


def _retry_later(due: Due, now: int) -> None:
    """Move a trigger that could not start to the next minute's bucket (its due time, which names the
    journey, stays), or give it up once it is ``MAX_RETRY_SECONDS`` overdue."""
    if now - due.due_at >= MAX_RETRY_SECONDS:
        log.error("date trigger given up", extra={"campaign_id": due.campaign_id, "due_at": due.due_at})
        _consume(due)
        return
    item = DateTrigger(date_pk(due.workspace_id, due.campaign_id, due.cio_id), DUE_SK)
    shard = zlib.crc32(f"{due.cio_id}#{due.campaign_id}".encode()) % SHARDS
    try:
        item.update(
            actions=[DateTrigger.due_bucket.set(_bucket(now + 60, shard))],
            condition=DateTrigger.due_key == due.due_key,  # unless the attribute moved it meanwhile
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise


def _consume(due: Due) -> None:
    """Delete the date trigger unless it was moved meanwhile (then the newer one stands)."""
    try:
        DateTrigger(date_pk(due.workspace_id, due.campaign_id, due.cio_id), DUE_SK).delete(
            condition=DateTrigger.due_key == due.due_key
        )
    except DeleteError as exc:
        if not condition_failed(exc):
            raise


def _last_swept_minute() -> int | None:
    try:
        return int(DateTrigger.get(_STATE_PK, _STATE_SK, consistent_read=True).due_at)
    except DoesNotExist:
        return None


def _save_last_swept_minute(last_minute: int) -> None:
    # The sweep's own bookmark: the one item not scoped to a workspace, because the sweep serves all.
    DateTrigger(
        _STATE_PK,
        _STATE_SK,
        workspace_id="_system",
        campaign_id="_system",
        cio_id="_system",
        due_at=last_minute,
    ).save()
