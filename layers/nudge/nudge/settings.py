"""Settings read once from the environment, typed.

Table names are read per table so that the CDK stack can hand each function the generated names,
while a developer or the local runtime can name them all at once with ``NUDGE_TABLE_PREFIX``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

TABLES = (
    "workspaces",
    "people",
    "events",
    "objects",
    "segments",
    "billing",
    "deliveries",
    "campaigns",
    "activities",
)
# Customer.io guarantees 30 days of activity history; the activity log keeps as long by default.
ACTIVITY_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Settings:
    table_prefix: str
    region: str
    endpoint_url: str | None
    track_url: str
    activity_retention_days: int = ACTIVITY_RETENTION_DAYS  # how long the activity log keeps an entry

    def table_name(self, table: str) -> str:
        override = os.environ.get(f"NUDGE_{table.upper()}_TABLE")
        return override or f"{self.table_prefix}{table}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        table_prefix=os.environ.get("NUDGE_TABLE_PREFIX", "nudge-"),
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL"),
        track_url=os.environ.get("NUDGE_TRACK_URL", "http://localhost:4000"),
        activity_retention_days=_positive_int("NUDGE_ACTIVITY_RETENTION_DAYS", ACTIVITY_RETENTION_DAYS),
    )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value
