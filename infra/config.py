"""Names and defaults for the deployment, in one place.

Every tunable comes from CDK context (``cdk.json``, or ``cdk synth -c key=value`` to override one); the
defaults below apply to a key the context leaves out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"
DOMAIN_PACKAGE_DIR = REPO_ROOT / "layers" / "nudge" / "nudge"
FUNCTIONS_DIR = REPO_ROOT / "functions"
PYPROJECT = REPO_ROOT / "pyproject.toml"

PROJECT = "nudge"

# The runtime, the architecture and the wheels in the dependency layer must agree: change them together.
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDA_PYTHON_VERSION = "3.12"
LAMBDA_WHEEL_PLATFORM = "manylinux2014_aarch64"
# Where Lambda unpacks a function's code and a layer's ``python/`` folder (the bytecode names these paths).
LAMBDA_RUNTIME_PATHS = {"function": "/var/task", "layer": "/opt/python"}

# The Lambda Python runtime ships the AWS SDK with its own dependencies. The layer leaves them out so the
# runtime's boto3 never meets a different botocore from the layer (pynamodb alone would pull one in).
RUNTIME_PROVIDED_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)


# Every function sized from context: the prefix of its ``<prefix>_memory_mb`` and ``<prefix>_timeout_seconds``
# keys.
SIZED_FUNCTIONS = (
    "track",
    "api",
    "evaluate",
    "sweep",
    "billing",
    "send",
    "release",
    "links",
    "feedback",
    "campaigns",
    "exports",
    "reporting",
)

_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_SENDER_ID = re.compile(r"[A-Za-z0-9-]{1,11}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# An ACM certificate: arn:<partition>:acm:<region>:<account>:certificate/<id>.
_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:certificate/[A-Za-z0-9-]+")
# CloudFront takes ACM certificates from us-east-1 only, whatever the stack's region.
_CLOUDFRONT_CERTIFICATE_ARN = re.compile(r"arn:aws:acm:us-east-1:\d{12}:certificate/[A-Za-z0-9-]+")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no", ""})


def table_env_var(logical_name: str) -> str:
    """The variable ``nudge.settings.Settings.table_name`` reads a table's generated name from."""
    return f"NUDGE_{logical_name.upper()}_TABLE"


