"""Campaigns: create, read, update, delete; go live, pause, archive; the trigger index.

A campaign lives in its workspace's ``<ws>#campaigns`` partition (sort key ``c#<id>``) with its
normalized definition (:mod:`nudge.campaigns.definition`). States::

    draft --activate--> active --pause--> paused --resume--> active
    draft | active | paused --archive--> archived

Only draft and paused campaigns change their definition; only draft and archived ones may be deleted.
Going live (activate, resume) validates the definition again (a template or segment may have gone
since it was saved), and compiles and deploys it when it has no deployed version: on first activation,
and on resume after the definition changed while paused (``update`` clears ``version_arn`` then, so
"no version ARN" always means "the stored definition is not deployed"). Each deployment bumps
``version``; executions already running finish on the version they started on.

The trigger index (``<ws>#trigger#<key>`` / ``c#<id>``) lists the campaigns a data change can start: its
items are written when a campaign goes live and removed when it stops, in the same transaction as the
state change, so the index never disagrees with the states. Going live may also start a fan-out over
the people already there (``fans_out``): ``lifecycle`` starts it (``broadcasts`` reads this module
through ``triggers``, so this module does not call it).

Every write is conditional on the state and ``updated_at`` that were read, and moves ``updated_at``
forward by at least a second, so of two concurrent changes one wins and the other is a Conflict
(``updated_at`` may run a few seconds ahead of the clock under a burst of changes).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError

from nudge import clock
from nudge.campaigns import compiler, step_functions
from nudge.campaigns.definition import (
    DefinitionError,
    SegmentKind,
    TemplateChannel,
    TopicExists,
    trigger_keys,
    validate,
)
from nudge.errors import Conflict, NotFound
from nudge.model.base import condition_failed, transaction
from nudge.model.campaigns import Campaign, CampaignsItem, TriggerIndex
from nudge.segments import definitions
from nudge.subscriptions import topics

DRAFT, ACTIVE, PAUSED, ARCHIVED = "draft", "active", "paused", "archived"
# What an API client may send back from a read: ignored, never an unknown key.
READ_ONLY = (
    "id",
    "state",
    "version",
    "created_at",
    "updated_at",
    "activated_at",
    "state_machine_arn",
    "version_arn",
)
MAX_DEFINITION_BYTES = 300_000  # the item holds it, within DynamoDB's 400 KB
_ID_BYTES = 6  # 12 hex characters: short, since execution names (80 at most) carry it with a cio_id
_CREATE_ATTEMPTS = 3


def campaigns_pk(workspace_id: str) -> str:
    """The partition holding every campaign of a workspace."""
    return f"{workspace_id}#campaigns"


def campaign_sk(campaign_id: str) -> str:
    return f"c#{campaign_id}"


def triggers_pk(workspace_id: str) -> str:
    """The workspace's trigger index: one partition, so one query tells which keys any campaign listens
    to (a profile change with N attributes would otherwise cost 2N queries to find that none does)."""
    return f"{workspace_id}#triggers"


def trigger_sk(key: str, campaign_id: str) -> str:
    """``<key>#c#<campaign_id>`` for a key ``event#<name>``, ``segment#<id>``, ``attribute#<name>``..."""
    return f"{key}#c#{campaign_id}"


def _key_of(entry: TriggerIndex) -> str:
    return str(entry.sk)[: -len(f"#c#{entry.campaign_id}")]


# --- reading -------------------------------------------------------------------------------------------


