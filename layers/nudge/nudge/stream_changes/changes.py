"""A DynamoDB stream record, read into a typed change of one of Nudge's tables.

The images are deserialized by the table's own PynamoDB model, so a change carries the same typed items
(``Person``, ``Device``, ``EventItem``, ...) the rest of the domain uses. A record that does not describe a
well-formed Nudge item raises ``InvalidChange``: the consumer reports it as a batch item failure, so it
is retried and then dead-lettered, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

from nudge.model import TABLE_MODELS
from nudge.settings import get_settings

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")


class InvalidChange(ValueError):
    """A stream record that is not a change of a well-formed Nudge item."""


@dataclass(frozen=True)
class Change:
    table: str  # logical table name: people, events, objects, segments
    event_name: str  # INSERT, MODIFY or REMOVE
    sequence_number: str
    workspace_id: str
    old: Model | None
    new: Model | None

    @property
    def item(self) -> Model:
        """The item as it is now, or as it was before a REMOVE."""
        item = self.new if self.new is not None else self.old
        assert item is not None  # from_stream_record guarantees one image
        return item


def table_of(stream_arn: str) -> str:
    """The logical table a stream ARN (``arn:...:table/<name>/stream/<label>``) belongs to."""
    _, _, rest = stream_arn.partition(":table/")
    name = rest.split("/stream/", 1)[0]
    settings = get_settings()
    for logical in TABLE_MODELS:
        if settings.table_name(logical) == name:
            return logical
    raise InvalidChange(f"stream {stream_arn!r} is not from one of Nudge's tables")


def _image(model: type[Model], image: dict[str, Any] | None) -> Model | None:
    if not image:
        return None
    try:
        item = model.from_raw_data(image)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidChange(f"unreadable {model.__name__} image: {exc}") from exc
    pk = getattr(item, "pk", None)
    scope = pk.split("#", 1)[0] if isinstance(pk, str) and "#" in pk else ""
    workspace_id = getattr(item, "workspace_id", None) or scope
    # Every key starts with its workspace; an item without that scope can never be evaluated safely.
    if not scope or workspace_id != scope:
        raise InvalidChange(f"{model.__name__} image has no workspace scope")
    item.workspace_id = workspace_id  # type: ignore[attr-defined]
    return item


def from_stream_record(record: dict[str, Any]) -> Change:
    event_name = record.get("eventName")
    if event_name not in EVENT_NAMES:
        raise InvalidChange(f"unknown stream event {event_name!r}")
    table = table_of(str(record.get("eventSourceARN", "")))
    body = record.get("dynamodb") or {}
    model = TABLE_MODELS[table]
    old = _image(model, body.get("OldImage"))
    new = _image(model, body.get("NewImage"))
    item = new or old
    if item is None:
        raise InvalidChange("stream record carries no image")
    return Change(
        table=table,
        event_name=str(event_name),
        sequence_number=str(body.get("SequenceNumber", "")),
        workspace_id=str(item.workspace_id),  # type: ignore[attr-defined]  # set by _image
        old=old,
        new=new,
    )
