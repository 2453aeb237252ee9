"""Events, per person (or per anonymous id) and time-ordered.

pk ``<ws>#p#<cio_id>`` or ``<ws>#a#<anonymous_id>``; sk is the event id, so a conditional put
deduplicates a resent event in one write. The ``by_time`` local index orders a partition by timestamp.
A person's events (not anonymous ones, until they are merged into a person) are also indexed by
workspace, newest first and sharded (``by_workspace``, on ``activity_shard``), for the workspace's
activity listing. Anonymous events expire after the 30-day merge look-back (TTL).
"""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from nudge.model.base import table_meta


class EventsByTime(LocalSecondaryIndex["EventItem"]):
    class Meta:
        index_name = "by_time"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    ts_key = UnicodeAttribute(range_key=True)


class EventsByWorkspace(GlobalSecondaryIndex["EventItem"]):
    """A workspace's events newest first for ``GET /v1/activities``, on the activity log's shard keys
    (``model.activities.activity_shard``); sparse: only events of a person carry the shard."""

    class Meta:
        index_name = "by_workspace"
        projection = AllProjection()  # a listing shows the event's data

    activity_shard = UnicodeAttribute(hash_key=True)
    ts_key = UnicodeAttribute(range_key=True)


class EventItem(Model):
    Meta = table_meta("events", stream=True)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ts_key = UnicodeAttribute()
    by_time = EventsByTime()
    activity_shard = UnicodeAttribute(null=True)  # events of a person only: the index is sparse
    by_workspace = EventsByWorkspace()
    workspace_id = UnicodeAttribute()
    cio_id = UnicodeAttribute(null=True)
    anonymous_id = UnicodeAttribute(null=True)
    event_id = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute(default="event")
    data: MapAttribute = MapAttribute(default=dict)
    timestamp = NumberAttribute()
    received_at = NumberAttribute()
    expires_at = TTLAttribute(null=True)
