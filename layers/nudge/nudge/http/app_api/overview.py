"""The console's Overview: ``GET /v1/overview``, a workspace's numbers at a glance in one request.

What it reads, whatever the workspace's size except where said:

- ``people``: the live people count from billing's metered counters (``api.segment_preview``'s
  population: the open period's opening count plus what was created and deleted since; a few batched
  reads). It trails the data by the streams' lag.
- ``messages_by_channel``: this billing period's metered messages per channel (one batch of counter
  reads, the numbers ``GET /v1/billing/usage`` shows; sends through the workspace's own SMTP are not
  metered, so not counted here).
- ``active_campaigns``: the workspace's campaigns (one Query of its campaign partition).
- ``messages_per_day``: the last ``DAYS`` days of deliveries to the workspace's people (not Nudge's own
  mail nor template tests, which are not metered either), counted per UTC day from the deliveries'
  ``by_workspace`` index entries (one bounded Query per shard, the range key starting at the window's
  first second). This read grows with the messages of the window, so it stops at ``DAY_READ_MAX``
  entries per shard and then says ``messages_per_day_complete: false`` (counts from the newest days
  backwards, older days short).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nudge import clock, workspaces
from nudge.billing import invoicing, metering
from nudge.campaigns import store
from nudge.delivery.records import ADDRESSED_SOURCES
from nudge.http.app_api.segment_preview import _population
from nudge.http.routing import Request, Response, Route
from nudge.model.deliveries import MESSAGE_SHARDS, DeliveriesItem

DAYS = 30
DAY_READ_MAX = 5000  # index entries read per shard for the daily chart (40,000 a request at most)


def _days(now: int) -> list[str]:
    today = datetime.fromtimestamp(now, UTC).date()
    return [(today - timedelta(days=back)).isoformat() for back in range(DAYS - 1, -1, -1)]


def messages_per_day(workspace_id: str, now: int) -> tuple[list[dict[str, Any]], bool]:
    """Deliveries per UTC day over the last ``DAYS`` days, oldest first, and whether every one was read."""
    days = _days(now)
    counts = dict.fromkeys(days, 0)
    since = int(datetime.fromisoformat(days[0]).replace(tzinfo=UTC).timestamp())
    complete = True
    for shard in range(MESSAGE_SHARDS):
        result = DeliveriesItem.by_workspace.query(
            f"{workspace_id}#{shard}",
            DeliveriesItem.created_key >= f"{since:012d}",
            scan_index_forward=False,
            page_size=min(DAY_READ_MAX, 1000),
        )
        for read, item in enumerate(result, start=1):
            created = int(str(item.created_key).partition("#")[0])
            day = datetime.fromtimestamp(created, UTC).date().isoformat()
            if day in counts and getattr(item, "source", None) not in ADDRESSED_SOURCES:
                counts[day] += 1
            if read >= DAY_READ_MAX:
                complete = False
                break
    return [{"day": day, "count": counts[day]} for day in days], complete


def _overview(req: Request) -> Response:
    workspace = workspaces.load(req.workspace_id)
    period = invoicing.current_period(workspace)
    used = dict(metering.read_usage(req.workspace_id, period.period_id).messages)  # every channel
    campaigns = store.list_campaigns(req.workspace_id)
    per_day, complete = messages_per_day(req.workspace_id, clock.now())
    return 200, {
        "people": _population(req.workspace_id),
        "period": {"start": period.starts, "end": period.ends},
        "messages_by_channel": used,
        "active_campaigns": sum(1 for c in campaigns if c.get("state") == "active"),
        "messages_per_day": per_day,
        "messages_per_day_complete": complete,
    }


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/overview", _overview, "The workspace at a glance: people, messages, campaigns"),
)
