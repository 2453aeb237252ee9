"""Starting a person's journey through a campaign: audience filters, the frequency rule, and one Step
Functions execution whose name makes a duplicate impossible.

Names. An execution is named from (campaign, person, trigger id): the same trigger always gives the same
name, and Step Functions refuses a second execution of a name on a state machine (for 90 days after the
first ended), so a redelivered stream record, a retried sweep or page, or two processes racing on one
trigger can never start a journey twice.

One-send campaigns. A campaign whose workflow is one send block with nothing after it gets no execution:
once the claim below is won, ``enter`` does what its Tasks would (``_send_directly``): queues the message
with the id the execution's send step would give it (put-if-absent), records the journey entered and
ended under the execution's name, and counts it. A replay finds all three done.

Frequency, decided on the person's journey (``journeys``: written by the workflow's first Task) and on
the claim below:

- ``once``: never again after any entry;
- ``every_match``: each new trigger. An event-triggered campaign starts a journey for every matching
  event, even while the person's earlier journeys of it still run, as Customer.io does (an order
  confirmation per order); any other trigger waits for the running journey to end (Customer.io re-enters
  on a re-match, and a segment or attribute cannot be matched twice at once);
- ``interval``: as ``every_match``, and only once ``seconds`` have passed since the last entry.

Broadcasts (``api`` and ``broadcast`` triggers) ignore the frequency setting: every trigger of a
broadcast reaches its recipients, except those still running a journey of the same campaign.

Concurrent journeys. A journey's state (running, converted, the wait it is at) is one item per journey:
``journey`` for the person's one journey, or ``journey#<execution>`` for each journey of an event
campaign that may overlap (:func:`journey_key`). The key travels in the trigger (``trigger["journey"]``,
which every Task of every compiled version already receives), so the steps of each journey update their
own item and journeys running side by side never overwrite each other's state or counts.

Nothing is skipped silently: a trigger that starts no journey because of a rule (the frequency, a running
journey, the audience filters, a campaign not active, a person deleted meanwhile) is counted on the
campaign's metrics under ``not_entered`` with its reason (:data:`SKIP_REASONS`), and a broadcast counts
its recipients' reasons in its status. A trigger whose journey already exists (a redelivered record, a
page run again) is not a skip and is not counted; a skip decided twice (a stream record redelivered after
its batch failed) is counted twice.

The claim. The journey item is written by the execution's first Task, which runs after StartExecution
returned, so two triggers close together (two events in one stream batch, a segment entry racing a
broadcast page) would both read "never entered" and both start. Before starting, ``enter`` therefore
writes a claim item next to the journey (sk ``claim``: the name of the execution being started and when),
compare-and-set on the claim it read, so exactly one of two racing triggers wins; the loser reads again
and sees the winner pending. A claim counts as a running, entered journey until the journey item names its
execution (its first Task ran), or until it is ``STALE_CLAIM_SECONDS`` old (its start never happened: a
crash between the claim and StartExecution whose record was then dead-lettered). When the start fails
(the name already exists, or an error), the claim is put back as it was. A claim naming this very
execution is this trigger's own, left by a crash: the start is simply tried again, and the name decides.
The claim is a separate item, not fields of the journey, so the Task's idempotent "entered" write
(conditional on the journey's execution name) is left exactly as it is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from nudge.campaigns import journey_outcomes, journeys, metrics, step_functions
from nudge.campaigns.messages import JourneyRef, campaign_delivery, send_params, single_send
from nudge.delivery import records
from nudge.model.base import condition_failed
from nudge.model.campaigns import Journey
from nudge.segments.condition_eval import evaluate
from nudge.segments.conditions import Condition, ConditionError, parse
from nudge.segments.context import StoredPerson

log = logging.getLogger(__name__)

MAX_NAME = 80
STALE_CLAIM_SECONDS = 3600
CLAIM_ATTEMPTS = 3
JOURNEY_SK = "journey"
CLAIM_SK = "claim"
BROADCAST_TRIGGERS = ("api", "broadcast")
# Why a trigger started no journey: the ``not_entered`` metrics' keys, and a broadcast's ``skipped``.
SKIP_ONCE = "frequency_once"  # once: the person entered before
SKIP_INTERVAL = "frequency_interval"  # interval: too soon after the last entry
SKIP_RUNNING = "journey_running"  # a journey of the campaign is still running for the person
SKIP_FILTERS = "filters"  # the person does not match the campaign's audience filters
SKIP_NOT_ACTIVE = "campaign_not_active"  # paused, archived, or never deployed
SKIP_MISSING = "person_missing"  # deleted before the journey could start
SKIP_REASONS = (SKIP_ONCE, SKIP_INTERVAL, SKIP_RUNNING, SKIP_FILTERS, SKIP_NOT_ACTIVE, SKIP_MISSING)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class ClaimContention(RuntimeError):
    """The claim kept changing under us: retried by whoever called (the stream, the sweep, the page)."""


def journey_pk(workspace_id: str, campaign_id: str, cio_id: str) -> str:
    return f"{workspace_id}#c#{campaign_id}#p#{cio_id}"


def execution_name(campaign_id: str, cio_id: str, trigger_id: str) -> str:
    """Deterministic, at most 80 of ``[A-Za-z0-9_-]``: a readable prefix (campaign, person) and a hash of
    all three parts, which alone tells executions apart (the prefix is cut and may collide)."""
    digest = hashlib.sha256(json.dumps([campaign_id, cio_id, trigger_id]).encode()).hexdigest()[:32]
    prefix = _UNSAFE.sub("_", f"{campaign_id[:20]}-{cio_id[:24]}")
    return f"{prefix}-{digest}"[:MAX_NAME]


# --- the frequency rule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """What the journey and the claim say about the person in this campaign."""

    entries: int = 0
    last_entered_at: int | None = None
    execution: str | None = None  # the journey's execution (its first Task ran)
    running: bool = False
    claimed: str | None = None  # the claim's execution name
    claimed_at: int | None = None

    def pending(self, at: int) -> bool:
        """A claimed execution whose first Task has not run yet, and that may still."""
        return (
            self.claimed is not None
            and self.claimed != self.execution
            and self.claimed_at is not None
            and at - self.claimed_at < STALE_CLAIM_SECONDS
        )

    def last_entry(self) -> int | None:
        times = [
            t for t in (self.last_entered_at, self.claimed_at if self.claimed else None) if t is not None
        ]
        return max(times) if times else None


def concurrent(trigger_type: str, frequency: dict[str, Any]) -> bool:
    """Whether a person may run several journeys of the campaign at once: an event campaign that lets
    people in more than once."""
    return trigger_type == "event" and frequency.get("type", "once") in ("every_match", "interval")


def journey_key(trigger_type: str, frequency: dict[str, Any], execution: str) -> str:
    """The sort key of the item holding this journey's state: its own for a journey that may overlap
    others, else the person's one ``journey``. Decided by the campaign's settings, never by what is
    running, so a trigger started again gives the same execution input."""
    return f"{JOURNEY_SK}#{execution}" if concurrent(trigger_type, frequency) else JOURNEY_SK


def refusal(frequency: dict[str, Any], trigger_type: str, history: History, at: int) -> str | None:
    """Why a trigger at ``at`` may not start a new journey by the campaign's frequency setting (one of
    the ``SKIP_*`` reasons), or None when it may."""
    running = history.running or history.pending(at)
    if trigger_type in BROADCAST_TRIGGERS:
        return SKIP_RUNNING if running else None
    kind = frequency.get("type", "once")
    if kind == "once":
        entered = history.entries > 0 or history.execution is not None or history.pending(at)
        return SKIP_ONCE if entered else None
    if running and not concurrent(trigger_type, frequency):
        return SKIP_RUNNING
    if kind == "interval":
        last = history.last_entry()
        if last is not None and at - last < int(frequency.get("seconds", 0)):
            return SKIP_INTERVAL
    return None


# --- entering ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What a trigger did: started a journey, or not and (when a rule decided it) why."""

    started: bool
    skipped: str | None = None  # one of SKIP_REASONS; None when started or when this journey existed


