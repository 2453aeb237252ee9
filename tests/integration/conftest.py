from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from nudge import workspaces
from nudge.delivery.pipeline import Outcome
from nudge.model.tables import streamed_tables
from nudge_tools.local.streams import MappingSettings, StreamPump
from tests.support.aws import mocked_account
from tests.support.channels import FakeChannels, fake_channels
from tests.support.track import AppClient, PipelinesClient, TrackClient


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
        name: model.describe_table()["LatestStreamArn"] for name, model in streamed_tables("evaluate").items()
    }
    # botocore 1.44 routes stream calls to account-based endpoints that moto 5.2 does not serve.
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    running = StreamPump(
        client,
        streams,
        evaluate.handler,
        region="us-east-1",
        mapping=MappingSettings(max_retries=2, poll_seconds=0.02),
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def channels(account: None) -> Iterator[FakeChannels]:
    """Every channel replaced by an in-memory port that records what it was asked to send."""
    with fake_channels() as fakes:
        yield fakes


@pytest.fixture
def deliver(channels: FakeChannels, ws: str) -> Callable[[str], Outcome]:
    """Run one queued delivery through the pipeline, as the send function does for its stream record."""
    from nudge.delivery import pipeline

    return lambda delivery_id: pipeline.process(ws, delivery_id)


@pytest.fixture
def pipelines(keys: workspaces.IssuedKeys) -> PipelinesClient:
    return PipelinesClient(keys.cdp_api_key)
