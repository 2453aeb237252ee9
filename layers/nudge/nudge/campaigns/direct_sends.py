"""One-send campaigns without a Step Functions execution per person: a page of a broadcast's recipients
queued as deliveries straight from the broadcast machine's Task (``broadcasts.page``).

A campaign whose workflow is one send block with nothing after it (:func:`single_send`) keeps no journey
state worth an execution: one would run enter -> send -> completed, 4 Standard transitions per person
($0.10 per 1,000 people, as much as SES charges for the messages). The page does what those Tasks would
have done, for its people at once, and the broadcast machine's transitions (about 3 per page of 100)
are all Step Functions bills:

- **The rules of entry**, as ``executions.enter`` decides them for a broadcast: the campaign active, the
  person still there (profiles read for the page in batched, consistent reads), the audience filters,
  and no journey of the campaign running for them (an earlier version's per-person execution: the
  journey and claim items read for the page, batched and consistent, and judged by
  ``executions.refusal``). A recipient refused by a rule is counted under ``not_entered`` by reason, as
  a skipped execution is.
- **The message**, built by ``steps.campaign_delivery`` for the execution the person would have had (its
  name from campaign, person and trigger id), so its delivery id is the one that execution's send step
  would have given. Each is written put-if-absent (``records.queue``): a page run again, a fan-out
  restarted or a Task run twice finds its deliveries there and queues nothing twice, and a delivery
  already sent is never made ``queued`` again. Not BatchWriteItem: it cannot be conditional, and an
  unconditional put over a sent delivery would send it a second time. The conditional puts cost the
  same write units as a batch (DynamoDB bills per item either way); only the number of calls differs.
- **The counts**, one write per metrics shard and item (the campaign's entered, sent and completed; the
  block's sent), for the deliveries this call created: written after them, so a page run again counts
  nothing twice (a crash between the two loses counts rather than doubling them, as everywhere in
  ``metrics``).

No journey item is written: a broadcast skips only people with a journey *running*, and a one-send
journey is over once its message is queued, so nothing would read it (and in-progress stays 0). The
send pipeline then takes each delivery like any other, so the gates (unsubscribes, topics, suppression,
message limits) apply when it is sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nudge.campaigns import executions, metrics
from nudge.campaigns.cohorts import bucket, cohort_of
from nudge.campaigns.messages import JourneyRef, campaign_delivery, send_params, single_send
from nudge.delivery import records
from nudge.model import people as people_items
from nudge.model.campaigns import Journey
from nudge.segments.context import StoredPerson


@dataclass(frozen=True)
class Plan:
    """Which send block each recipient's one message comes from, and when it goes.

    A campaign qualifies when its workflow is one send block, or a random split whose every branch is a
    send block with nothing after it (A/B variants: each person's branch is their cohort, as the split's
    step would pick it, ``steps.cohort_of``). A broadcast may narrow it (``spec``): ``cohort`` keeps the
    people whose bucket for ``salt`` is under ``percent`` (part ``in``) or not (``out``), an A/B test's
    test group and the rest; ``winner`` sends everyone that one block; ``local_time`` (``date``, ``time``,
    ``timezone``) sends each message at that wall-clock time in the person's ``timezone`` attribute, the
    given zone otherwise."""

    campaign_id: str
    split: str | None  # the random split's block id, when the workflow starts with one
    branches: tuple[str, ...]  # the send blocks, in the split's branch order
    percents: tuple[float, ...]
    cohort: dict[str, Any] | None = None
    winner: str | None = None
    local_time: dict[str, Any] | None = None

    def choose(self, cio_id: str, person: StoredPerson) -> tuple[str, int | None] | None:
        """(send block, send_at or None for now) for the person, None when this broadcast leaves them out."""
        if self.cohort is not None:
            inside = bucket(self.campaign_id, str(self.cohort["salt"]), cio_id) < float(
                self.cohort["percent"]
            )
            if inside != (self.cohort["part"] == "in"):
                return None
        if self.winner is not None:
            block = self.winner
        elif self.split is None:
            block = self.branches[0]
        else:
            block = self.branches[cohort_of(self.campaign_id, self.split, cio_id, self.percents)]
        return block, None if self.local_time is None else local_send_at(self.local_time, person)


def plan(campaign: dict[str, Any], spec: dict[str, Any] | None = None) -> Plan | None:
    """The campaign's messages as a page can queue them, or None when the workflow needs executions."""
    spec = spec or {}
    campaign_id = str(campaign["id"])
    one = single_send(campaign)
    common = {
        "cohort": spec.get("cohort"),
        "winner": spec.get("winner_block"),
        "local_time": spec.get("local_time"),
    }
    if one is not None:
        return Plan(campaign_id, None, (one,), (100.0,), **common)
    workflow = campaign.get("workflow") or {}
    blocks = workflow.get("blocks") or {}
    start = workflow.get("start")
    split = blocks.get(start) if isinstance(start, str) else None
    if not isinstance(split, dict) or split.get("type") != "random_split":
        return None
    targets = [branch.get("next") for branch in split.get("branches") or []]
    sends = [blocks.get(t) if isinstance(t, str) else None for t in targets]
    if not sends or any(not isinstance(b, dict) or b.get("type") != "send" or b.get("next") for b in sends):
        return None
    percents = tuple(float(branch.get("percent", 0)) for branch in split["branches"])
    return Plan(campaign_id, str(start), tuple(str(t) for t in targets), percents, **common)


