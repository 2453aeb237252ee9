"""Table metadata shared by every model: names and endpoint come from settings."""

from __future__ import annotations

from typing import Any

from nudge.settings import get_settings

STREAM_VIEW = "NEW_AND_OLD_IMAGES"


def table_meta(table: str, *, stream: bool) -> Any:
    """Build a PynamoDB ``Meta`` for ``table``. ``stream`` marks tables whose changes drive evaluation."""
    settings = get_settings()
    attrs: dict[str, Any] = {
        "table_name": settings.table_name(table),
        "region": settings.region,
        "billing_mode": "PAY_PER_REQUEST",
        "logical_name": table,
        "streamed": stream,
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