def enter(
    workspace_id: str,
    campaign: dict[str, Any],
    cio_id: str,
    trigger: dict[str, Any],
    trigger_id: str,
    at: int,
    *,
    person: StoredPerson | None = None,
) -> Entry:
    """Start the person's journey for this trigger if the campaign, its filters and its frequency allow.
    ``person``: already loaded by the caller (else read here). A skip is counted on the campaign."""
    campaign_id = str(campaign["id"])
    if campaign.get("state", "active") != "active" or not campaign.get("version_arn"):
        return _skip(workspace_id, campaign_id, cio_id, SKIP_NOT_ACTIVE)
    if person is None:
        person = StoredPerson.load(workspace_id, cio_id)
    if person is None:
        return _skip(workspace_id, campaign_id, cio_id, SKIP_MISSING)
    if not matches_filters(campaign.get("filters"), person):
        return _skip(workspace_id, campaign_id, cio_id, SKIP_FILTERS)
    name = execution_name(campaign_id, cio_id, trigger_id)
    frequency = (campaign.get("settings") or {}).get("frequency") or {"type": "once"}
    trigger_type = str(trigger.get("type", ""))
    pk = journey_pk(workspace_id, campaign_id, cio_id)
    for _ in range(CLAIM_ATTEMPTS):
        journey, claim = _read(pk)
        history = history_of(journey, claim)
        own = history.claimed == name  # this trigger's own claim, left by a crash before the start
        reason = None if own else refusal(frequency, trigger_type, history, at)
        if reason is not None:
            return _skip(workspace_id, campaign_id, cio_id, reason)
        if own or _claim(pk, workspace_id, campaign_id, cio_id, claim, name, at):
            break
    else:
        raise ClaimContention(f"the journey claim of {name} kept changing")
    key = journey_key(trigger_type, frequency, name)
    one_send = single_send(campaign)
    if one_send is not None:
        return _send_directly(
            JourneyRef(workspace_id, campaign_id, cio_id, name), campaign, trigger, key, one_send, at
        )
    payload = {
        "workspace_id": workspace_id,
        "campaign_id": campaign_id,
        "version": campaign.get("version"),
        "cio_id": cio_id,
        # Only a journey of its own is named: the person's one journey is the steps' default.
        "trigger": trigger if key == JOURNEY_SK else {**trigger, "journey": key},
        "entered_at": at,
    }
    try:
        started = step_functions.get().start(str(campaign["version_arn"]), name, payload)
    except Exception:
        if not own:
            _release(pk, claim, name)
        raise
    if not started and not own:
        _release(pk, claim, name)  # this trigger already had its journey: the claim goes back
    return Entry(started)


