"""Events: per person, and anonymous (merged into a person on identify: ``anonymous``).

An event with an ``id`` is stored under that id, so sending it twice stores one event: the second
conditional put fails and is answered as a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import PutError

from nudge import clock, ids
from nudge.errors import InvalidRequest
from nudge.model import EventItem
from nudge.model.activities import activity_shard
from nudge.model.base import condition_failed, plain
from nudge.model.keys import anonymous_pk, event_time_key, person_pk
from nudge.tracking import people
from nudge.tracking.anonymous import ANONYMOUS_LOOKBACK_SECONDS, merged_into
from nudge.tracking.anonymous import merge_anonymous as merge_anonymous  # callers merge through events too
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.limits import check_event_data, check_event_name, check_identifier, check_timestamp

EVENT_TYPES = ("event", "page", "screen")


@dataclass(frozen=True)
class EventRequest:
    name: str
    data: dict[str, Any]
    type: str
    timestamp: int | None
    event_id: str | None

    @classmethod
    def parse(
        cls, body: dict[str, Any], *, data_key: str = "data", event_type: str | None = None
    ) -> EventRequest:
        name = check_event_name(body.get("name"))
        data = check_event_data(body.get(data_key))
        kind = event_type or body.get("type") or "event"
        if kind not in EVENT_TYPES:
            raise InvalidRequest("type must be one of event, page, screen", field="type")
        event_id = None
        if body.get("id") not in (None, ""):
            event_id = check_identifier(body["id"], "id")
        return cls(name, data, kind, check_timestamp(body.get("timestamp")), event_id)


def track(workspace_id: str, ref: PersonRef, req: EventRequest) -> bool:
    """Record an event for a person (created if new). False when dropped (suppressed) or a duplicate."""
    cio = people.find_or_create(workspace_id, ref)
    if cio is None:
        return False
    return _store(workspace_id, person_pk(workspace_id, cio), req, cio_id=cio)


def track_anonymous(workspace_id: str, anonymous_id: str | None, req: EventRequest) -> bool:
    """An event with no person yet. One whose anonymous id was already merged goes to that person."""
    if anonymous_id is None:
        # Not attributable to anyone: kept for the look-back window under its own partition.
        event_id = req.event_id or ids.ulid()
        return _store(workspace_id, f"{workspace_id}#e#{event_id}", req, expires=True)
    anonymous_id = check_identifier(anonymous_id, "anonymous_id")
    cio = merged_into(workspace_id, anonymous_id)
    if cio is not None:
        return _store(workspace_id, person_pk(workspace_id, cio), req, cio_id=cio)
    return _store(
        workspace_id, anonymous_pk(workspace_id, anonymous_id), req, anonymous_id=anonymous_id, expires=True
    )


def _store(
    workspace_id: str,
    pk: str,
    req: EventRequest,
    *,
    cio_id: str | None = None,
    anonymous_id: str | None = None,
    expires: bool = False,
) -> bool:
    now = clock.now()
    timestamp = req.timestamp if req.timestamp is not None else now
    event_id = req.event_id or ids.ulid()
    item = EventItem(
        pk,
        event_id,
        ts_key=event_time_key(timestamp, event_id),
        workspace_id=workspace_id,
        cio_id=cio_id,
        anonymous_id=anonymous_id,
        # A person's events are listed workspace-wide among the activities; anonymous ones once merged.
        activity_shard=activity_shard(workspace_id, event_id) if cio_id else None,
        event_id=event_id,
        name=req.name,
        type=req.type,
        data=req.data,
        timestamp=timestamp,
        received_at=now,
        expires_at=datetime.fromtimestamp(now + ANONYMOUS_LOOKBACK_SECONDS, UTC) if expires else None,
    )
    try:
        item.save(condition=EventItem.sk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False  # the same event id again: already stored
        raise
    return True


def list_events(workspace_id: str, cio_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The person's most recent events, newest first (a bounded query on the time index)."""
    items = EventItem.by_time.query(person_pk(workspace_id, cio_id), scan_index_forward=False, limit=limit)
    return [
        {
            "id": e.event_id,
            "name": e.name,
            "type": e.type,
            "data": plain(e.data),
            "timestamp": int(e.timestamp),
        }
        for e in items
    ]
