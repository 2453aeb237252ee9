"""Broadcasts: API-triggered (``POST /v1/campaigns/{id}/triggers``), one-time sends to a segment, and the
current members of a segment entering a campaign on activation, fanned out a page at a time.

A trigger request is validated and stored, then answered at once with its id; the fan-out runs in the
broadcast state machine (:mod:`nudge.campaigns.broadcast_machine`), whose Task calls :func:`page_step`
(campaigns function action ``broadcast_page``) once per page of ``PAGE`` recipients, pausing between pages
(the rate limit). Why a paging loop and not a Distributed Map: moto cannot run a Distributed Map or its
ItemReader, so nothing could run a broadcast locally, and a page of 100 costs about three state
transitions. Each page resolves its recipients (creating people for unknown ids and emails, as
Customer.io does, unless ``id_ignore_missing`` / ``email_ignore_missing``), starts their journeys through
:func:`nudge.campaigns.executions.enter` (the execution name, from the broadcast's id and the person,
makes a page run twice start nothing twice) and records its counts and per-recipient errors.

Request body (Customer.io's shape): ``data`` (optional object, ``trigger.*`` in templates) and exactly one
of ``recipients`` (``{"segment": {"id": ...}}`` or an and/or/not filter: segment conditions, where
``{"segment": {"id": 7}}`` means membership), ``ids``, ``emails`` or ``per_user_data``
(``[{"id"|"email": ..., "data": {...}}]``, merged over ``data`` per person); at most ``MAX_RECIPIENTS``
of them. The request is kept on the broadcast (``BroadcastRequest``) for its pages to read, so the body
is capped at ``MAX_BODY_BYTES`` (300 KB) to fit a DynamoDB item (400 KB) with room to spare: 10,000 ids
fit, 10,000 long emails or ``per_user_data`` with much data may not (the request is then refused, 400).

Counts: each page moves the stored cursor on, compare-and-set, in one transaction with its counts, so a
page whose Task Step Functions runs again (a lost answer, a Retry) is counted once; ``started`` counts the
journeys a page itself started, so a page attempt that failed midway leaves the ones it did start
uncounted (their retry finds them started).

Status: ``queued`` (stored, the machine not yet at its first page), ``running``, ``done``, ``failed``
(the campaign was archived or deleted meanwhile). While the campaign is paused, or a one-time broadcast's
``send_at`` has not come, pages wait (``wait_seconds``) and check again.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action

from nudge import clock
from nudge.campaigns import direct_sends, executions, newsletters, step_functions, trigger_request, triggers
from nudge.campaigns.trigger_request import MAX_BODY_BYTES as MAX_BODY_BYTES  # the bounds the docstring
from nudge.campaigns.trigger_request import MAX_RECIPIENTS as MAX_RECIPIENTS  # names, declared there
from nudge.delivery import settings as delivery_settings
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model import Person
from nudge.model.base import condition_failed, plain, transaction
from nudge.model.campaigns import Broadcast, BroadcastRequest, CampaignsItem
from nudge.model.people import PROFILE_SHARDS
from nudge.model.segments import members_page
from nudge.segments import definitions
from nudge.segments.condition_eval import evaluate
from nudge.segments.conditions import (
    ConditionError,
    SegmentCondition,
    SegmentOperator,
    parse,
    referenced_segments,
    to_json,
)
from nudge.segments.context import StoredPerson
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef

PAGE = 100
MAX_DIRECT_PAGE = 1000  # a one-send page's people at most (its conditional puts, well within a Task's time)
MAX_ERRORS = 100  # kept per broadcast; the total is counted
PAUSED_RECHECK_SECONDS = 3600  # a paused campaign's broadcast looks again this often
MAX_SCHEDULED_WAIT_SECONDS = 3600  # a scheduled send re-reads send_at (it may have moved) this often
SK, REQUEST_SK = "broadcast", "request"
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
API_KINDS = ("ids", "emails", "per_user_data", "segment", "filter")
# Broadcasts proper (not a segment entry campaign's current members, whose entries follow the frequency
# rules on journeys): a one-send campaign's page queues their messages without executions.
DIRECT_KINDS = API_KINDS


def broadcast_pk(workspace_id: str, campaign_id: str, trigger_id: str) -> str:
    return f"{workspace_id}#c#{campaign_id}#broadcast#{trigger_id}"


# --- triggering ----------------------------------------------------------------------------------


def trigger(workspace_id: str, campaign_id: str, body: dict[str, Any]) -> str:
    """Validate and store an API-triggered broadcast, start its fan-out; its trigger id."""
    spec = parse_request(workspace_id, body)
    campaign = _active_campaign(workspace_id, campaign_id)
    if (campaign.get("trigger") or {}).get("type") != "api":
        raise Conflict(f"campaign {campaign_id} is not API-triggered")
    trigger_id = secrets.token_hex(8)
    _create(workspace_id, campaign_id, trigger_id, spec)
    _start(workspace_id, campaign_id, trigger_id)
    return trigger_id


def enter_current_members(workspace_id: str, campaign_id: str) -> str | None:
    """On activation: the fan-out a campaign's trigger asks for, its trigger id (None: nothing to do).

    - ``segment_entry`` (call it when the audience is ``current_and_future``): the segment's current
      members enter, each under the trigger id its membership's stream record would give, so a member
      whose entry the stream also delivers enters once;
    - ``broadcast``: the segment's members at ``send_at`` (or now), once per campaign;
    - ``date_attribute``: every person's date trigger is scheduled from their current attribute.

    Once per activation: a repeated call finds the broadcast and starts nothing new."""
    campaign = _active_campaign(workspace_id, campaign_id)
    trigger = campaign.get("trigger") or {}
    kind = trigger.get("type")
    if kind == "segment_entry":
        spec = {"kind": "members", "segment_id": str(trigger["segment_id"])}
        salt = str(campaign.get("activated_at"))
    elif kind == "broadcast":
        spec = {"kind": "segment", "segment_id": str(trigger["segment_id"])}
        salt = "once"  # a one-time broadcast goes out once, whatever happens to the campaign later
    elif kind == "date_attribute":
        spec = {"kind": "dates"}
        salt = str(campaign.get("activated_at"))
    else:
        return None
    digest = hashlib.sha256(json.dumps([workspace_id, campaign_id, kind, salt]).encode()).hexdigest()
    trigger_id = f"a{digest[:23]}"
    if _create(workspace_id, campaign_id, trigger_id, spec, exist_ok=True):
        _start(workspace_id, campaign_id, trigger_id)
    return trigger_id


def fan_out(workspace_id: str, campaign_id: str, trigger_id: str, spec: dict[str, Any]) -> bool:
    """Store a broadcast of ``spec`` (a recipient spec as ``parse_request`` makes, or a newsletter's) and
    start its fan-out; False when that trigger id already had one (nothing is started twice)."""
    if not _create(workspace_id, campaign_id, trigger_id, spec, exist_ok=True):
        return False
    _start(workspace_id, campaign_id, trigger_id)
    return True


def status_of(workspace_id: str, campaign_id: str, trigger_id: str) -> str | None:
    """The broadcast's status (queued, running, done, failed), None when there is none."""
    try:
        return _load(workspace_id, campaign_id, trigger_id)[0].status
    except NotFound:
        return None


def _target(workspace_id: str, campaign_id: str) -> dict[str, Any] | None:
    """What a page sends for: the campaign, or a newsletter read as one."""
    if newsletters.is_newsletter(campaign_id):
        return newsletters.as_campaign(workspace_id, campaign_id)
    return triggers.load_campaign(workspace_id, campaign_id)


def _active_campaign(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    campaign = triggers.load_campaign(workspace_id, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    if campaign.get("state") != "active":
        raise Conflict(f"campaign {campaign_id} is {campaign.get('state')}, not active")
    return campaign


def _create(
    workspace_id: str, campaign_id: str, trigger_id: str, spec: dict[str, Any], *, exist_ok: bool = False
) -> bool:
    """Store the broadcast and its request (both or neither); False when it existed and ``exist_ok``."""
    now = clock.now()
    pk = broadcast_pk(workspace_id, campaign_id, trigger_id)
    status = Broadcast(
        pk,
        SK,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        trigger_id=trigger_id,
        status=QUEUED,
        created_at=now,
        updated_at=now,
    )
    request = BroadcastRequest(
        pk,
        REQUEST_SK,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        trigger_id=trigger_id,
        request_json=json.dumps(spec, separators=(",", ":")),
    )
    try:
        with transaction(CampaignsItem) as tx:
            tx.save(status, condition=Broadcast.pk.does_not_exist())
            tx.save(request, condition=BroadcastRequest.pk.does_not_exist())
    except TransactWriteError as exc:
        reasons = getattr(exc, "cancellation_reasons", None) or []
        if exist_ok and any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            return False
        raise
    return True


def _start(workspace_id: str, campaign_id: str, trigger_id: str) -> None:
    port = step_functions.get()
    payload = {
        "workspace_id": workspace_id,
        "campaign_id": campaign_id,
        "trigger_id": trigger_id,
        "cursor": None,
    }
    try:
        port.start(port.broadcast_machine_arn(), f"broadcast-{trigger_id}", payload)
    except Exception:
        _fail(workspace_id, campaign_id, trigger_id, "the fan-out could not be started")
        raise


# --- the request ------------------------------------------------------------------------------------


def parse_request(workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body as a stored recipient spec (``trigger_request``), or InvalidRequest naming the field."""
    return trigger_request.read(body, lambda value: _recipients(workspace_id, value))


def _recipients(workspace_id: str, value: Any) -> dict[str, Any]:
    """``{"segment": {"id"}}`` (a segment's members), or a filter over everyone in the workspace. The
    condition parser reads Customer.io's ``{"segment": {"id": 7}}`` (a number or a string, no operator)."""
    if not isinstance(value, dict):
        raise InvalidRequest("recipients must be an object", field="recipients")
    try:
        condition = parse(value)
    except ConditionError as exc:
        path = f"recipients.{exc.path}" if exc.path else "recipients"
        raise InvalidRequest(f"{path}: {exc.message}", field=path, reason=exc.rule) from exc
    for segment_id in sorted(referenced_segments(condition)):
        _known_segment(workspace_id, segment_id)  # another workspace's segment is unknown here
    if isinstance(condition, SegmentCondition) and condition.operator is SegmentOperator.IN:
        return {"kind": "segment", "segment_id": condition.segment_id}
    return {"kind": "filter", "condition": to_json(condition)}


def _known_segment(workspace_id: str, segment_id: str) -> None:
    try:
        definitions.load(workspace_id, segment_id)
    except NotFound as exc:
        raise InvalidRequest(f"segment {segment_id} not found", field="recipients.segment.id") from exc


# --- the fan-out ------------------------------------------------------------------------------------


@dataclass
class _Page:
    """One page's outcome: who to enter and what went wrong."""

    entries: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # cio_id, trigger, id
    people: dict[str, StoredPerson] = field(default_factory=dict)  # already loaded, by cio_id
    errors: dict[str, str] = field(default_factory=dict)  # identifier -> reason
    recipients: int = 0
    scheduled: int = 0
    cursor: str | None = None
    skipped: Counter[str] = field(default_factory=Counter)  # recipients who started no journey, by reason


@dataclass(frozen=True)
class _PageQuery:
    """What a resolver reads the next page of a broadcast's recipients for (each takes what it needs)."""

    workspace_id: str
    campaign: dict[str, Any]
    trigger_id: str
    spec: dict[str, Any]
    cursor: str | None
    now: int
    size: int = PAGE


class InvalidPageTask(ValueError):
    """The broadcast machine's Task payload does not name a broadcast (the machine was not built here)."""


@dataclass(frozen=True)
class PageTask:
    """The broadcast machine's Task payload: which broadcast, and where its next page starts."""

    workspace_id: str
    campaign_id: str
    trigger_id: str
    cursor: str | None  # the last member of the page before; None for the first page

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> PageTask:
        names = ("workspace_id", "campaign_id", "trigger_id")
        missing = [name for name in names if event.get(name) in (None, "")]
        if missing:
            raise InvalidPageTask(f"the broadcast page task has no {', '.join(missing)}")
        cursor = event.get("cursor")
        return cls(
            workspace_id=str(event["workspace_id"]),
            campaign_id=str(event["campaign_id"]),
            trigger_id=str(event["trigger_id"]),
            cursor=None if cursor is None else str(cursor),
        )


def page_step(event: dict[str, Any]) -> dict[str, Any]:
    """The campaigns function's ``broadcast_page`` action: the machine's state for its next turn."""
    task = PageTask.parse(event)
    result = page(task.workspace_id, task.campaign_id, task.trigger_id, task.cursor)
    return {
        "workspace_id": task.workspace_id,
        "campaign_id": task.campaign_id,
        "trigger_id": task.trigger_id,
        **result,
    }


def page(workspace_id: str, campaign_id: str, trigger_id: str, cursor: str | None) -> dict[str, Any]:
    """Run the page that starts at ``cursor``: ``{"cursor": next or None, "started": n, "done": bool,
    "wait_seconds": n}`` (``wait_seconds`` > 0: nothing ran, look again after that long)."""
    status, request = _load(workspace_id, campaign_id, trigger_id)
    if status.status in (DONE, FAILED):
        return _result(None, 0, done=True)
    campaign = _target(workspace_id, campaign_id)
    state = None if campaign is None else campaign.get("state")
    if campaign is None or state not in ("active", "paused"):
        _fail(workspace_id, campaign_id, trigger_id, f"the campaign is {state or 'deleted'}")
        return _result(None, 0, done=True)
    if state == "paused":
        return _result(cursor, 0, wait=PAUSED_RECHECK_SECONDS)
    spec = json.loads(request.request_json)
    now = clock.now()
    send_at = (
        (campaign.get("trigger") or {}).get("send_at")
        if campaign["trigger"].get("type") == "broadcast"
        else None
    )
    due = max(send_at or 0, spec.get("not_before") or 0)
    if due > now:
        # A one-time broadcast's send_at, or an A/B test's rest waiting for the test's time to pass.
        return _result(cursor, 0, wait=max(1, clock.real_seconds(min(due - now, MAX_SCHEDULED_WAIT_SECONDS))))
    if (request.cursor or None) != (cursor or None):
        # This page already ran (its answer was lost and Step Functions ran the Task again): go on from
        # where it got to, counting nothing twice.
        return _result(request.cursor, 0, done=request.cursor is None and status.status == DONE)
    plan = direct_sends.plan(campaign, _with_winner(request, spec)) if spec["kind"] in DIRECT_KINDS else None
    rate = delivery_settings.load(workspace_id).sending_rate
    # A page that queues its messages itself takes a second's worth at the sending rate (pages pause at
    # least a second); one that starts executions stays at PAGE, each start being a call of its own.
    size = min(MAX_DIRECT_PAGE, max(PAGE, rate)) if plan is not None else PAGE
    found = _RESOLVERS[spec["kind"]](_PageQuery(workspace_id, campaign, trigger_id, spec, cursor, now, size))
    if plan is not None:
        # No execution per person: the page queues the messages itself (direct_sends says why).
        entries = direct_sends.queue_page(workspace_id, campaign, plan, found.entries, found.people, now)
    else:
        entries = [
            executions.enter(
                workspace_id, campaign, cio_id, trigger, entry_id, now, person=found.people.get(cio_id)
            )
            for cio_id, trigger, entry_id in found.entries
        ]
    started = sum(entry.started for entry in entries)
    found.skipped = Counter(entry.skipped for entry in entries if entry.skipped is not None)
    if not _commit(status, request, cursor, found, started, now):
        fresh = _load(workspace_id, campaign_id, trigger_id)[1]
        return _result(fresh.cursor, 0)

    # A page that sent nothing (a shard of the people-by-workspace index with nobody matching) needs no
    # pause: a filter over a small workspace would otherwise wait a second per shard.
    pause = max(1, math.ceil(started / rate)) if started else 0
    return _result(found.cursor, started, done=found.cursor is None, pause=pause)


def _with_winner(request: BroadcastRequest, spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with its A/B test's winning block (``winner_of``: the metric and the variants' blocks),
    decided by the first page that runs and kept on the request, so every page sends the same one."""
    contest = spec.get("winner_of")
    if not contest:
        return spec
    if request.winner is None:
        decided = direct_sends.winner(
            request.workspace_id, request.campaign_id, list(contest["blocks"]), str(contest["metric"])
        )
        try:
            request.update(
                actions=[BroadcastRequest.winner.set(decided)],
                condition=BroadcastRequest.winner.does_not_exist(),
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            request.refresh(consistent_read=True)  # another run of this page decided first
    return {**spec, "winner_block": request.winner}


def _result(
    cursor: str | None, started: int, *, done: bool = False, wait: int = 0, pause: int = 1
) -> dict[str, Any]:
    """``pause_seconds``: how long the machine waits before the next page, so the broadcast starts no
    more journeys per second than the workspace's sending rate."""
    return {"cursor": cursor, "started": started, "done": done, "wait_seconds": wait, "pause_seconds": pause}


def _load(workspace_id: str, campaign_id: str, trigger_id: str) -> tuple[Broadcast, BroadcastRequest]:
    status = request = None
    for item in CampaignsItem.query(
        broadcast_pk(workspace_id, campaign_id, trigger_id), consistent_read=True
    ):
        if isinstance(item, Broadcast):
            status = item
        elif isinstance(item, BroadcastRequest):
            request = item
    if status is None or request is None:
        raise NotFound(f"trigger {trigger_id} of campaign {campaign_id} not found")
    return status, request


def _commit(
    status: Broadcast, request: BroadcastRequest, cursor: str | None, found: _Page, started: int, now: int
) -> bool:
    """Move the cursor on (if nobody did: a page is counted once) with the page's counts, atomically."""
    room = max(0, MAX_ERRORS - len(plain(status.errors)))
    kept = dict(sorted(found.errors.items())[:room])
    actions: list[Action] = [
        Broadcast.status.set(DONE if found.cursor is None else RUNNING),
        Broadcast.recipients.add(found.recipients),
        Broadcast.started.add(started),
        Broadcast.updated_at.set(now),
        *(Broadcast.errors[identifier].set(reason) for identifier, reason in kept.items()),
    ]
    if found.skipped:
        # The whole map from the status read: pages commit one after another (the cursor condition), so
        # nothing else writes it meanwhile; and a broadcast stored before the map existed gets one.
        skipped = Counter({k: int(v) for k, v in plain(status.skipped).items()}) + found.skipped
        actions.append(Broadcast.skipped.set(dict(skipped)))
    moved: list[Action] = [
        BroadcastRequest.cursor.set(found.cursor)
        if found.cursor is not None
        else BroadcastRequest.cursor.remove(),
        BroadcastRequest.error_count.add(len(found.errors)),
    ]
    was = BroadcastRequest.cursor.does_not_exist() if cursor is None else BroadcastRequest.cursor == cursor
    try:
        with transaction(CampaignsItem) as tx:
            tx.update(request, actions=moved, condition=was)
            tx.update(status, actions=actions)
    except TransactWriteError as exc:
        reasons = getattr(exc, "cancellation_reasons", None) or []
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
            return False
        raise
    return True


def _fail(workspace_id: str, campaign_id: str, trigger_id: str, reason: str) -> None:
    pk = broadcast_pk(workspace_id, campaign_id, trigger_id)
    Broadcast(pk, SK).update(
        actions=[
            Broadcast.status.set(FAILED),
            Broadcast.errors["broadcast"].set(reason),
            Broadcast.updated_at.set(clock.now()),
        ]
    )


# --- resolving a page of recipients ----------------------------------------------------------------


def _listed(query: _PageQuery) -> _Page:
    """``ids``, ``emails``, ``per_user_data``: the next ``PAGE`` entries of the list."""
    workspace_id, trigger_id, spec, cursor, size = (
        query.workspace_id,
        query.trigger_id,
        query.spec,
        query.cursor,
        query.size,
    )
    start = int(cursor or 0)
    values = spec["values"][start : start + size]
    found = _Page(
        recipients=len(values), cursor=str(start + size) if start + size < len(spec["values"]) else None
    )
    for value in values:
        extra: dict[str, Any] = {}
        if spec["kind"] == "ids":
            ref = PersonRef("id", value)
        elif spec["kind"] == "emails":
            ref = PersonRef("email", value)
        else:
            ref = PersonRef("id", value["id"]) if "id" in value else PersonRef("email", value["email"])
            extra = value.get("data") or {}
        ignore = spec.get("id_ignore_missing") if ref.kind == "id" else spec.get("email_ignore_missing")
        cio_id = (
            people.resolve_cio_id(workspace_id, ref) if ignore else people.find_or_create(workspace_id, ref)
        )
        if cio_id is None:
            found.errors[ref.value] = "not found" if ignore else "suppressed"
            continue
        found.entries.append(
            (cio_id, _api_trigger(trigger_id, {**spec.get("data", {}), **extra}), trigger_id)
        )
    return found


def _api_trigger(trigger_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "api", "trigger_id": trigger_id, "data": data}


def _members(query: _PageQuery) -> _Page:
    """A segment's members, a page at a time in cio_id order: an API broadcast to a segment, a one-time
    broadcast, or (``members``) a segment entry campaign's current members."""
    workspace_id, campaign, trigger_id, spec, cursor, size = (
        query.workspace_id,
        query.campaign,
        query.trigger_id,
        query.spec,
        query.cursor,
        query.size,
    )
    segment_id = str(spec["segment_id"])
    members, next_cursor = members_page(workspace_id, segment_id, after=cursor, limit=size)
    found = _Page(recipients=len(members))
    found.cursor = next_cursor
    kind = (campaign.get("trigger") or {}).get("type")
    for member in members:
        if spec["kind"] == "members":
            entered_at = int(member.entered_at)
            trigger = {"type": "segment_entry", "segment_id": segment_id, "entered_at": entered_at}
            found.entries.append(
                (member.cio_id, trigger, triggers.membership_trigger_id("segment_entry", entered_at))
            )
        elif kind == "broadcast":
            found.entries.append((member.cio_id, {"type": "broadcast", "trigger_id": trigger_id}, trigger_id))
        else:
            found.entries.append((member.cio_id, _api_trigger(trigger_id, spec.get("data", {})), trigger_id))
    return found


def _profiles(workspace_id: str, cursor: str | None, size: int = PAGE) -> tuple[list[Person], str | None]:
    """A page of the workspace's profiles (the people-by-workspace index, shard after shard)."""
    position: dict[str, Any] = json.loads(cursor) if cursor else {"shard": 0, "key": None}
    shard, start = int(position["shard"]), position["key"]
    result = Person.by_workspace.query(
        f"{workspace_id}#{shard}", limit=size, last_evaluated_key=start, page_size=size
    )
    keys = [(item.pk, item.sk) for item in result]
    profiles = [p for p in Person.batch_get(keys) if isinstance(p, Person)] if keys else []
    following = result.last_evaluated_key
    if following is None:
        shard, following = shard + 1, None
    after = None if shard >= PROFILE_SHARDS else json.dumps({"shard": shard, "key": following})
    return sorted(profiles, key=lambda p: str(p.cio_id)), after


def _filtered(query: _PageQuery) -> _Page:
    """Everyone in the workspace matching the request's filter (a newsletter to everyone has none)."""
    workspace_id, trigger_id, spec, cursor, now, size = (
        query.workspace_id,
        query.trigger_id,
        query.spec,
        query.cursor,
        query.now,
        query.size,
    )
    condition = parse(spec["condition"]) if spec.get("condition") is not None else None
    profiles, after = _profiles(workspace_id, cursor, size)
    found = _Page(cursor=after)
    for profile in profiles:
        person = StoredPerson(workspace_id, profile, now)
        if condition is None or evaluate(condition, person).matched:
            found.recipients += 1
            found.people[person.cio_id] = person
            found.entries.append((person.cio_id, _api_trigger(trigger_id, spec.get("data", {})), trigger_id))
    return found


def _dates(query: _PageQuery) -> _Page:
    """A date attribute campaign going live: schedule everyone's date trigger from their attribute."""
    workspace_id, campaign, cursor, now = query.workspace_id, query.campaign, query.cursor, query.now
    trigger = campaign.get("trigger") or {}
    attribute = str(trigger.get("attribute"))
    profiles, after = _profiles(workspace_id, cursor)
    found = _Page(cursor=after)
    for profile in profiles:
        due = triggers.due_at(StoredPerson(workspace_id, profile, now).attributes.get(attribute), trigger)
        if due is not None and due > now:
            triggers.reschedule(workspace_id, str(campaign["id"]), profile.cio_id, due, now)
            found.recipients += 1
    return found


_RESOLVERS = {
    "ids": _listed,
    "emails": _listed,
    "per_user_data": _listed,
    "segment": _members,
    "members": _members,
    "filter": _filtered,
    "dates": _dates,
}


# --- reading ----------------------------------------------------------------------------------------


def status_view(workspace_id: str, campaign_id: str, trigger_id: str) -> dict[str, Any]:
    status, request = _load(workspace_id, campaign_id, trigger_id)
    finished = status.status in (DONE, FAILED)
    return {
        "id": trigger_id,
        "broadcast_id": campaign_id,
        "campaign_id": campaign_id,
        "status": status.status,
        "processed": finished,
        "created_at": int(status.created_at),
        "processed_at": int(status.updated_at) if finished else None,
        "recipients": int(status.recipients),
        "started": int(status.started),
        "errors": int(request.error_count),
        # Recipients found but not entered, by reason (executions.SKIP_REASONS): a journey of the
        # campaign still running for them, the campaign's filters...
        "skipped": {reason: int(n) for reason, n in sorted(plain(status.skipped).items())},
    }


def errors_view(workspace_id: str, campaign_id: str, trigger_id: str) -> list[dict[str, str]]:
    status, _ = _load(workspace_id, campaign_id, trigger_id)
    errors = plain(status.errors)
    return [{"identifier": key, "reason": str(errors[key])} for key in sorted(errors)]
