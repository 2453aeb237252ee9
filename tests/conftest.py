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

import functools  # noqa: E402  (after the environment above, like every import here)
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

from nudge import composition, settings  # noqa: E402
from nudge_tools.local import direct_dynamodb  # noqa: E402


def _rereads_settings(change: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(change)
    def changed(*args: Any, **kwargs: Any) -> Any:
        try:
            return change(*args, **kwargs)
        finally:
            settings.reload()

    return changed


# Nudge reads its settings from the environment once (nudge.settings); a test that sets a variable with
# monkeypatch (or undoes one) has the next read see it, as a process started with it would.
for _change in ("setenv", "delenv", "undo"):
    setattr(pytest.MonkeyPatch, _change, _rereads_settings(getattr(pytest.MonkeyPatch, _change)))

# As every handler does when imported: tests that call delivery directly (not through a handler) see
# its outcomes counted by campaigns and metered as in production. tests/unit/test_composition.py checks
# that the handlers do connect.
composition.connect()


@pytest.fixture(autouse=True)
def _direct_moto(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests marked ``direct_moto`` hand PynamoDB's item operations straight to moto's handler, as the local
    runtime does (``nudge_tools.local.direct_dynamodb``): the tests whose subject is volume (thousands of
    people), where botocore's request and response work in between is most of the time. Every other test
    keeps the full botocore path, and ``tests/integration/test_direct_dynamodb.py`` checks both answer
    alike."""
    if request.node.get_closest_marker("direct_moto") is None:
        yield
        return
    direct_dynamodb.install()
    try:
        yield
    finally:
        direct_dynamodb.uninstall()
