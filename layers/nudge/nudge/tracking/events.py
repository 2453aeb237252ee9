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
from nudge.tracking.body_fields import BodyField, body_schema, read_fields
from nudge.tracking.event_types import EVENT_TYPES, EventType
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.limits import (
    EVENT_DATA_SCHEMA,
    EVENT_NAME_SCHEMA,
    OPTIONAL_IDENTIFIER_SCHEMA,
    TIMESTAMP_SCHEMA,
    check_event_data,
    check_event_name,
    check_timestamp,
    optional_identifier,
)


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
        """A v1 body; a v2 operation's (its data in ``attributes``, its type named by its action)."""
        source = {key: body.get(key) for key in _FIELDS} | {"data": body.get(data_key)}
        if event_type is not None:
            source["type"] = event_type
        return cls(**read_fields(_FIELDS, source))


def parse_anonymous(body: dict[str, Any]) -> tuple[str | None, EventRequest]:
    """An anonymous event's body: its ``anonymous_id`` (None when left out) and the event."""
    event = EventRequest.parse(body)
    return read_fields(_ANONYMOUS, body)["anonymous_id"], event


def _event_type(value: Any, name: str) -> str:
    kind = value or EventType.EVENT
    if kind not in EVENT_TYPES:
        raise InvalidRequest(f"type must be one of {', '.join(EVENT_TYPES)}", field=name)
    return str(kind)


# An event body's fields, in the order they are checked (the first broken rule is the one answered).
_FIELDS: dict[str, BodyField] = {
    "name": BodyField(lambda value, _name: check_event_name(value), EVENT_NAME_SCHEMA, required=True),
    "data": BodyField(lambda value, _name: check_event_data(value), EVENT_DATA_SCHEMA),
    "type": BodyField(_event_type, {"type": "string", "enum": list(EVENT_TYPES)}),
    "id": BodyField(
        optional_identifier,
        {**OPTIONAL_IDENTIFIER_SCHEMA, "description": "deduplicates: the same id is stored once"},
        attribute="event_id",
    ),
    "timestamp": BodyField(check_timestamp, TIMESTAMP_SCHEMA),
}
_ANONYMOUS: dict[str, BodyField] = {
    "anonymous_id": BodyField(optional_identifier, OPTIONAL_IDENTIFIER_SCHEMA)
}
EVENT_SCHEMA: dict[str, Any] = body_schema(_FIELDS)
ANONYMOUS_EVENT_SCHEMA: dict[str, Any] = body_schema({**_FIELDS, **_ANONYMOUS})


def track(workspace_id: str, ref: PersonRef, req: EventRequest) -> bool:
    """Record an event for a person (created if new). False when dropped (suppressed) or a duplicate."""
    cio = people.find_or_create(workspace_id, ref)
    if cio is None:
        return False
    return _store(workspace_id, person_pk(workspace_id, cio), req, cio_id=cio)


def track_anonymous(workspace_id: str, anonymous_id: str | None, req: EventRequest) -> bool:
    """An event with no person yet (``anonymous_id`` read by :func:`parse_anonymous`). One whose anonymous
    id was already merged goes to that person."""
    if anonymous_id is None:
        # Not attributable to anyone: kept for the look-back window under its own partition.
        event_id = req.event_id or ids.ulid()
        return _store(workspace_id, f"{workspace_id}#e#{event_id}", req, expires=True)
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
