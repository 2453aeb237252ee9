"""Lambda-shaped DynamoDB stream records for tests (the one place they are built by hand)."""

from __future__ import annotations

from typing import Any

ACCOUNT = "123456789012"


def event_insert(table_name: str, sequence: str, *, name: str = "x") -> dict[str, Any]:
    """An events-table INSERT, as the evaluate function receives it from ``table_name``'s stream."""
    return {
        "eventID": sequence,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table_name}/stream/1",
        "dynamodb": {
            "SequenceNumber": sequence,
            "NewImage": {
                "pk": {"S": "w#p#c"},
                "sk": {"S": "e1"},
                "ts_key": {"S": "1#e1"},
                "workspace_id": {"S": "w"},
                "event_id": {"S": "e1"},
                "name": {"S": name},
                "timestamp": {"N": "1"},
                "received_at": {"N": "1"},
            },
        },
    }


def delivery_change(
    workspace_id: str,
    delivery_id: str,
    sequence: str,
    *,
    state: str = "queued",
    old_state: str | None = None,
    kind: str = "delivery",
) -> dict[str, Any]:
    """A deliveries-table record, as the send function receives it: an INSERT of a delivery in
    ``state``, or a MODIFY from ``old_state`` when one is given."""

    def image(item_state: str) -> dict[str, Any]:
        return {
            "pk": {"S": f"{workspace_id}#d#{delivery_id}"},
            "sk": {"S": "delivery"},
            "kind": {"S": kind},
            "workspace_id": {"S": workspace_id},
            "delivery_id": {"S": delivery_id},
            "state": {"S": item_state},
        }

    body: dict[str, Any] = {"SequenceNumber": sequence, "NewImage": image(state)}
    if old_state is not None:
        body["OldImage"] = image(old_state)
    return {
        "eventID": sequence,
        "eventName": "INSERT" if old_state is None else "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/nudge-test-deliveries/stream/1",
        "dynamodb": body,
    }