@dataclass(frozen=True)
class DeployConfig:
    """The context keys this app reads (the field names) and their defaults."""

    stage: str = "dev"
    # Default-stage throttling of the HTTP API, for all its routes (Track and App): requests per second
    # and burst.
    throttle_rate: float = 500.0
    throttle_burst: int = 1000
    # A ``RetentionDays`` member name, e.g. ONE_MONTH.
    log_retention: str = "ONE_MONTH"
    log_level: str = "INFO"
    track_memory_mb: int = 512
    track_timeout_seconds: int = 10
    api_memory_mb: int = 512
    api_timeout_seconds: int = 10
    # The stream consumer: a batch of up to 100 changes, each evaluating the segments that depend on it.
    evaluate_memory_mb: int = 512
    evaluate_timeout_seconds: int = 60
    # The segment re-check sweep, every minute: a run cut short resumes from its bookmark on the next.
    sweep_memory_mb: int = 512
    sweep_timeout_seconds: int = 60
    # The daily billing run: every workspace's ended periods closed, invoiced and the next ones opened.
    billing_memory_mb: int = 512
    billing_timeout_seconds: int = 300
    # The send function, on the deliveries stream: a batch of up to 100 queued deliveries, each rendered
    # and handed to its channel (SES, SNS, push, a webhook or the workspace's own SMTP server), whose
    # adapters retry throttling with backoff inside the invocation.
    send_memory_mb: int = 512
    send_timeout_seconds: int = 120
    # The scheduled-delivery release, every minute (the send function's code): a run cut short resumes
    # from its bookmark on the next.
    release_memory_mb: int = 512
    release_timeout_seconds: int = 60
    # The public tracking links on the HTTP API (open pixel, click redirect, unsubscribe, view in browser).
    links_memory_mb: int = 512
    links_timeout_seconds: int = 10
    # SES events (deliveries, bounces, complaints, opens, clicks) from the feedback topic.
    feedback_memory_mb: int = 512
    feedback_timeout_seconds: int = 30
    # The campaigns function: every Task state of every campaign's state machine (one step of one person's
    # journey: quick), and each page of a broadcast's fan-out (up to 100 people resolved, created where
    # new, and their journeys started), which is what the timeout is sized for.
    campaigns_memory_mb: int = 512
    campaigns_timeout_seconds: int = 120
    # The exports worker: one step of one export per invocation, as long as Lambda allows (it hands the
    # rest over when about a minute is left), with memory for a 5 MB part and the rows it is read from.
    exports_memory_mb: int = 1024
    exports_timeout_seconds: int = 900
    # The reporting webhooks' worker: a batch of up to 10 events, each POST waiting at most 4 seconds.
    reporting_memory_mb: int = 256
    reporting_timeout_seconds: int = 60
    # The domain mail is sent from: a verified SES domain identity in the deployment's account and region
    # (verified outside this app: DNS records). The send function may send from it, and only from it.
    sender_domain: str = "example.com"
    # A push application (AWS End User Messaging push, the Pinpoint SendMessages API) for push sends. Its
    # APNs and FCM credentials are set on the application outside this app. Without it, push sends fail
    # with "push is not configured".
    push_enabled: bool = False
    # The SMS sender id where the destination country supports one (1 to 11 letters, digits, dashes);
    # empty for none.
    sms_sender_id: str = ""
    # Monitoring (infra/components/monitoring.py). The address every alarm is emailed to; empty for no
    # subscription (the alarm topic is still there to subscribe to). SNS asks the address to confirm.
    alarm_email: str = ""
    # A stream consumer whose oldest unread record is older than this (the mapping's IteratorAge) is
    # falling behind: segments and sends lag by as much.
    iterator_age_alarm_seconds: int = 300
    # The API's share of 5xx answers, over 5 minutes, above which it alarms.
    api_5xx_alarm_rate: float = 0.01
    # SES puts an account under review at a 5% bounce rate and 0.1% complaint rate, and may pause its
    # sending beyond (10% and 0.5%): alarm at 80% of the review thresholds, while there is time to act.
    ses_bounce_alarm_rate: float = 0.04
    ses_complaint_alarm_rate: float = 0.0008
    # An optional custom domain for the HTTP API (e.g. track.example.com), with the ARN of an ACM
    # certificate for it in the stack's region: both or neither. With them the API gets a regional custom
    # domain mapped to its default stage, and the links in messages and the Track URL clients are told
    # start with https://<custom_domain>, so they outlive a replaced API. The DNS record pointing the name
    # at the stack's CustomDomainTarget output is made outside this app.
    custom_domain: str = ""
    certificate_arn: str = ""
    # An optional domain for the web console's CloudFront distribution (e.g. console.example.com), with the
    # ARN of an ACM certificate for it in us-east-1 (CloudFront takes certificates from there only): both
    # or neither. Without them the console is at the distribution's *.cloudfront.net name. The DNS record
    # (a CNAME or alias to the ConsoleDomainTarget output) is made outside this app.
    console_domain: str = ""
    console_certificate_arn: str = ""

    @classmethod
    def from_context(cls, scope: Construct) -> DeployConfig:
        """Read every known key from ``scope``'s context (values given with ``-c`` arrive as strings)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = scope.node.try_get_context(field.name)
            if raw is None:
                continue
            default = getattr(cls, field.name)
            values[field.name] = _flag(field.name, raw) if isinstance(default, bool) else type(default)(raw)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not self.stage.isalnum():
            raise ValueError(f"context stage must be alphanumeric (it names the stack), got {self.stage!r}")
        if self.throttle_rate <= 0 or self.throttle_burst <= 0:
            raise ValueError("context throttle_rate and throttle_burst must be positive")
        for name in SIZED_FUNCTIONS:
            memory, timeout = getattr(self, f"{name}_memory_mb"), getattr(self, f"{name}_timeout_seconds")
            if not 128 <= memory <= 10240 or not 1 <= timeout <= 900:
                raise ValueError(
                    f"context {name}_memory_mb must be 128 to 10240 and {name}_timeout_seconds 1 to 900"
                )
        if self.log_retention not in logs.RetentionDays.__members__:
            raise ValueError(
                f"context log_retention must be a RetentionDays name, got {self.log_retention!r}"
            )
        if not _DOMAIN.fullmatch(self.sender_domain):
            raise ValueError(
                f"context sender_domain must be a lower-case domain name, got {self.sender_domain!r}"
            )
        if self.alarm_email and not _EMAIL.fullmatch(self.alarm_email):
            raise ValueError(
                f"context alarm_email must be an email address (or empty), got {self.alarm_email!r}"
            )
        if self.iterator_age_alarm_seconds < 1:
            raise ValueError("context iterator_age_alarm_seconds must be positive")
        for name in ("api_5xx_alarm_rate", "ses_bounce_alarm_rate", "ses_complaint_alarm_rate"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(
                    f"context {name} must be a fraction between 0 and 1, got {getattr(self, name)}"
                )
        if self.sms_sender_id and not _SENDER_ID.fullmatch(self.sms_sender_id):
            raise ValueError(
                "context sms_sender_id must be 1 to 11 letters, digits or dashes (or empty), "
                f"got {self.sms_sender_id!r}"
            )
        self._validate_custom_domain()
        self._validate_console_domain()

    def _validate_custom_domain(self) -> None:
        if bool(self.custom_domain) != bool(self.certificate_arn):
            given, missing = (
                ("custom_domain", "certificate_arn")
                if self.custom_domain
                else ("certificate_arn", "custom_domain")
            )
            raise ValueError(
                f"context custom_domain and certificate_arn go together: {given} is set but {missing} is "
                "not (set both, the domain and the ARN of an ACM certificate for it in the stack's region, "
                "or neither)"
            )
        if not self.custom_domain:
            return
        if not _DOMAIN.fullmatch(self.custom_domain):
            raise ValueError(
                f"context custom_domain must be a lower-case domain name, got {self.custom_domain!r}"
            )
        if not _CERTIFICATE_ARN.fullmatch(self.certificate_arn):
            raise ValueError(
                "context certificate_arn must be an ACM certificate ARN "
                f"(arn:aws:acm:<region>:<account>:certificate/<id>), got {self.certificate_arn!r}"
            )

    def _validate_console_domain(self) -> None:
        if bool(self.console_domain) != bool(self.console_certificate_arn):
            given, missing = (
                ("console_domain", "console_certificate_arn")
                if self.console_domain
                else ("console_certificate_arn", "console_domain")
            )
            raise ValueError(
                f"context console_domain and console_certificate_arn go together: {given} is set but "
                f"{missing} is not (set both, the domain and the ARN of an ACM certificate for it in "
                "us-east-1, or neither)"
            )
        if not self.console_domain:
            return
        if not _DOMAIN.fullmatch(self.console_domain):
            raise ValueError(
                f"context console_domain must be a lower-case domain name, got {self.console_domain!r}"
            )
        if self.console_domain == self.custom_domain:
            raise ValueError(
                "context console_domain must differ from custom_domain: the API's regional domain and the "
                f"console's distribution cannot share the name {self.console_domain!r}"
            )
        if not _CLOUDFRONT_CERTIFICATE_ARN.fullmatch(self.console_certificate_arn):
            raise ValueError(
                "context console_certificate_arn must be the ARN of an ACM certificate in us-east-1 "
                "(arn:aws:acm:us-east-1:<account>:certificate/<id>: CloudFront takes no other region's), "
                f"got {self.console_certificate_arn!r}"
            )

    @property
    def stack_name(self) -> str:
        return f"Nudge-{self.stage}"

    @property
    def retention(self) -> logs.RetentionDays:
        return logs.RetentionDays[self.log_retention]

    @property
    def default_from(self) -> str:
        """The sender of a message whose template and workspace name none."""
        return f"no-reply@{self.sender_domain}"

    @property
    def custom_url(self) -> str | None:
        """``https://<custom_domain>`` (no trailing slash) when there is a custom domain, else None."""
        return f"https://{self.custom_domain}" if self.custom_domain else None


def _flag(name: str, raw: Any) -> bool:
    """A boolean context value: JSON's true/false from cdk.json, or text from ``-c key=value``."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"context {name} must be true or false, got {raw!r}")
