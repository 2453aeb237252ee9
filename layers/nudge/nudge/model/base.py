"""Table metadata shared by every model: names and endpoint come from settings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pynamodb.connection.base as _pynamodb_connection
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from nudge import aws_clients
from nudge.settings import get_settings

# Every model's connection takes this thread's botocore session (``nudge.aws_clients``), instead of
# PynamoDB's one new session per model class, each loading botocore's data files again.
_pynamodb_connection.get_session = aws_clients.session  # type: ignore[assignment]

STREAM_VIEW = "NEW_AND_OLD_IMAGES"


def table_meta(table: str, *, stream: bool, stream_consumer: str = "evaluate") -> Any:
    """Build a PynamoDB ``Meta`` for ``table``. ``stream`` marks tables whose changes drive a function:
    ``stream_consumer`` names it (the evaluate function, or the send function for deliveries)."""
    settings = get_settings()
    attrs: dict[str, Any] = {
        "table_name": settings.table_name(table),
        "region": settings.region,
        "billing_mode": "PAY_PER_REQUEST",
        "logical_name": table,
        "streamed": stream,
        "stream_consumer": stream_consumer if stream else None,
    }
    if settings.endpoint_url:
        attrs["host"] = settings.endpoint_url
    if stream:
        attrs["stream_view_type"] = STREAM_VIEW
    return type("Meta", (), attrs)


def plain(value: Any) -> dict[str, Any]:
    """A raw ``MapAttribute`` (or a dict, or None) as a plain dict the domain can own."""
    if value is None:
        return {}
    if hasattr(value, "as_dict"):
        return dict(value.as_dict())
    return dict(value)


def condition_failed(exc: Exception) -> bool:
    """True when a PynamoDB write failed only because its condition did not hold (a lost race, or a
    change already applied), as opposed to DynamoDB being unavailable."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def transaction_lost_race(exc: Exception) -> bool:
    """True when a transaction was cancelled by a condition that did not hold or by a concurrent
    transaction on the same items (a race to answer as such), as opposed to DynamoDB being unavailable."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(r is not None and r.code in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)


def transaction(model: type[Model]) -> TransactWrite:
    """A write transaction (``with transaction(Person) as tx:``) on ``model``'s connection. Every table
    shares the region and endpoint, so the transaction may write items of other tables too."""
    return TransactWrite(connection=model._get_connection().connection)


def update_if(item: Model, actions: Sequence[Action], condition: Condition) -> bool:
    """Apply ``actions`` to ``item`` when ``condition`` holds. False when it did not (a lost race, or a
    change already applied); any other failure raises."""
    try:
        item.update(actions=list(actions), condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
