"""Hostile input against every route of every HTTP table (Track API, App API, tracking links), through the
real Lambda handlers in-process: a few thousand seeded requests, and not one 5xx or unhandled exception.
Afterwards the service still answers ordinary requests.

The seed is fixed so that a failure reproduces; ``NUDGE_HOSTILE_SEED=<n>`` explores another stream.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest

from functions.api import handler as api_handler
from functions.links import handler as links_handler
from functions.track import handler as track_handler
from nudge import workspaces
from nudge.campaigns import lifecycle, store
from nudge.exports import queue as exports_queue
from nudge_tools.local.apigw import LocalContext, http_api_event, http_response
from tests.support.aws import mocked_account
from tests.support.console import user_pool
from tests.support.hostile import SEED, Generator, HostileRequest, endpoints, good_credentials
from tests.support.track import AppClient, TrackClient

PER_ENDPOINT = 40  # per route: a few thousand requests over all the route tables
HANDLERS = {"track": track_handler.handler, "app": api_handler.handler, "links": links_handler.handler}


def _deploy(ws: str, campaign_id: str, version: int, definition: dict[str, Any]) -> tuple[str, str]:
    """Stands in for compiling and deploying a campaign's state machine: the edge is under test here,
    and the Step Functions deploy is covered where campaigns are."""
    machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:nudge-test-{ws}-{campaign_id}"
    return machine, f"{machine}:{version}"


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    """One workspace with one of each thing a path can name, so that some requests reach real data."""
    with pytest.MonkeyPatch.context() as patch, mocked_account(), ExitStack() as stack:
        patch.setattr(store, "_deploy", _deploy)
        patch.setattr(lifecycle, "_enter_current_members", lambda ws, campaign_id: None)
        # Exports as the stack configures them: a queue to hand them to (the worker does not run here).
        queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="exports")["QueueUrl"]
        exports_queue.install(exports_queue.SqsQueue(queue_url))
        patch.setenv("NUDGE_EXPORTS_BUCKET", "exports")
        # Console sign-in as the stack configures it (unconfigured, the member routes answer 503 by design).
        stack.enter_context(user_pool(patch))
        keys = workspaces.create_workspace("Hostile", "essentials", "2026-01-01")
        track, app = TrackClient(keys.site_id, keys.track_api_key), AppClient(keys.app_api_key)
        assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "plan": "pro"}).status == 200
        segment = app.post("/v1/segments", {"segment": {"name": "Beta"}}).json["segment"]["id"]
        template = app.post(
            "/v1/templates", {"name": "T", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>"}
        ).json["template"]["id"]
        layout = app.post("/v1/layouts", {"name": "L", "body": "<html>{{ content }}</html>"}).json["layout"][
            "id"
        ]
        app.put("/v1/snippets/footer", {"body": "<footer/>"})
        campaign = app.post(
            "/v1/campaigns",
            {
                "campaign": {
                    "name": "C",
                    "trigger": {"type": "event", "name": "signed_up"},
                    "workflow": {
                        "start": "b1",
                        "blocks": {"b1": {"type": "send", "channel": "email", "template_id": template}},
                    },
                }
            },
        ).json["campaign"]["id"]
        sent = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "b"})
        pools = {
            "identifier": ["ann", "ann@example.com"],
            "customer_id": ["ann", "ann@example.com"],
            "segment_id": [segment],
            "template_id": [template],
            "layout_id": [layout],
            "name": ["footer"],
            "campaign_id": [campaign],
            "delivery_id": [sent.json["delivery_id"]],
            "action": ["opened", "dismissed"],
        }
        yield {"keys": keys, "pools": pools, "track": track, "app": app}
        exports_queue.install(None)


def _send(request: HostileRequest) -> int:
    event = http_api_event(request.method, request.url, request.headers, request.body)
    status, _, _ = http_response(HANDLERS[request.endpoint.api](event, LocalContext()))
    return status


@pytest.mark.direct_moto  # thousands of requests; a refused write still goes through botocore
def test_no_hostile_request_gets_a_5xx_on_any_route(world):
    seed = int(os.environ.get("NUDGE_HOSTILE_SEED", SEED))
    generator = Generator(
        random.Random(seed),
        world["pools"],
        good_credentials(world["keys"]),
        os.environ["NUDGE_LINK_SECRET"].encode(),
        world["keys"].workspace_id,
    )
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    started = time.process_time()  # CPU, not wall time: other tests share the machine's cores
    sent = 0
    for request in generator.requests(PER_ENDPOINT):
        sent += 1
        try:
            status = _send(request)
        except Exception as exc:  # out of a handler, it is Lambda's 502: a finding, reported below
            failures.append(f"{type(exc).__name__}: {exc!s:.200} <- {request}")
            continue
        statuses.setdefault(str(request.endpoint), set()).add(status)
        if status >= 500:
            failures.append(f"{status} <- {request}")
    elapsed = time.process_time() - started

    assert not failures, f"seed {seed}: {len(failures)} of {sent} failed:\n" + "\n".join(failures[:40])
    assert sent >= 2500 and statuses.keys() == {str(e) for e in endpoints()}  # every route was tried
    assert elapsed < 60, f"{sent} requests took {elapsed:.0f}s of CPU"


def test_the_service_still_answers_ordinary_requests_afterwards(world):
    track, app = world["track"], world["app"]
    # Bob, not the world's Ann: the hostile requests may well have deleted, suppressed or merged her.
    assert track.put("/api/v1/customers/bob", {"email": "bob@example.com", "plan": "pro"}).status == 200
    assert track.post("/api/v1/customers/bob/events", {"name": "signed_up"}).status == 200
    assert app.get("/v1/segments").status == 200
    assert app.get("/v1/customers/bob/attributes").json["customer"]["attributes"]["plan"] == "pro"