def local_send_at(local_time: dict[str, Any], person: StoredPerson) -> int:
    """When ``local_time`` (``date`` YYYY-MM-DD, ``time`` HH:MM) comes in the person's ``timezone``
    attribute, else in ``local_time["timezone"]`` (UTC when that is missing or unknown too)."""
    when = datetime.strptime(f"{local_time['date']} {local_time['time']}", "%Y-%m-%d %H:%M")
    zone = _zone(person.attributes.get("timezone")) or _zone(local_time.get("timezone")) or ZoneInfo("UTC")
    return int(when.replace(tzinfo=zone).timestamp())


def _zone(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def winner(workspace_id: str, campaign_id: str, blocks: list[str], metric: str) -> str:
    """The block whose messages did best by ``metric`` (``opened`` or ``clicked``) per message sent; the
    first of them on a tie, or when none was sent."""
    counts = metrics.read(workspace_id, campaign_id)["blocks"]

    def rate(block: str) -> float:
        found = counts.get(block) or {}
        sent = int(found.get(metrics.SENT, 0))
        return int(found.get(metric, 0)) / sent if sent else 0.0

    return max(blocks, key=lambda block: (rate(block), -blocks.index(block)))


def queue_page(
    workspace_id: str,
    campaign: dict[str, Any],
    chosen: Plan,
    entries: list[tuple[str, dict[str, Any], str]],
    people: dict[str, StoredPerson],
    now: int,
) -> list[executions.Entry]:
    """Queue the message of each ``(cio_id, trigger, trigger_id)`` whose journey the campaign's rules let
    start, from the block ``chosen`` picks for them; ``people``: profiles the caller already read, by
    cio_id. One ``Entry`` per entry, in order: started when this call queued the message, else the rule
    that refused it (None: queued before, or left out by the plan)."""
    campaign_id = str(campaign["id"])
    if campaign.get("state", "active") != "active":
        return _skipped(workspace_id, campaign_id, entries, executions.SKIP_NOT_ACTIVE)
    settings = campaign.get("settings") or {}
    frequency = settings.get("frequency") or {"type": "once"}
    cio_ids = sorted({cio_id for cio_id, _, _ in entries})
    found = {**_profiles(workspace_id, [c for c in cio_ids if c not in people], now), **people}
    histories = _histories(workspace_id, campaign_id, cio_ids)
    results: list[executions.Entry] = []
    created: Counter[tuple[int, str]] = Counter()  # (shard, block) -> messages this call queued
    skipped: Counter[tuple[int, str]] = Counter()
    for cio_id, trigger, trigger_id in entries:
        person = found.get(cio_id)
        reason: str | None
        if person is None:
            reason = executions.SKIP_MISSING
        elif not executions.matches_filters(campaign.get("filters"), person):
            reason = executions.SKIP_FILTERS
        else:
            history = histories.get(cio_id, executions.History())
            reason = executions.refusal(frequency, str(trigger.get("type", "")), history, now)
        if reason is not None:
            skipped[(metrics.shard_of(cio_id), reason)] += 1
            results.append(executions.Entry(False, reason))
            continue
        assert person is not None
        picked = chosen.choose(cio_id, person)
        if picked is None:
            results.append(executions.Entry(False))  # not in this broadcast's part of the audience
            continue
        block_id, send_at = picked
        params = send_params(campaign, block_id)
        execution = executions.execution_name(campaign_id, cio_id, trigger_id)
        new = campaign_delivery(
            JourneyRef(workspace_id, campaign_id, cio_id, execution),
            block_id,
            trigger,
            params,
            send_at=send_at,
        )
        _, was_created = records.queue(workspace_id, new)
        if was_created:
            created[(metrics.shard_of(cio_id), block_id)] += 1
        results.append(executions.Entry(was_created))
    _count(workspace_id, campaign_id, created, skipped)
    return results


def _skipped(
    workspace_id: str, campaign_id: str, entries: list[tuple[str, dict[str, Any], str]], reason: str
) -> list[executions.Entry]:
    skipped = Counter((metrics.shard_of(cio_id), reason) for cio_id, _, _ in entries)
    _count(workspace_id, campaign_id, Counter(), skipped)
    return [executions.Entry(False, reason) for _ in entries]


def _count(
    workspace_id: str,
    campaign_id: str,
    created: Counter[tuple[int, str]],
    skipped: Counter[tuple[int, str]],
) -> None:
    """Each shard's campaign counters in one write, and each of its blocks' in one more."""
    campaign_counts: dict[int, Counter[str]] = {}
    for (shard, block_id), n in sorted(created.items()):
        counts = campaign_counts.setdefault(shard, Counter())
        for metric in (metrics.ENTERED, metrics.SENT, metrics.COMPLETED):
            counts[metric] += n
        metrics.add_counts(workspace_id, campaign_id, block_id, {metrics.SENT: n}, shard)
    for (shard, reason), n in skipped.items():
        campaign_counts.setdefault(shard, Counter())[f"{metrics.NOT_ENTERED}:{reason}"] += n
    for shard, counts in sorted(campaign_counts.items()):
        metrics.add_counts(workspace_id, campaign_id, None, dict(counts), shard)


def _profiles(workspace_id: str, cio_ids: list[str], now: int) -> dict[str, StoredPerson]:
    """The people still there, read consistently (a recipient created by this very page is seen)."""
    found = people_items.profiles(workspace_id, cio_ids, consistent_read=True)
    return {cio_id: StoredPerson(workspace_id, person, now) for cio_id, person in found.items()}


def _histories(workspace_id: str, campaign_id: str, cio_ids: Iterable[str]) -> dict[str, executions.History]:
    """Each person's journey and claim in the campaign, as ``executions.enter`` reads them one by one."""
    by_pk = {executions.journey_pk(workspace_id, campaign_id, cio_id): cio_id for cio_id in cio_ids}
    keys = [(pk, sk) for pk in by_pk for sk in (executions.JOURNEY_SK, executions.CLAIM_SK)]
    items = {
        (item.pk, item.sk): item
        for item in Journey.batch_get(keys, consistent_read=True)  # PynamoDB pages by 100 keys
        if isinstance(item, Journey)
    }
    return {
        cio_id: executions.history_of(
            items.get((pk, executions.JOURNEY_SK)), items.get((pk, executions.CLAIM_SK))
        )
        for pk, cio_id in by_pk.items()
        if (pk, executions.JOURNEY_SK) in items or (pk, executions.CLAIM_SK) in items
    }
