"""A workspace's messages newest first (``GET /v1/messages``), filtered by channel, metric or campaign, and
a message's retained content (``GET /v1/messages/{id}/archived_message``).

The listing reads the deliveries' ``by_workspace`` index (sharded: ``model.newest_first`` merges the
shards): its entries are the deliveries' listing items (``model.deliveries.DeliveryListing``: what never
changes), the page's read with their deliveries' state, metrics and recipient (``records.resolve``: one
BatchGetItem, half a read unit per delivery; with a ``metric`` filter, every entry read is, as the metric
is on the delivery), and, for deliveries queued before listing items existed, the deliveries themselves
as the index projects them. Without a filter a page reads at
most ``limit`` entries per shard; with one, 100 entries per shard a round and at most 5,000 a request,
and a page may come back short with a ``next`` to continue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nudge.delivery import records, states
from nudge.delivery.channel_names import ALIASES, CHANNELS
from nudge.errors import InvalidRequest, NotFound
from nudge.model.deliveries import MESSAGE_SHARDS, DeliveriesItem, Delivery
from nudge.model.newest_first import Page, ShardedIndex, page

FILTER_CHUNK = 100
FILTER_BUDGET = 5000


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    metric: str | None = None
    campaign_id: str | None = None

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        channel = query.get("type") or None
        if channel is not None:
            channel = ALIASES.get(channel, channel)  # Customer.io's ``twilio`` is SMS
            if channel not in CHANNELS:
                raise InvalidRequest(f"type must be one of {', '.join(CHANNELS)}", field="type")
        metric = query.get("metric") or None
        if metric is not None and metric not in states.STATES:
            raise InvalidRequest(f"metric must be one of {', '.join(states.STATES)}", field="metric")
        campaign_id = query.get("campaign_id") or None
        if campaign_id is not None and len(campaign_id) > 150:
            raise InvalidRequest("campaign_id must be at most 150 characters", field="campaign_id")
        return cls(channel, metric, campaign_id)

    @property
    def any(self) -> bool:
        return bool(self.channel or self.metric or self.campaign_id)

    def keep(self, item: DeliveriesItem) -> bool:
        if self.channel and getattr(item, "channel", None) != self.channel:
            return False
        if self.metric and self.metric not in (getattr(item, "metrics", None) or {}):
            return False
        return not self.campaign_id or str(getattr(item, "campaign_id", None)) == self.campaign_id


def _valid_position(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 200:
        return False
    created, _, delivery_id = value.partition("#")
    return len(created) == 12 and created.isascii() and created.isdigit() and records.valid_id(delivery_id)


def _index(workspace_id: str, *, resolved: bool) -> ShardedIndex[DeliveriesItem]:
    """The workspace's index; ``resolved``: each Query's entries read with their deliveries (a filter on
    a metric needs them before it can pass an entry over)."""

    def query(shard: int, at: str | None, size: int) -> tuple[Sequence[DeliveriesItem], bool]:
        key = f"{workspace_id}#{shard}"
        start = None
        if at is not None:
            start = {
                "workspace_shard": {"S": key},
                "created_key": {"S": at},
                "pk": {"S": records.delivery_pk(workspace_id, at.partition("#")[2])},
                "sk": {"S": records.SK},
            }
        result = DeliveriesItem.by_workspace.query(
            key, scan_index_forward=False, limit=size, last_evaluated_key=start
        )
        entries = list(result)
        return (records.resolve(entries) if resolved else entries), result.last_evaluated_key is not None

    def position(item: DeliveriesItem) -> str:
        return str(item.created_key)

    return ShardedIndex(MESSAGE_SHARDS, query, position, position, _valid_position)


def list_messages(
    workspace_id: str, filters: Filters, *, limit: int, start: str | None
) -> Page[DeliveriesItem]:
    # Channel and campaign are on the listing items: only the page's deliveries are read, once it is
    # settled. A metric is on the deliveries: every entry a filtered round reads is read with its own.
    index = _index(workspace_id, resolved=filters.metric is not None)
    if not filters.any:
        found = page(index, start, limit)
    else:
        found = page(index, start, limit, keep=filters.keep, chunk=FILTER_CHUNK, budget=FILTER_BUDGET)
    entries = found.entries if filters.metric is not None else records.resolve(found.entries)
    # A listing item without its delivery (queueing died between the two writes) is passed over.
    return Page([e for e in entries if isinstance(e, Delivery)], found.next, found.read)


def archived(workspace_id: str, delivery_id: str) -> dict[str, Any]:
    """Customer.io's ``archived_message``: the content as it was sent. ``forgotten`` when none was kept
    (retention disabled for the send, content over the retention limit, or not sent yet)."""
    delivery = records.load(workspace_id, delivery_id)
    if delivery is None:
        raise NotFound(f"message {delivery_id} not found")
    answer: dict[str, Any] = {
        "id": delivery.delivery_id,
        "type": delivery.channel,
        "recipient": delivery.recipient,
        "created": int(delivery.created_at),
    }
    # The content is kept just before the send is recorded; until then the message is not sent yet and
    # has no recipient to show.
    in_flight = delivery.state in (states.DRAFTED, states.SCHEDULED, states.QUEUED, states.ATTEMPTED)
    content = None if in_flight else records.content_of(delivery)
    answer["forgotten"] = not content
    if content:
        answer.update(_content(delivery, content))
    return answer


def _content(delivery: Delivery, content: dict[str, Any]) -> dict[str, Any]:
    """Retained fields under Customer.io's names where it has them (``body``, ``subject``), the rest as
    retained; an email's ``body`` is its HTML as rendered (links untracked, as "view in browser" shows
    it), ``body_plain`` its text."""
    shown = dict(content)
    if delivery.channel == "email":
        html, text = shown.pop("html", None), shown.pop("text", None)
        shown["body"] = html if html is not None else text
        shown["body_plain"] = text
    elif "body" not in shown and "text" in shown:
        shown["body"] = shown.pop("text")
    return shown
