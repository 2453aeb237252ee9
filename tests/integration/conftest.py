from __future__ import annotations

from collections.abc import Iterator

import pytest

from nudge import workspaces
from tests.support.aws import mocked_account
from tests.support.track import TrackClient


@pytest.fixture
def account() -> Iterator[None]:
    with mocked_account():
        yield


@pytest.fixture
def keys(account: None) -> workspaces.IssuedKeys:
    return workspaces.create_workspace("Acme", "essentials", "2026-01-01")


@pytest.fixture
def track(keys: workspaces.IssuedKeys) -> TrackClient:
    return TrackClient(keys.site_id, keys.track_api_key)


@pytest.fixture
def ws(keys: workspaces.IssuedKeys) -> str:
    return keys.workspace_id
