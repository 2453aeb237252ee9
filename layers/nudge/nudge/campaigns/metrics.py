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
"""

from __future__ import annotations

import random
import zlib
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from nudge.model.base import condition_failed, plain
from nudge.model.campaigns import CampaignMetrics

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
CAMPAIGN_METRICS = (ENTERED, EXITED, COMPLETED, CONVERTED, FAILED, SENT)


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
    pk = metrics_pk(workspace_id, campaign_id, shard_of(shard_key))
    item = CampaignMetrics(pk, block or CAMPAIGN, workspace_id=workspace_id)
    add = CampaignMetrics.counts[metric].add(by)
    for _ in range(2):
        try:
            # The nested path needs the map to exist: true for every write but a shard's first.
            item.update(actions=[add], condition=CampaignMetrics.counts.exists())
            return
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
        try:
            CampaignMetrics(pk, block or CAMPAIGN, workspace_id=workspace_id, counts={metric: by}).save(
                condition=CampaignMetrics.pk.does_not_exist()
            )
            return
        except PutError as exc:
            if not condition_failed(exc):
                raise
            # Another writer created the item between our two calls: the update now works.
    item.update(actions=[add], condition=CampaignMetrics.counts.exists())


def from_delivery(workspace_id: str, campaign_id: str, block: str | None, metric: str) -> None:
    """A campaign message's delivery metric (``opened``, ``bounced``, ``clicked``...), counted on its
    block and on the campaign. For the delivery pipeline's feedback, which knows no person shard."""
    if block:
        increment(workspace_id, campaign_id, block, metric)
    increment(workspace_id, campaign_id, None, metric)


def read(workspace_id: str, campaign_id: str) -> dict[str, Any]:
    """``{"campaign": {metric: count, ..., "in_progress": n}, "blocks": {block: {metric: count}}}``.

    The campaign's standard metrics are always present (0 when never counted)."""
    campaign: dict[str, int] = dict.fromkeys(CAMPAIGN_METRICS, 0)
    blocks: dict[str, dict[str, int]] = {}
    for shard in range(SHARDS):
        for item in CampaignMetrics.query(metrics_pk(workspace_id, campaign_id, shard)):
            counts = campaign if item.sk == CAMPAIGN else blocks.setdefault(item.sk, {})
            for metric, count in plain(item.counts).items():
                counts[metric] = counts.get(metric, 0) + int(count)
    campaign[IN_PROGRESS] = max(
        0, campaign[ENTERED] - campaign[EXITED] - campaign[COMPLETED] - campaign[FAILED]
    )
    return {"campaign": campaign, "blocks": blocks}
