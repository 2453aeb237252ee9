"""Activities newest first: a person's, or a workspace's, from two sources merged by time.

Events and page views are read where they are stored, the events table; everything else from the
activity log (``model.activities``). Both key a person's items ``<ws>#...#<cio_id>`` / ``<id>`` with a
``ts_key`` (``<timestamp:012d>#<id>``) index, and both index a person's items workspace-wide on the same
sharded keys, so one merge (``model.newest_first``) pages them together:

- a person: two Queries a round, their events' ``by_time`` and their log's ``by_time``;
- a workspace: one Query per shard key of each source (2 x ``ACTIVITY_SHARDS``), on ``by_workspace``.

A ``type`` names one source, so the other is not read. Without ``type`` or ``name`` a page reads at most
``limit`` entries per key; with them, ``FILTER_CHUNK`` per key a round and at most ``FILTER_BUDGET`` a
request, and a page may come back short with a ``next`` to go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nudge.activities import kinds
from nudge.errors import InvalidRequest
from nudge.model import EventItem, Person
from nudge.model.activities import ACTIVITY_SHARDS, ActivityItem, activity_pk
from nudge.model.base import plain
from nudge.model.keys import person_pk
from nudge.model.newest_first import Page, ShardedIndex, page
from nudge.model.people import profiles

FILTER_CHUNK = 100
FILTER_BUDGET = 5000
NAME_MAX = 255  # an event name is at most 255 bytes; an attribute name or segment id is shorter
_TEXT_MAX = 300  # a position's ts_key or item key: 12 digits, '#', an id of at most 150 bytes


@dataclass(frozen=True)
class Filters:
    type: str | None = None
    name: str | None = None

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        activity_type = query.get("type") or None
        if activity_type is not None and activity_type not in kinds.ALL_TYPES:
            raise InvalidRequest(kinds.describe_allowed(), field="type")
        name = query.get("name") or None
        if name is not None and len(name) > NAME_MAX:
            raise InvalidRequest(f"name must be at most {NAME_MAX} characters", field="name")
        return cls(activity_type, name)

    @property
    def any(self) -> bool:
        return bool(self.type or self.name)

    def reads_events(self) -> bool:
        return self.type is None or self.type in kinds.EVENT_TYPES

    def reads_log(self) -> bool:
        return self.type is None or self.type not in kinds.EVENT_TYPES

    def keep(self, item: EventItem | ActivityItem) -> bool:
        if self.type and item.type != self.type:
            return False
        return not self.name or item.name == self.name


Item = EventItem | ActivityItem
Position = list[str]  # [ts_key, cio_id, the item's sort key]


def _position(item: Item) -> Position:
    return [str(item.ts_key), str(item.cio_id), str(item.sk)]


def _order(item: Item) -> str:
    return str(item.ts_key)


def _valid_position(value: Any) -> bool:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, str) for v in value)):
        return False
    ts_key, cio_id, sk = value
    stamp, _, rest = ts_key.partition("#")
    return (
        len(stamp) == 12
        and stamp.isascii()
        and stamp.isdigit()
        and 0 < len(rest) <= _TEXT_MAX
        and 0 < len(cio_id) <= 64
        and cio_id.isascii()
        and cio_id.isalnum()
        and 0 < len(sk) <= _TEXT_MAX
    )


def _run(query: Any) -> tuple[Sequence[Item], bool]:
    entries = list(query)
    return entries, query.last_evaluated_key is not None


def person_index(workspace_id: str, cio_id: str, filters: Filters) -> ShardedIndex[Item]:
    """Source 0: the person's events; 1: their log entries."""
    events_pk, log_pk = person_pk(workspace_id, cio_id), activity_pk(workspace_id, cio_id)

    def query(source: int, at: Position | None, size: int) -> tuple[Sequence[Item], bool]:
        pk, model = (events_pk, EventItem) if source == 0 else (log_pk, ActivityItem)
        if not (filters.reads_events() if source == 0 else filters.reads_log()):
            return [], False
        start = None if at is None else {"pk": {"S": pk}, "sk": {"S": at[2]}, "ts_key": {"S": at[0]}}
        return _run(model.by_time.query(pk, scan_index_forward=False, limit=size, last_evaluated_key=start))

    return ShardedIndex(2, query, _order, _position, _valid_position)


def workspace_index(workspace_id: str, filters: Filters) -> ShardedIndex[Item]:
    """Sources 0..ACTIVITY_SHARDS-1: the events' shard keys; the rest: the log's."""

    def query(source: int, at: Position | None, size: int) -> tuple[Sequence[Item], bool]:
        events = source < ACTIVITY_SHARDS
        if not (filters.reads_events() if events else filters.reads_log()):
            return [], False
        key = f"{workspace_id}#{source % ACTIVITY_SHARDS}"
        start = None
        if at is not None:
            pk = person_pk(workspace_id, at[1]) if events else activity_pk(workspace_id, at[1])
            start = {
                "activity_shard": {"S": key},
                "ts_key": {"S": at[0]},
                "pk": {"S": pk},
                "sk": {"S": at[2]},
            }
        index: Any = EventItem.by_workspace if events else ActivityItem.by_workspace
        return _run(index.query(key, scan_index_forward=False, limit=size, last_evaluated_key=start))

    return ShardedIndex(2 * ACTIVITY_SHARDS, query, _order, _position, _valid_position)


def list_page(index: ShardedIndex[Item], filters: Filters, *, limit: int, start: str | None) -> Page[Item]:
    if not filters.any:
        return page(index, start, limit)
    return page(index, start, limit, keep=filters.keep, chunk=FILTER_CHUNK, budget=FILTER_BUDGET)


# --- the answer --------------------------------------------------------------------------------------


def identifiers_of(workspace_id: str, cio_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Each person's identifiers, in one BatchGetItem per 100 people (a page holds at most 100). A person
    deleted since is missing (and their activities are not shown)."""
    found = profiles(workspace_id, sorted(cio_ids), attributes=["cio_id", "id", "email"])
    return {cio_id: _identifiers(person) for cio_id, person in found.items()}


def _identifiers(person: Person) -> dict[str, Any]:
    return {"id": person.person_id, "email": person.email, "cio_id": person.cio_id}


def person_identifiers(person: Person) -> dict[str, dict[str, Any]]:
    return {person.cio_id: _identifiers(person)}


def to_api(item: Item, identifiers: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    who = identifiers(str(item.cio_id))
    message = item if isinstance(item, ActivityItem) else None  # events are no message's
    return {
        "id": str(item.sk),
        "customer_id": who.get("id"),
        "customer_identifiers": who,
        "delivery_id": message.delivery_id if message else None,
        "delivery_type": message.delivery_type if message else None,
        "timestamp": int(item.timestamp),
        "type": item.type,
        "name": item.name,
        "data": plain(item.data),
    }
