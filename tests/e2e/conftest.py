"""End-to-end tests run against the local runtime over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_runtime import Runtime, start


@pytest.fixture(scope="session")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = start(tmp_path_factory.mktemp("local"), "--time-scale", "60")
    yield runtime
    runtime.stop()
