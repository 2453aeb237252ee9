"""Campaign counters: per campaign and per block, sharded so a broadcast's fan-out spreads its writes.

Items: ``<ws>#c#<campaign_id>#metrics#<shard>`` / ``<block id>`` or ``campaign``, each a map of metric ->
count. A person's counts go to the shard their cio_id hashes to; counts without a person (delivery
feedback) to a random one. ``read`` sums the shards.

Campaign-level metrics live on the ``campaign`` item and per-block metrics on the block's item; callers
that want both increment both (a message sent counts on its send block and on the campaign). Nothing is
derived from summing blocks, so no count is ever added twice.

Counts are incremented after the state change they count has been written conditionally (a journey
entered, a delivery queued): a retried step finds the change already made and does not count again. A
crash between the two writes loses one count rather than adding one twice.

``waiting`` is a gauge, not a tally: how many people are at a wait block (delay, wait_until, time_window)
now, per block and on the campaign, +1 when a journey enters a wait and -1 when it leaves
(``move_waiting``). Idempotency comes from a marker on the journey item, ``waiting_block``: the wait its
execution is in (absent: none). A step moves the marker with a conditional write (it must be where the
step expected it, on a journey owned by the step's execution) and counts only when that write succeeded,
so a Task that Step Functions runs again finds the marker already moved and counts nothing; a journey is
at one wait at a time, so no key per visit is needed. The marker costs no state transition, no item and
one write per move; the step that moves it is the Task just before or just after the wait (``steps``),
and the end step takes a journey that ends while marked out of its wait. As with the other counts, a
crash between the marker's write and the counts' loses that move's count (the gauge is then off by one
for good; ``read`` never shows it below 0), and an execution stopped from outside (no end step runs)
stays counted where it waited, as it stays in progress. Not one transaction for both: the counters items
are hot (a broadcast's sends all update them), and transactions on a hot item fail on conflicts.
"""

from __future__ import annotations

import logging
import random
import zlib
from typing import Any

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path

from nudge.campaigns import journeys
from nudge.delivery import outcomes, states
from nudge.model.base import condition_failed, plain
from nudge.model.campaigns import CampaignMetrics, Journey

logger = logging.getLogger(__name__)

SHARDS = 4
CAMPAIGN = "campaign"  # the sort key of the campaign-level counters

ENTERED, EXITED, COMPLETED, CONVERTED, FAILED, SENT = (
    "entered",
    "exited",
    "completed",
    "converted",
    "failed",
    "sent",
)
SKIPPED = "skipped"  # a send block's message not queued because the person no longer matched the filters
IN_PROGRESS = "in_progress"  # computed: entered - exited - completed - failed
WAITING = "waiting"  # a gauge: people at a wait block now (``move_waiting``)
CAMPAIGN_METRICS = (ENTERED, EXITED, COMPLETED, CONVERTED, FAILED, SENT, WAITING)

# A trigger that started no journey, by reason (``executions.SKIP_REASONS``): "not_entered:<reason>" on the
# campaign's counters, answered as {"not_entered": {reason: count}}.
NOT_ENTERED = "not_entered"
WAITING_BLOCK = "waiting_block"  # the journey item's marker: the wait block its execution is in
_MOVE_ATTEMPTS = 2


def metrics_pk(workspace_id: str, campaign_id: str, shard: int) -> str:
    return f"{workspace_id}#c#{campaign_id}#metrics#{shard}"


def shard_of(key: str | None) -> int:
    if key is None:
        return random.randrange(SHARDS)  # noqa: S311 - load spreading, not security
    return zlib.crc32(key.encode()) % SHARDS


def increment(
    workspace_id: str,
    campaign_id: str,
    block: str | None,
    metric: str,
    by: int = 1,
    *,
    shard_key: str | None = None,
) -> None:
    """Add ``by`` to ``metric`` on the block's counters (the campaign's when ``block`` is None).

    ``shard_key`` (a cio_id) picks the shard; without one the shard is random."""
    add_counts(workspace_id, campaign_id, block, {metric: by}, shard_of(shard_key))