def get(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    return view(_load(workspace_id, campaign_id))


def list_campaigns(workspace_id: str) -> list[dict[str, Any]]:
    found = Campaign.query(campaigns_pk(workspace_id), Campaign.sk.startswith("c#"))
    campaigns = [item for item in found if isinstance(item, Campaign)]
    return [view(item) for item in sorted(campaigns, key=lambda c: (int(c.created_at), c.campaign_id))]


def listened_keys(workspace_id: str) -> frozenset[str]:
    """Every trigger key some active campaign of the workspace listens to (one query)."""
    return frozenset(
        _key_of(entry)
        for entry in TriggerIndex.query(triggers_pk(workspace_id))
        if isinstance(entry, TriggerIndex)
    )


def active_for(workspace_id: str, key: str) -> list[dict[str, Any]]:
    """The active campaigns a trigger key starts (one query of the index, one batched read)."""
    entries = TriggerIndex.query(triggers_pk(workspace_id), TriggerIndex.sk.startswith(f"{key}#c#"))
    # A key that merely starts like this one (an event named "a#c#b" after "a") is not this key.
    ids = sorted({e.campaign_id for e in entries if isinstance(e, TriggerIndex) and _key_of(e) == key})
    keys = [(campaigns_pk(workspace_id), campaign_sk(campaign_id)) for campaign_id in ids]
    found = [c for c in Campaign.batch_get(keys) if isinstance(c, Campaign)]  # PynamoDB pages by 100 keys
    # The index changes with the state in one transaction; the state check only covers a read between.
    return [view(c) for c in sorted(found, key=lambda c: c.campaign_id) if c.state == ACTIVE]


def view(item: Campaign) -> dict[str, Any]:
    """A campaign as a plain dict: its definition's parts at the top level, plus state and deployment."""
    definition = json.loads(item.definition_json)
    return {
        "id": item.campaign_id,
        "name": item.name,
        "state": item.state,
        "version": int(item.version),
        "trigger": definition["trigger"],
        "filters": definition["filters"],
        "workflow": definition["workflow"],
        "settings": definition["settings"],
        "created_at": int(item.created_at),
        "updated_at": int(item.updated_at),
        "activated_at": None if item.activated_at is None else int(item.activated_at),
        "state_machine_arn": item.state_machine_arn,
        "version_arn": item.version_arn,
    }


def definition_of(campaign: dict[str, Any]) -> dict[str, Any]:
    """The normalized definition inside a campaign dict (what the compiler takes)."""
    return {key: campaign[key] for key in ("name", "trigger", "filters", "workflow", "settings")}


def _load(workspace_id: str, campaign_id: str) -> Campaign:
    try:
        item = Campaign.get(campaigns_pk(workspace_id), campaign_sk(campaign_id), consistent_read=True)
    except DoesNotExist:
        item = None
    if not isinstance(item, Campaign):
        raise NotFound(f"campaign {campaign_id} not found")
    return item


# --- writing -------------------------------------------------------------------------------------------


def create(workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A new draft campaign from ``body`` (the definition; read-only fields are ignored)."""
    definition = _validated(workspace_id, _editable(body))
    now = clock.now()
    for _ in range(_CREATE_ATTEMPTS):
        campaign_id = secrets.token_hex(_ID_BYTES)
        item = Campaign(
            campaigns_pk(workspace_id),
            campaign_sk(campaign_id),
            workspace_id=workspace_id,
            campaign_id=campaign_id,
            name=definition["name"],
            state=DRAFT,
            definition_json=_dump(definition),
            version=0,
            created_at=now,
            updated_at=now,
        )
        try:
            item.save(condition=Campaign.pk.does_not_exist())
        except PutError as exc:
            if not condition_failed(exc):
                raise
            continue  # the random id is taken (48 bits: next to never)
        return view(item)
    raise RuntimeError("could not find a free campaign id")


def update(workspace_id: str, campaign_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Replace the top-level parts of the definition that ``body`` gives (``name``, ``trigger``,
    ``filters``, ``workflow``, ``settings``); the others stay."""
    item = _load(workspace_id, campaign_id)
    if item.state == ACTIVE:
        raise Conflict(f"campaign {campaign_id} is active: pause it first")
    if item.state == ARCHIVED:
        raise Conflict(f"campaign {campaign_id} is archived and cannot change")
    current = definition_of(view(item))
    definition = _validated(workspace_id, {**current, **_editable(body)})
    if definition == current:
        return view(item)
    read = _Read.of(item)
    item.name, item.definition_json = definition["name"], _dump(definition)
    if item.state == PAUSED:
        item.version_arn = None  # the deployed version no longer matches: resume deploys a new one
    _commit(item, read)
    return view(item)


def delete(workspace_id: str, campaign_id: str) -> None:
    item = _load(workspace_id, campaign_id)
    if item.state not in (DRAFT, ARCHIVED):
        raise Conflict(f"campaign {campaign_id} is {item.state}: archive it before deleting it")
    keys = trigger_keys(definition_of(view(item)))
    try:
        with transaction(CampaignsItem) as tx:
            tx.delete(item, condition=_unchanged(_Read.of(item)))
            for key in keys:  # an archived campaign has none left; this is belt and braces
                tx.delete(_index_item(workspace_id, key, campaign_id))
    except TransactWriteError as exc:
        if _lost_race(exc):
            raise _changed_meanwhile(campaign_id) from exc
        raise


def go_live(workspace_id: str, campaign_id: str, *, resumed: bool = False) -> dict[str, Any]:
    """Draft (or, ``resumed``, paused) to active: validate, compile, deploy (a definition changed while
    paused as a new version), index the trigger. The fan-out going live may ask for (``fans_out``) is
    ``lifecycle``'s: the App API activates and resumes through it."""
    item = _load(workspace_id, campaign_id)
    if resumed:
        _require(item, PAUSED, "resume")
    else:
        _require(item, DRAFT, "activate")
    return _go_live(workspace_id, item)


def fans_out(campaign: dict[str, Any], *, resumed: bool) -> bool:
    """Whether going live starts a fan-out over people already there (``broadcasts``): a segment's current
    members entering (``audience: current_and_future``, on activation only: people who joined while it
    was paused do not enter), a one-time broadcast, or scheduling everyone's date trigger (on resume
    too: the attribute changes made while paused went past the unindexed trigger)."""
    trigger = campaign["trigger"]["type"]
    if trigger == "date_attribute":
        return True
    if resumed:
        return False
    return trigger == "broadcast" or (
        trigger == "segment_entry" and campaign["settings"]["audience"] == "current_and_future"
    )


def pause(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    """Active to paused: the trigger starts nothing new (journeys under way are the steps' business)."""
    item = _load(workspace_id, campaign_id)
    _require(item, ACTIVE, "pause")
    return _stop(item, PAUSED)


def archive(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    """Draft, active or paused to archived, for good."""
    item = _load(workspace_id, campaign_id)
    if item.state == ARCHIVED:
        raise Conflict(f"campaign {campaign_id} is already archived")
    return _stop(item, ARCHIVED)


def _require(item: Campaign, state: str, action: str) -> None:
    if item.state != state:
        raise Conflict(f"campaign {item.campaign_id} is {item.state}: only a {state} campaign can {action}")


def _go_live(workspace_id: str, item: Campaign) -> dict[str, Any]:
    read = _Read.of(item)
    stored = definition_of(view(item))
    definition = _validated(workspace_id, stored)
    now = clock.now()
    # Validating normalizes again: should that have changed anything, the deployed version is stale too.
    if item.version_arn is None or definition != stored:
        version = int(item.version) + 1
        item.state_machine_arn, item.version_arn = _deploy(
            workspace_id, item.campaign_id, version, definition
        )
        item.version = version
    item.state, item.activated_at = ACTIVE, now
    item.name, item.definition_json = definition["name"], _dump(definition)
    _commit(item, read, index=trigger_keys(definition))
    return view(item)


def _stop(item: Campaign, state: str) -> dict[str, Any]:
    read = _Read.of(item)
    item.state = state
    _commit(item, read, unindex=trigger_keys(definition_of(view(item))))
    return view(item)


# --- seams ---------------------------------------------------------------------------------------------


def _deploy(workspace_id: str, campaign_id: str, version: int, definition: dict[str, Any]) -> tuple[str, str]:
    """Compile the definition to ASL and deploy it: (state machine ARN, version ARN). A function of its
    own so tests can stand in for Step Functions."""
    asl = compiler.compile_workflow(campaign_id, version, definition)
    state_machine_arn, version_arn = step_functions.get().deploy(workspace_id, campaign_id, asl)
    return state_machine_arn, version_arn


# --- helpers -------------------------------------------------------------------------------------------


def _editable(body: Any) -> Any:
    """``body`` without the read-only fields a client may echo back; anything else is validated."""
    if not isinstance(body, dict):
        return body
    return {key: value for key, value in body.items() if key not in READ_ONLY}


def _validated(workspace_id: str, raw: Any) -> dict[str, Any]:
    definition = validate(
        raw,
        template_channel=_template_channels(workspace_id),
        segment_kind=_segment_kinds(workspace_id),
        topic_exists=_topic_exists(workspace_id),
    )
    if len(_dump(definition).encode()) > MAX_DEFINITION_BYTES:
        raise DefinitionError(
            "", "invalid_value", f"the definition is larger than {MAX_DEFINITION_BYTES} bytes"
        )
    return definition


def _template_channels(workspace_id: str) -> TemplateChannel:
    def channel(template_id: str) -> str | None:
        # Imported here, where it pays: the template engine comes with it, 110 to 280 ms that the evaluate
        # function (which imports this module for its trigger queries) would pay at every cold start;
        # only saving a definition needs it.
        from nudge.delivery import template_store

        try:
            return template_store.load(workspace_id, template_id).channel
        except NotFound:
            return None

    return channel


def _topic_exists(workspace_id: str) -> TopicExists:
    def exists(topic_id: int) -> bool:
        return topics.find(topics.list_topics(workspace_id), topic_id) is not None

    return exists


def _segment_kinds(workspace_id: str) -> SegmentKind:
    def kind(segment_id: str) -> str | None:
        try:
            return str(definitions.load(workspace_id, segment_id).type)
        except NotFound:
            return None

    return kind


def _dump(definition: dict[str, Any]) -> str:
    return json.dumps(definition, separators=(",", ":"))


@dataclass(frozen=True)
class _Read:
    """What a change was decided on: the write holds only if both are still so."""

    state: str
    updated_at: int

    @classmethod
    def of(cls, item: Campaign) -> _Read:
        return cls(item.state, int(item.updated_at))


def _unchanged(read: _Read) -> Any:
    return (Campaign.state == read.state) & (Campaign.updated_at == read.updated_at)


def _commit(item: Campaign, read: _Read, *, index: Iterable[str] = (), unindex: Iterable[str] = ()) -> None:
    """Save ``item`` if nobody changed it since ``read``, with the trigger index changes, atomically."""
    item.updated_at = max(clock.now(), read.updated_at + 1)  # strictly later: the next write's condition
    try:
        with transaction(CampaignsItem) as tx:
            tx.save(item, condition=_unchanged(read))
            for key in index:
                tx.save(_index_item(item.workspace_id, key, item.campaign_id))
            for key in unindex:
                tx.delete(_index_item(item.workspace_id, key, item.campaign_id))
    except TransactWriteError as exc:
        if _lost_race(exc):
            raise _changed_meanwhile(item.campaign_id) from exc
        raise


def _index_item(workspace_id: str, key: str, campaign_id: str) -> TriggerIndex:
    return TriggerIndex(
        triggers_pk(workspace_id),
        trigger_sk(key, campaign_id),
        workspace_id=workspace_id,
        campaign_id=campaign_id,
    )


def _lost_race(exc: TransactWriteError) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def _changed_meanwhile(campaign_id: str) -> Conflict:
    return Conflict(f"campaign {campaign_id} changed meanwhile: read it again and retry")
