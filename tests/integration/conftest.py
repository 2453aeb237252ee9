from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from nudge import workspaces
from nudge.local.streams import StreamPump
from nudge.model import TABLE_MODELS
from tests.support.aws import mocked_account
from tests.support.track import AppClient, TrackClient


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


@pytest.fixture
def app(keys: workspaces.IssuedKeys) -> AppClient:
    return AppClient(keys.app_api_key)


@pytest.fixture
def pump(account: None) -> Iterator[StreamPump]:
    """The local runtime's stream pump feeding the real evaluate handler, as Lambda's mapping would."""
    from functions.evaluate import handler as evaluate

    streams = {
        name: model.describe_table()["LatestStreamArn"]
        for name, model in TABLE_MODELS.items()
        if getattr(model.Meta, "streamed", False)
    }
    # botocore 1.44 routes stream calls to account-based endpoints that moto 5.2 does not serve.
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    running = StreamPump(
        client, streams, evaluate.handler, region="us-east-1", max_retries=2, poll_seconds=0.02
    )
    running.start()
    yield running
    running.stop()
