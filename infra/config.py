"""Names and defaults for the deployment, in one place.

Every tunable comes from CDK context (``cdk.json``, or ``cdk synth -c key=value`` to override one); the
defaults below apply to a key the context leaves out.
"""

from __future__ import annotations

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

# The Lambda Python runtime ships the AWS SDK with its own dependencies. The layer leaves them out so the
# runtime's boto3 never meets a different botocore from the layer (pynamodb alone would pull one in).
RUNTIME_PROVIDED_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)

# Sub-packages of the domain package that are operator and developer tools, never imported by a handler.
DOMAIN_PACKAGES_NOT_SHIPPED = ("cli", "local")


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

    @classmethod
    def from_context(cls, scope: Construct) -> DeployConfig:
        """Read every known key from ``scope``'s context (values given with ``-c`` arrive as strings)."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = scope.node.try_get_context(field.name)
            if raw is None:
                continue
            default = getattr(cls, field.name)
            values[field.name] = type(default)(raw)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not self.stage.isalnum():
            raise ValueError(f"context stage must be alphanumeric (it names the stack), got {self.stage!r}")
        if self.throttle_rate <= 0 or self.throttle_burst <= 0:
            raise ValueError("context throttle_rate and throttle_burst must be positive")
        for name in ("track", "api", "evaluate", "sweep", "billing"):
            memory, timeout = getattr(self, f"{name}_memory_mb"), getattr(self, f"{name}_timeout_seconds")
            if not 128 <= memory <= 10240 or not 1 <= timeout <= 900:
                raise ValueError(
                    f"context {name}_memory_mb must be 128 to 10240 and {name}_timeout_seconds 1 to 900"
                )
        if self.log_retention not in logs.RetentionDays.__members__:
            raise ValueError(
                f"context log_retention must be a RetentionDays name, got {self.log_retention!r}"
            )

    @property
    def stack_name(self) -> str:
        return f"Nudge-{self.stage}"

    @property
    def retention(self) -> logs.RetentionDays:
        return logs.RetentionDays[self.log_retention]
