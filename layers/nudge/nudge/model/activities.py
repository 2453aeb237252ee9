"""The activity log: what happened to a person that no other table keeps in a listable form.

Attribute changes, segment entries and exits, and each metric a message reaches (sent, delivered,
opened, ...) are recorded here by the stream consumers that see them happen; events and page views are
not copied, they are read from the events table (``model.events``), which has the same key shape.

Items (pk / sk): ``<ws>#act#<cio_id>`` / ``<activity id>``. The id is derived from what caused the
activity (a stream record's sequence number, a delivery id and metric), so a record delivered again
writes the same item again instead of a second one. ``by_time`` (local) orders a person's activities
newest first; ``by_workspace`` (global, sharded ``ACTIVITY_SHARDS`` ways per workspace so a broadcast's
metrics do not all land on one key) orders a workspace's. Items expire after the retention setting
(``NUDGE_ACTIVITY_RETENTION_DAYS``, TTL).
"""

from __future__ import annotations

import zlib

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from nudge.model.base import table_meta

ACTIVITY_SHARDS = 8


def activity_pk(workspace_id: str, cio_id: str) -> str:
    return f"{workspace_id}#act#{cio_id}"


def activity_shard(workspace_id: str, item_id: str) -> str:
    """Which of the workspace's ``by_workspace`` keys an activity (or an event) sits under: from its id,
    so a broadcast's thousands of metrics a second spread evenly."""
    return f"{workspace_id}#{zlib.crc32(item_id.encode()) % ACTIVITY_SHARDS}"


class ActivitiesByTime(LocalSecondaryIndex["ActivityItem"]):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    ts_key = UnicodeAttribute(range_key=True)


class ActivitiesByWorkspace(GlobalSecondaryIndex["ActivityItem"]):
    class Meta:
        index_name = "by_workspace"
        projection = AllProjection()  # an activity is small and a listing shows all of it

    activity_shard = UnicodeAttribute(hash_key=True)  # ``<ws>#<0..ACTIVITY_SHARDS-1>``
    ts_key = UnicodeAttribute(range_key=True)


class ActivityItem(Model):
    Meta = table_meta("activities", stream=False)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # the activity id
    ts_key = UnicodeAttribute()  # ``<timestamp:012d>#<activity id>``
    by_time = ActivitiesByTime()
    activity_shard = UnicodeAttribute()
    by_workspace = ActivitiesByWorkspace()
    workspace_id = UnicodeAttribute()
    cio_id = UnicodeAttribute()
    type = UnicodeAttribute()  # Customer.io's activity type: attribute_change, sent_email, ...
    name = UnicodeAttribute(null=True)  # the attribute's name, the segment's id
    data: MapAttribute = MapAttribute(default=dict)
    delivery_id = UnicodeAttribute(null=True)
    delivery_type = UnicodeAttribute(null=True)  # the message's channel, in Customer.io's words
    timestamp = NumberAttribute()
    expires_at = TTLAttribute()
