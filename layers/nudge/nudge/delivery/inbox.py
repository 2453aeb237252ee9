"""In-app messages: stored per person when sent; the SDK-facing API fetches them and marks them opened
or dismissed (which also records the metric on the delivery)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import PutError

from nudge import clock
from nudge.delivery import feedback, states
from nudge.errors import InvalidRequest, NotFound
from nudge.model.base import condition_failed
from nudge.model.deliveries import InboxMessage

if TYPE_CHECKING:
    from nudge.delivery.compose import InApp

RETENTION_SECONDS = 90 * 86400
DISMISSED = "dismissed"
ACTIONS = (states.OPENED, DISMISSED)  # what a person does to an in-app message, and its inbox state after


def inbox_pk(workspace_id: str, cio_id: str) -> str:
    return f"{workspace_id}#inbox#{cio_id}"


def store(message: InApp) -> None:
    now = clock.now()
    item = InboxMessage(
        inbox_pk(message.workspace_id, message.cio_id),
        f"{now:012d}#{message.delivery_id}",
        workspace_id=message.workspace_id,
        delivery_id=message.delivery_id,
        payload_json=json.dumps(dict(message.payload), separators=(",", ":")),
        created_at=now,
        expires_at=datetime.fromtimestamp(now + RETENTION_SECONDS, UTC),
    )
    try:
        item.save(condition=InboxMessage.pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def messages(workspace_id: str, cio_id: str) -> list[dict[str, Any]]:
    """Messages not dismissed, newest first."""
    found = InboxMessage.query(inbox_pk(workspace_id, cio_id), scan_index_forward=False, limit=100)
    return [
        {
            "delivery_id": item.delivery_id,
            "state": item.state,
            "created_at": int(item.created_at),
            **json.loads(item.payload_json),
        }
        for item in found
        if isinstance(item, InboxMessage) and item.state != "dismissed"
    ]


def mark(workspace_id: str, cio_id: str, delivery_id: str, action: str) -> None:
    if action not in ACTIONS:
        raise InvalidRequest("action must be opened or dismissed", field="action")
    for item in InboxMessage.query(inbox_pk(workspace_id, cio_id), scan_index_forward=False, limit=100):
        if isinstance(item, InboxMessage) and item.delivery_id == delivery_id:
            item.update(actions=[InboxMessage.state.set(action)])
            break
    else:
        raise NotFound(f"in-app message {delivery_id} not found")
    if action == states.OPENED:
        feedback.client_metric(workspace_id, delivery_id, states.OPENED, clock.now())