def add_counts(
    workspace_id: str, campaign_id: str, block: str | None, counts: dict[str, int], shard: int
) -> None:
    """Add each of ``counts`` to the block's (or the campaign's) counters of one shard, in one write: a
    page of one-send journeys (``direct_sends``) counts its people's entries and sends this way."""
    counts = {metric: by for metric, by in counts.items() if by}
    if not counts:
        return
    pk = metrics_pk(workspace_id, campaign_id, shard)
    item = CampaignMetrics(pk, block or CAMPAIGN, workspace_id=workspace_id)
    adds = [CampaignMetrics.counts[metric].add(by) for metric, by in counts.items()]
    for _ in range(2):
        try:
            # The nested path needs the map to exist: true for every write but a shard's first.
            item.update(actions=adds, condition=CampaignMetrics.counts.exists())
            return
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
        try:
            CampaignMetrics(pk, block or CAMPAIGN, workspace_id=workspace_id, counts=dict(counts)).save(
                condition=CampaignMetrics.pk.does_not_exist()
            )
            return
        except PutError as exc:
            if not condition_failed(exc):
                raise
            # Another writer created the item between our two calls: the update now works.
    item.update(actions=adds, condition=CampaignMetrics.counts.exists())


def count_not_entered(workspace_id: str, campaign_id: str, reason: str, *, shard_key: str) -> None:
    """A trigger the campaign's rules kept from starting a journey (frequency, a running journey, the
    filters...): counted by reason, so no skip is silent."""
    increment(workspace_id, campaign_id, None, f"{NOT_ENTERED}:{reason}", shard_key=shard_key)


def from_delivery(workspace_id: str, campaign_id: str, block: str | None, metric: str) -> None:
    """A campaign message's delivery metric (``opened``, ``bounced``, ``clicked``...), counted on its
    block and on the campaign. For the delivery pipeline's feedback, which knows no person shard."""
    if block:
        increment(workspace_id, campaign_id, block, metric)
    increment(workspace_id, campaign_id, None, metric)


def on_delivery_outcome(outcome: outcomes.Outcome) -> None:
    """A campaign message's delivery metric, the first time its delivery reaches it (``outcomes``'s
    subscriber). Not ``sent``: the send block counts that when it queues the message; nor the send's own
    verdicts on messages that did not go out (a journey's ``failed`` is a different count)."""
    if outcome.campaign_id and outcome.first and outcome.state != states.SENT and not outcome.decided_by_send:
        from_delivery(outcome.workspace_id, outcome.campaign_id, outcome.block, outcome.state)


def move_waiting(
    workspace_id: str,
    campaign_id: str,
    cio_id: str,
    execution: str,
    leaving: str | None,
    entering: str | None,
    key: str = journeys.SK,
) -> bool:
    """The person's journey on ``execution`` leaves the wait block ``leaving`` (None: it was at none) and
    enters ``entering`` (None: it is at none now). True when this call moved it and counted the move:
    ``waiting`` -1 on ``leaving``'s counters, +1 on ``entering``'s, and on the campaign's the difference.

    The journey's ``waiting_block`` moves first, conditional on being at ``leaving`` and on the journey
    belonging to ``execution``; the counts follow only when it moved. When the marker is not where the
    step expected it, it is read: already at ``entering`` means this move was made (a retried Task) and
    nothing is counted; a journey owned by another execution (this one is late) is left alone; anywhere
    else (a move the step before did not make) is moved from where it is, so the counts mend."""
    expected = leaving
    for _ in range(_MOVE_ATTEMPTS):
        if expected == entering:
            return False
        if _move_marker(workspace_id, campaign_id, cio_id, execution, expected, entering, key):
            _count_move(workspace_id, campaign_id, cio_id, expected, entering)
            return True
        owner, where = waiting_at(workspace_id, campaign_id, cio_id, key)
        if owner != execution:
            return False
        expected = where
    logger.warning("campaign waiting marker kept moving", extra={"campaign_id": campaign_id})
    return False