def _send_directly(
    journey: JourneyRef, campaign: dict[str, Any], trigger: dict[str, Any], key: str, block: str, at: int
) -> Entry:
    """A one-send campaign's journey without its execution, once the claim is ours: what its Tasks would
    do (enter, send, complete), for a Standard execution's 4 transitions. The message has the id the
    execution's send step would give it and is queued put-if-absent, so a replayed trigger, or this
    trigger again after a crash (its own claim), queues nothing twice; the journey is recorded entered
    and ended on the execution's name, conditionally, so the frequency rules read it as they read an
    execution's, and entries and completions are counted once, the message when this call queued it."""
    workspace_id, campaign_id, cio_id, name = journey
    new = campaign_delivery(journey, block, trigger, send_params(campaign, block))
    _, created = records.queue(workspace_id, new)
    entered = journeys.entered(workspace_id, campaign_id, cio_id, name, at, key)
    journeys.finished(workspace_id, campaign_id, cio_id, name, journey_outcomes.COMPLETED, key)
    counts = {metrics.ENTERED: int(entered), metrics.COMPLETED: int(entered), metrics.SENT: int(created)}
    shard = metrics.shard_of(cio_id)
    metrics.add_counts(workspace_id, campaign_id, None, counts, shard)
    metrics.add_counts(workspace_id, campaign_id, block, {metrics.SENT: int(created)}, shard)
    return Entry(entered)


def _skip(workspace_id: str, campaign_id: str, cio_id: str, reason: str) -> Entry:
    metrics.count_not_entered(workspace_id, campaign_id, reason, shard_key=cio_id)
    return Entry(False, reason)


def matches_filters(filters: Any, person: StoredPerson) -> bool:
    """The campaign's audience filters (segment conditions), None letting everyone through."""
    if not filters:
        return True
    text = filters if isinstance(filters, str) else json.dumps(filters, sort_keys=True)
    try:
        condition = _parsed(text)
    except ConditionError:
        # Definitions are validated when saved; one that no longer parses matches nobody rather than
        # failing every stream record that reaches it.
        log.error("campaign filters do not parse", exc_info=True)
        return False

    return evaluate(condition, person).matched


@lru_cache(maxsize=256)
def _parsed(text: str) -> Condition:
    return parse(json.loads(text))


def _read(pk: str) -> tuple[Journey | None, Journey | None]:
    journey = claim = None
    # "claim" < "journey" < "journey#<execution>": the two items, never the concurrent journeys' own.
    for item in Journey.query(pk, Journey.sk.between(CLAIM_SK, JOURNEY_SK), consistent_read=True):
        if item.sk == JOURNEY_SK:
            journey = item
        elif item.sk == CLAIM_SK:
            claim = item
    return journey, claim


def history_of(journey: Journey | None, claim: Journey | None) -> History:
    def number(value: Any) -> int | None:
        return None if value is None else int(value)

    return History(
        entries=int(journey.entries or 0) if journey else 0,
        last_entered_at=number(journey.last_entered_at) if journey else None,
        execution=journey.execution if journey else None,
        running=bool(journey.running) if journey else False,
        claimed=claim.execution if claim else None,
        claimed_at=number(claim.last_entered_at) if claim else None,
    )


def _claim(
    pk: str, workspace_id: str, campaign_id: str, cio_id: str, read: Journey | None, name: str, at: int
) -> bool:
    """Compare-and-set the claim on what was read; False when someone changed it meanwhile."""
    item = Journey(
        pk,
        CLAIM_SK,
        workspace_id=workspace_id,
        campaign_id=campaign_id,
        cio_id=cio_id,
        execution=name,
        last_entered_at=at,
    )
    condition = (
        Journey.pk.does_not_exist()
        if read is None
        else (Journey.execution == read.execution) & (Journey.last_entered_at == read.last_entered_at)
    )
    try:
        item.save(condition=condition)
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def _release(pk: str, previous: Journey | None, name: str) -> None:
    """Put the claim back as it was before ours, unless another trigger claimed since."""
    try:
        if previous is None:
            Journey(pk, CLAIM_SK).delete(condition=Journey.execution == name)
        else:
            Journey(pk, CLAIM_SK).update(
                actions=[
                    Journey.execution.set(previous.execution),
                    Journey.last_entered_at.set(previous.last_entered_at),
                ],
                condition=Journey.execution == name,
            )
    except (DeleteError, UpdateError) as exc:
        if not condition_failed(exc):
            raise
