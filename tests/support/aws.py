"""A mocked AWS account with Nudge's tables, for integration tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws

from nudge.model import create_tables


@contextmanager
def mocked_account() -> Iterator[None]:
    with mock_aws():
        create_tables()
        yield
