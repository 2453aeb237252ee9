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
from typing import Any

from nudge.campaigns import executions, metrics
from nudge.campaigns.messages import campaign_delivery
from nudge.delivery import records
from nudge.model import Person
from nudge.model.campaigns import Journey
from nudge.model.keys import PROFILE, person_pk
from nudge.segments.context import StoredPerson

_BATCH_GET = 100  # keys per BatchGetItem


def single_send(campaign: dict[str, Any]) -> str | None:
    """The id of the campaign's one send block when that is its whole workflow, else None."""
    workflow = campaign.get("workflow") or {}
    start = workflow.get("start")
    block = (workflow.get("blocks") or {}).get(start) if isinstance(start, str) else None
    if isinstance(block, dict) and block.get("type") == "send" and not block.get("next"):
        return str(start)
    return None


def queue_page(
    workspace_id: str,
    campaign: dict[str, Any],
    block_id: str,
    entries: list[tuple[str, dict[str, Any], str]],
    people: dict[str, StoredPerson],
    now: int,
) -> list[executions.Entry]:
    """Queue the message of each ``(cio_id, trigger, trigger_id)`` whose journey the campaign's rules let
    start; ``people``: profiles the caller already read, by cio_id. One ``Entry`` per entry, in order:
    started when this call queued the message, else the rule that refused it (None: queued before)."""
    campaign_id = str(campaign["id"])
    if campaign.get("state", "active") != "active":
        return _skipped(workspace_id, campaign_id, entries, executions.SKIP_NOT_ACTIVE)
    block = campaign["workflow"]["blocks"][block_id]
    settings = campaign.get("settings") or {}
    params = {
        "channel": block.get("channel"),
        "template_id": block.get("template_id"),
        "campaign_name": campaign.get("name"),
        "topic": block.get("topic") or settings.get("topic"),
    }
    frequency = settings.get("frequency") or {"type": "once"}
    cio_ids = sorted({cio_id for cio_id, _, _ in entries})
    found = {**_profiles(workspace_id, [c for c in cio_ids if c not in people], now), **people}
    histories = _histories(workspace_id, campaign_id, cio_ids)
    results: list[executions.Entry] = []
    created_by_shard: Counter[int] = Counter()
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
        execution = executions.execution_name(campaign_id, cio_id, trigger_id)
        new = campaign_delivery(workspace_id, campaign_id, cio_id, execution, block_id, trigger, params)
        _, created = records.queue(workspace_id, new)
        if created:
            created_by_shard[metrics.shard_of(cio_id)] += 1
        results.append(executions.Entry(created))
    _count(workspace_id, campaign_id, block_id, created_by_shard, skipped)
    return results


def _skipped(
    workspace_id: str, campaign_id: str, entries: list[tuple[str, dict[str, Any], str]], reason: str
) -> list[executions.Entry]:
    skipped = Counter((metrics.shard_of(cio_id), reason) for cio_id, _, _ in entries)
    _count(workspace_id, campaign_id, None, Counter(), skipped)
    return [executions.Entry(False, reason) for _ in entries]


def _count(
    workspace_id: str,
    campaign_id: str,
    block_id: str | None,
    created: Counter[int],
    skipped: Counter[tuple[int, str]],
) -> None:
    """Each shard's campaign counters in one write, its block counter in another."""
    campaign_counts: dict[int, dict[str, int]] = {}
    for shard, n in created.items():
        counts = campaign_counts.setdefault(shard, {})
        counts.update({metrics.ENTERED: n, metrics.SENT: n, metrics.COMPLETED: n})
    for (shard, reason), n in skipped.items():
        campaign_counts.setdefault(shard, {})[f"{metrics.NOT_ENTERED}:{reason}"] = n
    for shard, counts in sorted(campaign_counts.items()):
        metrics.add_counts(workspace_id, campaign_id, None, counts, shard)
    for shard, n in sorted(created.items()):
        metrics.add_counts(workspace_id, campaign_id, block_id, {metrics.SENT: n}, shard)


def _profiles(workspace_id: str, cio_ids: list[str], now: int) -> dict[str, StoredPerson]:
    """The people still there, read consistently (a recipient created by this very page is seen)."""
    found: dict[str, StoredPerson] = {}
    keys = [(person_pk(workspace_id, cio_id), PROFILE) for cio_id in cio_ids]
    for start in range(0, len(keys), _BATCH_GET):
        for person in Person.batch_get(keys[start : start + _BATCH_GET], consistent_read=True):
            if isinstance(person, Person):
                found[person.cio_id] = StoredPerson(workspace_id, person, now)
    return found


def _histories(workspace_id: str, campaign_id: str, cio_ids: Iterable[str]) -> dict[str, executions.History]:
    """Each person's journey and claim in the campaign, as ``executions.enter`` reads them one by one."""
    by_pk = {executions.journey_pk(workspace_id, campaign_id, cio_id): cio_id for cio_id in cio_ids}
    keys = [(pk, sk) for pk in by_pk for sk in (executions.JOURNEY_SK, executions.CLAIM_SK)]
    items: dict[tuple[str, str], Journey] = {}
    for start in range(0, len(keys), _BATCH_GET):
        for item in Journey.batch_get(keys[start : start + _BATCH_GET], consistent_read=True):
            if isinstance(item, Journey):
                items[(item.pk, item.sk)] = item
    return {
        cio_id: executions.history_of(
            items.get((pk, executions.JOURNEY_SK)), items.get((pk, executions.CLAIM_SK))
        )
        for pk, cio_id in by_pk.items()
        if (pk, executions.JOURNEY_SK) in items or (pk, executions.CLAIM_SK) in items
    }
