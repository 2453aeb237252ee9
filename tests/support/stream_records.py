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
