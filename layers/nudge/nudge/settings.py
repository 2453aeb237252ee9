"""Settings read once from the environment, typed: the one place Nudge reads ``os.environ``.

Table names are read per table so that the CDK stack can hand each function the generated names,
while a developer or the local runtime can name them all at once with ``NUDGE_TABLE_PREFIX``.

``get_settings()`` reads the environment on its first call and keeps the answer. Whatever changes the
environment afterwards in the same process (the local runtime, once it knows its ports; the CLI,
pointing itself at a runtime; tests) calls ``reload()`` so the next ``get_settings()`` reads it again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
DEFAULT_TRACK_URL = "http://localhost:4000"

# The variables a module names in its own messages (or a test sets by name).
FEEDBACK_TOPIC_ENV = "NUDGE_FEEDBACK_TOPIC_ARN"
METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
CAMPAIGNS_FUNCTION_ENV = "NUDGE_CAMPAIGNS_FUNCTION"
CONSOLE_POOL_ENV = "NUDGE_USER_POOL_ID"
CONSOLE_CLIENT_ENV = "NUDGE_USER_POOL_CLIENT_ID"
REPORTING_QUEUE_ENV = "NUDGE_REPORTING_QUEUE_URL"
REPORTING_DEAD_LETTERS_ENV = "NUDGE_REPORTING_DEAD_LETTERS_URL"


def table_env_var(table: str) -> str:
    """The variable that names one table (the stack sets it to the generated name)."""
    return f"NUDGE_{table.upper()}_TABLE"


@dataclass(frozen=True)
class Settings:
    table_prefix: str
    region: str
    endpoint_url: str | None
    track_url: str  # where the Track API is (NUDGE_TRACK_URL), the local default when unset
    activity_retention_days: int = ACTIVITY_RETENTION_DAYS  # how long the activity log keeps an entry
    table_names: Mapping[str, str] = field(default_factory=dict)  # generated names, by logical table
    track_url_set: bool = False  # NUDGE_TRACK_URL was set (else the API answers with the request's host)
    links_url: str | None = None  # where links in messages point (NUDGE_LINKS_URL), else track_url
    link_secret: str | None = None  # signs tracking links, given directly (local runtime, tests)
    link_secret_arn: str | None = None  # ... or kept in Secrets Manager (the stack)
    default_from: str | None = None  # NUDGE_DEFAULT_FROM: the deployment's verified sender
    ses_configuration_set: str | None = None
    sms_sender_id: str | None = None
    pinpoint_application_id: str | None = None
    exports_bucket: str | None = None
    exports_presign_endpoint: str | None = None  # signs download links for another host (local)
    exports_queue_url: str | None = None
    reporting_queue_url: str | None = None
    reporting_dead_letters_url: str = ""
    metrics_namespace: str | None = None
    billing_catalog: str | None = None  # a plan catalog file in place of the packaged one
    console_user_pool_id: str | None = None
    console_client_id: str | None = None
    stage: str = "dev"
    campaign_role_arn: str | None = None
    campaign_log_group_arn: str | None = None
    broadcast_machine_arn: str | None = None
    campaigns_function: str | None = None
    feedback_topic_arn: str | None = None
    time_scale: float = 1.0  # the local runtime's faster clock (nudge.clock)
    time_epoch: float = 0.0

    def table_name(self, table: str) -> str:
        return self.table_names.get(table) or f"{self.table_prefix}{table}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return read_settings()


def reload() -> None:
    """Forget the settings read: the next ``get_settings()`` reads the environment again."""
    get_settings.cache_clear()


def read_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in ``environ`` (the process's environment by default), read now."""
    env = os.environ if environ is None else environ

    def text(name: str) -> str | None:
        return env.get(name) or None

    return Settings(
        table_prefix=env.get("NUDGE_TABLE_PREFIX", "nudge-"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=text("AWS_ENDPOINT_URL_DYNAMODB") or text("AWS_ENDPOINT_URL"),
        track_url=env.get("NUDGE_TRACK_URL", DEFAULT_TRACK_URL),
        activity_retention_days=_positive_int(env, "NUDGE_ACTIVITY_RETENTION_DAYS", ACTIVITY_RETENTION_DAYS),
        table_names=_table_names(env),
        track_url_set=bool(env.get("NUDGE_TRACK_URL")),
        links_url=text("NUDGE_LINKS_URL"),
        link_secret=text("NUDGE_LINK_SECRET"),
        link_secret_arn=text("NUDGE_LINK_SECRET_ARN"),
        default_from=text("NUDGE_DEFAULT_FROM"),
        ses_configuration_set=text("NUDGE_SES_CONFIGURATION_SET"),
        sms_sender_id=text("NUDGE_SMS_SENDER_ID"),
        pinpoint_application_id=text("NUDGE_PINPOINT_APPLICATION_ID"),
        exports_bucket=text("NUDGE_EXPORTS_BUCKET"),
        exports_presign_endpoint=text("NUDGE_EXPORTS_PRESIGN_ENDPOINT"),
        exports_queue_url=text("NUDGE_EXPORTS_QUEUE_URL"),
        reporting_queue_url=text(REPORTING_QUEUE_ENV),
        reporting_dead_letters_url=env.get(REPORTING_DEAD_LETTERS_ENV, ""),
        metrics_namespace=text(METRICS_NAMESPACE_ENV),
        billing_catalog=text("NUDGE_BILLING_CATALOG"),
        console_user_pool_id=text(CONSOLE_POOL_ENV),
        console_client_id=text(CONSOLE_CLIENT_ENV),
        stage=env.get("NUDGE_STAGE", "dev"),
        campaign_role_arn=text("NUDGE_CAMPAIGN_ROLE_ARN"),
        campaign_log_group_arn=text("NUDGE_CAMPAIGN_LOG_GROUP_ARN"),
        broadcast_machine_arn=text("NUDGE_BROADCAST_MACHINE_ARN"),
        campaigns_function=text(CAMPAIGNS_FUNCTION_ENV),
        feedback_topic_arn=text(FEEDBACK_TOPIC_ENV),
        time_scale=float(env.get("NUDGE_TIME_SCALE", "1") or 1),
        time_epoch=float(env.get("NUDGE_TIME_EPOCH", "0") or 0),
    )


def _table_names(env: Mapping[str, str]) -> dict[str, str]:
    """Every ``NUDGE_<TABLE>_TABLE`` set, by logical table name."""
    prefix, suffix = "NUDGE_", "_TABLE"
    return {
        name[len(prefix) : -len(suffix)].lower(): value
        for name, value in env.items()
        if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix + suffix) and value
    }


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value
