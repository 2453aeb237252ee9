"""The process environment the benchmarks run in: the same as the test suite's (tests/conftest.py).

It must be applied before anything imports ``nudge`` (settings are read once) or builds a botocore
client, and it removes every variable that could point a client at a real endpoint or account.
"""

from __future__ import annotations

import os

REGION = "us-east-1"
MOCKED_AWS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "NUDGE_TABLE_PREFIX": "nudge-bench-",
    "POWERTOOLS_SERVICE_NAME": "nudge-bench",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "NUDGE_LINK_SECRET": "bench-link-secret",
}
UNSET = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "NUDGE_TRACK_URL")


def mocked_aws_environment(base: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in UNSET}
    env.update(MOCKED_AWS)
    return env


def use_mocked_aws() -> None:
    """Apply the environment to this process."""
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(MOCKED_AWS)
