"""Which stream records mean "send this": a delivery item whose new image is ``queued`` and whose old
image was not (an insert, a scheduled one whose time came, a retry after throttling)."""

from __future__ import annotations

import json
from typing import Any

from nudge.delivery import states


def _string(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, dict) else None


def newly_queued(record: dict[str, Any]) -> tuple[str, str] | None:
    """(workspace id, delivery id) when the record asks for a send, else None."""
    body = record.get("dynamodb") or {}
    new = body.get("NewImage") or {}
    if _string(new, "kind") != "delivery" or _string(new, "state") != states.QUEUED:
        return None
    old = body.get("OldImage") or {}
    if _string(old, "state") == states.QUEUED:
        return None  # a change to a delivery already queued (its record was handled)
    workspace_id, delivery_id = _string(new, "workspace_id"), _string(new, "delivery_id")
    if not workspace_id or not delivery_id:
        return None
    return workspace_id, delivery_id


def correlation_id(record: dict[str, Any]) -> str:
    """The correlation id the delivery's request carries (the API request that queued a transactional
    send), read from the record's new image: no read of the table. Empty when it has none."""
    text = _string((record.get("dynamodb") or {}).get("NewImage") or {}, "request_json")
    try:
        request = json.loads(text) if text else {}
    except ValueError:
        return ""
    found = request.get("correlation_id") if isinstance(request, dict) else None
    return found if isinstance(found, str) else ""


# The event source mapping's filter (infra): only records of deliveries. Those that are not newly queued
# are not sent, but the metrics they reached go to the activity log (``nudge.activities.log``).
STREAM_FILTER = {"dynamodb": {"NewImage": {"kind": {"S": ["delivery"]}}}}
