"""Shared fixtures. AWS is always mocked: no test can reach a real account."""

from __future__ import annotations

import os

# Set before any nudge module reads settings or boto3 builds a client.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "NUDGE_TABLE_PREFIX": "nudge-test-",
        "POWERTOOLS_SERVICE_NAME": "nudge-test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "NUDGE_LINK_SECRET": "test-link-secret-not-for-production",
    }
)
for _var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "NUDGE_TRACK_URL"):
    os.environ.pop(_var, None)
