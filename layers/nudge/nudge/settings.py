"""Settings read once from the environment, typed.

Table names are read per table so that the CDK stack can hand each function the generated names,
while a developer or the local runtime can name them all at once with ``NUDGE_TABLE_PREFIX``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

TABLES = ("workspaces", "people", "events", "objects", "segments", "billing", "deliveries", "campaigns")


@dataclass(frozen=True)
class Settings:
    table_prefix: str
    region: str
    endpoint_url: str | None
    track_url: str

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
    )
