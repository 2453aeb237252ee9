"""A mocked AWS account with Nudge's tables, for integration tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from moto import mock_aws

from nudge.model import create_tables
from nudge_tools.local import botocore_cache, moto_asl_cache, moto_speedups

botocore_cache.install()  # a mock per test, a boto3 session per mock: botocore's files parsed once
# moto's transactions copy whole tables; this keeps DynamoDB's semantics at a per-item cost.
moto_speedups.install()
moto_asl_cache.install()  # moto parses ASL with ANTLR per execution; once per definition is enough


@contextmanager
def mocked_account() -> Iterator[None]:
    with mock_aws():
        create_tables()
        yield
