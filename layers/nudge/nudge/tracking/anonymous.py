"""Anonymous events and the person they belong to: an anonymous id is linked to the first person
identified with it, and its events (within the look-back window) move to that person. Identify and a
merge of two people do this (``people``, ``merge``); storing an anonymous event reads the link
(``events``)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.model import EventItem, IdentifierLookup
from nudge.model.activities import activity_shard
from nudge.model.keys import LOOKUP, anonymous_pk, event_time_key, lookup_pk, person_pk

ANONYMOUS_LOOKBACK_SECONDS = 30 * 24 * 3600


def merged_into(workspace_id: str, anonymous_id: str) -> str | None:
    """The cio_id of the person the anonymous id was merged into, if any."""
    try:
        return IdentifierLookup.get(lookup_pk(workspace_id, "anonymous", anonymous_id), LOOKUP).cio_id
    except DoesNotExist:
        return None


def merge_anonymous(workspace_id: str, cio_id: str, anonymous_id: str) -> int:
    """Move the anonymous id's events (within the 30-day look-back) to the person. Returns the count.

    The link is written first, so events arriving during the merge go straight to the person; the copy
    is keyed by event id, so a retried merge never duplicates.
    """
    link = IdentifierLookup(
        lookup_pk(workspace_id, "anonymous", anonymous_id), LOOKUP, workspace_id=workspace_id, cio_id=cio_id
    )
    owner = merged_into(workspace_id, anonymous_id)
    if owner is not None and owner != cio_id:
        return 0  # an anonymous id belongs to the first person it was merged into
    if owner is None:
        link.save()
    source = anonymous_pk(workspace_id, anonymous_id)
    since = event_time_key(max(clock.now() - ANONYMOUS_LOOKBACK_SECONDS, 0), "")
    moved = list(EventItem.by_time.query(source, EventItem.ts_key >= since))
    target = person_pk(workspace_id, cio_id)
    with EventItem.batch_write() as batch:
        for event in moved:
            copy = EventItem(
                target,
                event.sk,
                **{
                    name: getattr(event, name)
                    for name in (
                        "ts_key",
                        "workspace_id",
                        "event_id",
                        "name",
                        "type",
                        "data",
                        "timestamp",
                        "received_at",
                    )
                },
            )
            copy.cio_id = cio_id
            copy.anonymous_id = anonymous_id
            copy.activity_shard = activity_shard(workspace_id, event.event_id)
            batch.save(copy)
    with EventItem.batch_write() as batch:
        for event in EventItem.query(source, attributes_to_get=["pk", "sk"]):
            batch.delete(event)
    return len(moved)