def leave_waiting(
    workspace_id: str, campaign_id: str, cio_id: str, execution: str, key: str = journeys.SK
) -> bool:
    """The journey on ``execution`` ends: it leaves whatever wait it is marked at (the end step, so a
    journey failing or timing out while waiting leaves no count behind). One consistent read; a write
    only when it was waiting."""
    owner, where = waiting_at(workspace_id, campaign_id, cio_id, key)
    if owner != execution or where is None:
        return False
    return move_waiting(workspace_id, campaign_id, cio_id, execution, where, None, key)


def waiting_at(
    workspace_id: str, campaign_id: str, cio_id: str, key: str = journeys.SK
) -> tuple[str | None, str | None]:
    """(the journey's execution, the wait block it is marked at), consistently read; (None, None) when
    there is no journey. Read raw: the marker is not a field of the Journey model."""
    pk = journeys.journey_pk(workspace_id, campaign_id, cio_id)
    found = Journey._get_connection().get_item(
        pk, key, consistent_read=True, attributes_to_get=["execution", WAITING_BLOCK]
    )
    item = found.get("Item") or {}
    return (item.get("execution") or {}).get("S"), (item.get(WAITING_BLOCK) or {}).get("S")


def _move_marker(
    workspace_id: str,
    campaign_id: str,
    cio_id: str,
    execution: str,
    leaving: str | None,
    entering: str | None,
    key: str,
) -> bool:
    # Not a field of the Journey model: only this module reads or writes it.
    marker = Path(WAITING_BLOCK)
    at: Condition = marker.does_not_exist() if leaving is None else marker == leaving
    action = marker.remove() if entering is None else marker.set(entering)
    journey = Journey(journeys.journey_pk(workspace_id, campaign_id, cio_id), key)
    try:
        journey.update(actions=[action], condition=(Journey.execution == execution) & at)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def _count_move(
    workspace_id: str, campaign_id: str, cio_id: str, leaving: str | None, entering: str | None
) -> None:
    if leaving is not None:
        increment(workspace_id, campaign_id, leaving, WAITING, -1, shard_key=cio_id)
    if entering is not None:
        increment(workspace_id, campaign_id, entering, WAITING, 1, shard_key=cio_id)
    if (leaving is None) != (entering is None):  # the campaign: one more, or one fewer, waiting
        increment(workspace_id, campaign_id, None, WAITING, 1 if leaving is None else -1, shard_key=cio_id)


def read(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    """``{"campaign": {metric: count, ..., "in_progress": n}, "blocks": {block: {metric: count}},
    "not_entered": {reason: count}}``.

    The campaign's standard metrics are always present (0 when never counted); a block's ``waiting`` is
    there once someone waited at it; a reason once a trigger was skipped for it."""
    campaign: dict[str, int] = dict.fromkeys(CAMPAIGN_METRICS, 0)
    blocks: dict[str, dict[str, int]] = {}
    not_entered: dict[str, int] = {}
    for shard in range(SHARDS):
        for item in CampaignMetrics.query(metrics_pk(workspace_id, campaign_id, shard)):
            counts = campaign if item.sk == CAMPAIGN else blocks.setdefault(item.sk, {})
            for metric, count in plain(item.counts).items():
                kind, _, reason = metric.partition(":")
                if item.sk == CAMPAIGN and kind == NOT_ENTERED:
                    not_entered[reason] = not_entered.get(reason, 0) + int(count)
                else:
                    counts[metric] = counts.get(metric, 0) + int(count)
    campaign[IN_PROGRESS] = max(
        0, campaign[ENTERED] - campaign[EXITED] - campaign[COMPLETED] - campaign[FAILED]
    )
    for counts in (campaign, *blocks.values()):
        if WAITING in counts:
            counts[WAITING] = max(0, counts[WAITING])  # a gauge is never below 0 (defensive)
    return {"campaign": campaign, "blocks": blocks, "not_entered": not_entered}
