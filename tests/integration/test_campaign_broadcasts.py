"""API-triggered and one-time broadcasts, and activation fan-outs: the trigger routes, the page loop
(driven by hand, and once on moto's Step Functions engine), recipients of every kind, people created for
unknown identifiers, counts, status and errors."""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from unittest.mock import patch

import boto3
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config

from nudge import clock
from nudge.campaigns import (
    broadcast_machine,
    broadcasts,
    executions,
    journeys,
    lifecycle,
    metrics,
    store,
    triggers,
)
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.http.app_api.campaigns import BROADCAST_BODY_LIMIT, BROADCAST_ROUTES
from nudge.http.routing import Request
from tests.support.people import by, profile
from tests.support.workflows import FakeWorkflows, fake_workflows

EXIT_ONLY = {"start": "b1", "blocks": {"b1": {"type": "exit"}}}
PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
ROUTES = {(r.method, r.path): r.operation for r in BROADCAST_ROUTES}
TRIGGERS = "/v1/campaigns/{campaign_id}/triggers"


@pytest.fixture
def fake(account: None) -> Iterator[FakeWorkflows]:
    with fake_workflows() as recorded:
        yield recorded


def campaign(ws: str, trigger: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    body = {"name": "B", "trigger": trigger or {"type": "api"}, "workflow": EXIT_ONLY, **extra}
    return lifecycle.activate(ws, store.create(ws, body)["id"])


def call(method: str, path: str, ws: str, body: Any = None, **params: str) -> tuple[int, Any]:
    request = Request(ws, params, {}, None if body is None else json.dumps(body), "http://nudge.test")
    return ROUTES[(method, path)](request)


def trigger(ws: str, campaign_id: str, body: dict[str, Any]) -> str:
    status, answer = call("POST", TRIGGERS, ws, body, campaign_id=campaign_id)
    assert status == 200
    return str(answer["id"])


def status_of(ws: str, campaign_id: str, trigger_id: str) -> dict[str, Any]:
    return call("GET", TRIGGERS + "/{trigger_id}", ws, campaign_id=campaign_id, trigger_id=trigger_id)[1]


def errors_of(ws: str, campaign_id: str, trigger_id: str) -> list[dict[str, str]]:
    return call("GET", TRIGGERS + "/{trigger_id}/errors", ws, campaign_id=campaign_id, trigger_id=trigger_id)[
        1
    ]["errors"]


def run_pages(ws: str, campaign_id: str, trigger_id: str) -> list[dict[str, Any]]:
    """What the broadcast machine does, by hand: page after page until done."""
    cursor, pages = None, []
    while True:
        result = broadcasts.page_step(
            {
                "action": broadcast_machine.ACTION,
                "workspace_id": ws,
                "campaign_id": campaign_id,
                "trigger_id": trigger_id,
                "cursor": cursor,
            }
        )
        pages.append(result)
        assert result["wait_seconds"] == 0
        if result["done"]:
            return pages
        cursor = result["cursor"]
        assert len(pages) < 200


def cio(ws: str, identifier: str) -> str:
    found = profile(ws, identifier)
    assert found is not None
    return str(found["cio_id"])


# --- the request ---------------------------------------------------------------------------------------


def test_the_campaign_must_be_an_active_api_triggered_one(ws, fake):
    with pytest.raises(NotFound):
        call("POST", TRIGGERS, ws, {"ids": ["a"]}, campaign_id="nope")
    event = campaign(ws, {"type": "event", "name": "x"})
    with pytest.raises(Conflict):
        call("POST", TRIGGERS, ws, {"ids": ["a"]}, campaign_id=event["id"])
    api = campaign(ws)
    store.pause(ws, api["id"])
    with pytest.raises(Conflict):
        call("POST", TRIGGERS, ws, {"ids": ["a"]}, campaign_id=api["id"])
    assert fake.started == []


def test_invalid_bodies_name_the_field(ws, fake):
    api = campaign(ws)
    for body, field in [
        ({}, "recipients"),
        ({"ids": ["a"], "per_user_data": [{"id": "a"}]}, "per_user_data"),
        ({"emails": ["not an email"]}, "emails.0"),
        ({"recipients": {"segment": {"id": 404}}}, "recipients.segment.id"),
        ({"recipients": {"or": []}}, "recipients.or"),
        ({"ids": ["a"], "data": [1]}, "data"),
    ]:
        with pytest.raises(InvalidRequest) as caught:
            call("POST", TRIGGERS, ws, body, campaign_id=api["id"])
        assert caught.value.field == field
    with pytest.raises(InvalidRequest):
        call("POST", TRIGGERS, ws, None, campaign_id=api["id"])  # no body at all: no recipients
    assert fake.started == []


def test_unknown_triggers_are_not_found(ws, fake):
    api = campaign(ws)
    with pytest.raises(NotFound):
        status_of(ws, api["id"], "nope")
    with pytest.raises(NotFound):
        errors_of(ws, api["id"], "nope")


# --- recipients ----------------------------------------------------------------------------------------


def test_ids_enter_with_the_data_and_unknown_people_are_created(ws, track, fake):
    api = campaign(ws)
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    trigger_id = trigger(ws, api["id"], {"ids": ["ann", "newcomer"], "data": {"coupon": "X1"}})

    [machine] = fake.broadcasts()
    assert machine.name == f"broadcast-{trigger_id}"
    assert machine.payload == {
        "workspace_id": ws,
        "campaign_id": api["id"],
        "trigger_id": trigger_id,
        "cursor": None,
    }
    assert status_of(ws, api["id"], trigger_id)["status"] == "queued"

    [page] = run_pages(ws, api["id"], trigger_id)
    assert page["started"] == 2 and page["cursor"] is None
    assert profile(ws, "newcomer") is not None  # created, as Customer.io does
    assert fake.people() == sorted([cio(ws, "ann"), cio(ws, "newcomer")])
    for start in fake.journeys():
        assert start.target_arn == api["version_arn"]
        assert start.payload["trigger"] == {"type": "api", "trigger_id": trigger_id, "data": {"coupon": "X1"}}
        assert start.name == executions.execution_name(api["id"], start.payload["cio_id"], trigger_id)

    status = status_of(ws, api["id"], trigger_id)
    assert status["status"] == "done" and status["processed"] is True
    assert status["id"] == trigger_id and status["broadcast_id"] == api["id"]
    assert status["recipients"] == 2 and status["started"] == 2 and status["errors"] == 0
    assert errors_of(ws, api["id"], trigger_id) == []


def test_per_user_data_is_merged_over_data(ws, track, fake):
    api = campaign(ws)
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    body = {
        "data": {"coupon": "X1", "tier": "base"},
        "per_user_data": [
            {"email": "ann@example.com", "data": {"tier": "gold"}},
            {"id": "bob", "data": {"first": True}},
        ],
    }
    trigger_id = trigger(ws, api["id"], body)
    run_pages(ws, api["id"], trigger_id)
    data = {s.payload["cio_id"]: s.payload["trigger"]["data"] for s in fake.journeys()}
    assert data[cio(ws, "ann")] == {"coupon": "X1", "tier": "gold"}
    assert data[cio(ws, "bob")] == {"coupon": "X1", "tier": "base", "first": True}


def test_missing_and_suppressed_people_are_recorded_as_errors(ws, track, fake):
    api = campaign(ws)
    track.put("/api/v1/customers/ann@example.com", {})
    track.post("/api/v1/customers/gone@example.com/suppress")
    body = {"emails": ["ann@example.com", "ghost@example.com"], "email_ignore_missing": True}
    first = trigger(ws, api["id"], body)
    run_pages(ws, api["id"], first)
    assert errors_of(ws, api["id"], first) == [{"identifier": "ghost@example.com", "reason": "not found"}]
    assert by(ws, "email", "ghost@example.com") is None  # ignored, not created
    [journey] = fake.journeys()
    ann_id = cio(ws, "ann@example.com")
    journeys.entered(ws, api["id"], ann_id, journey.name, clock.now())
    journeys.finished(ws, api["id"], ann_id, journey.name, "completed")

    second = trigger(ws, api["id"], {"emails": ["gone@example.com", "ann@example.com"]})
    run_pages(ws, api["id"], second)
    assert errors_of(ws, api["id"], second) == [{"identifier": "gone@example.com", "reason": "suppressed"}]
    status = status_of(ws, api["id"], second)
    assert status["recipients"] == 2 and status["errors"] == 1
    # Ann got both broadcasts: each trigger reaches its recipients, whatever the frequency setting.
    ann = [s for s in fake.journeys() if s.payload["cio_id"] == ann_id]
    assert len(ann) == 2 and status["started"] == 1


def test_a_broadcast_skips_people_still_on_a_journey_of_the_campaign(ws, track, fake):
    api = campaign(ws)
    first = trigger(ws, api["id"], {"ids": ["ann"]})
    run_pages(ws, api["id"], first)
    second = trigger(ws, api["id"], {"ids": ["ann", "bob"]})
    run_pages(ws, api["id"], second)
    status = status_of(ws, api["id"], second)
    assert (status["recipients"], status["started"], status["skipped"]) == (2, 1, {"journey_running": 1})
    assert status_of(ws, api["id"], first)["skipped"] == {}
    assert metrics.read(ws, api["id"])["not_entered"] == {"journey_running": 1}
    assert [s.payload["trigger"]["trigger_id"] for s in fake.journeys()] == [first, second]


def test_a_segment_s_members(ws, app, track, fake):
    segment_id = str(app.post("/v1/segments", {"segment": {"name": "VIP"}}).json["segment"]["id"])
    for who in ("ann", "bob", "cat"):
        track.put(f"/api/v1/customers/{who}", {})
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["ann", "cat"]})
    api = campaign(ws)
    trigger_id = trigger(
        ws, api["id"], {"recipients": {"segment": {"id": int(segment_id)}}, "data": {"n": 1}}
    )
    run_pages(ws, api["id"], trigger_id)
    assert fake.people() == sorted([cio(ws, "ann"), cio(ws, "cat")])
    assert {s.payload["trigger"]["data"]["n"] for s in fake.journeys()} == {1}


def test_a_filter_over_everyone(ws, track, fake):
    for who, plan in (("ann", "pro"), ("bob", "free"), ("cat", "pro")):
        track.put(f"/api/v1/customers/{who}", {"plan": plan})
    api = campaign(ws)
    trigger_id = trigger(
        ws,
        api["id"],
        {
            "recipients": {
                "and": [PRO, {"not": {"attribute": {"field": "id", "operator": "eq", "value": "cat"}}}]
            }
        },
    )
    run_pages(ws, api["id"], trigger_id)
    assert fake.people() == [cio(ws, "ann")]
    assert status_of(ws, api["id"], trigger_id)["recipients"] == 1


@pytest.mark.direct_moto  # hundreds of people paged: volume, not the AWS wire
def test_pages_of_a_hundred_each_counted_once(ws, fake):
    api = campaign(ws)
    ids = [f"p{n:03d}" for n in range(250)]
    trigger_id = trigger(ws, api["id"], {"ids": ids})
    first = broadcasts.page(ws, api["id"], trigger_id, None)
    assert first == {"cursor": "100", "started": 100, "done": False, "wait_seconds": 0, "pause_seconds": 1}
    assert status_of(ws, api["id"], trigger_id)["status"] == "running"
    # Step Functions ran the first page's Task again: nothing twice, and on from where it got to.
    assert broadcasts.page(ws, api["id"], trigger_id, None) == first | {"started": 0}
    second = broadcasts.page(ws, api["id"], trigger_id, "100")
    third = broadcasts.page(ws, api["id"], trigger_id, second["cursor"])
    assert (second["cursor"], third["cursor"], third["done"]) == ("200", None, True)
    assert broadcasts.page(ws, api["id"], trigger_id, "200")["done"] is True  # after the end
    status = status_of(ws, api["id"], trigger_id)
    assert (status["recipients"], status["started"], status["status"]) == (250, 250, "done")
    assert len(fake.journeys()) == 250 and not fake.refused


def test_pages_pause_for_the_workspace_s_sending_rate(ws, fake):
    from nudge.delivery import settings as delivery_settings

    delivery_settings.update(ws, {"sending_rate": 20})  # 100 journeys at 20 a second: 5 seconds
    api = campaign(ws)
    trigger_id = trigger(ws, api["id"], {"ids": [f"r{n:03d}" for n in range(150)]})
    first = broadcasts.page(ws, api["id"], trigger_id, None)
    assert (first["started"], first["pause_seconds"]) == (100, 5)
    second = broadcasts.page(ws, api["id"], trigger_id, first["cursor"])
    assert (second["started"], second["pause_seconds"], second["done"]) == (50, 3, True)


def test_a_paused_campaign_s_broadcast_waits_and_an_archived_one_s_fails(ws, fake):
    api = campaign(ws)
    trigger_id = trigger(ws, api["id"], {"ids": ["ann"]})
    store.pause(ws, api["id"])
    waiting = broadcasts.page(ws, api["id"], trigger_id, None)
    assert waiting["wait_seconds"] == broadcasts.PAUSED_RECHECK_SECONDS and not waiting["done"]
    store.archive(ws, api["id"])
    assert broadcasts.page(ws, api["id"], trigger_id, None)["done"] is True
    assert status_of(ws, api["id"], trigger_id)["status"] == "failed"
    assert errors_of(ws, api["id"], trigger_id) == [
        {"identifier": "broadcast", "reason": "the campaign is archived"}
    ]
    assert fake.journeys() == []


# --- activation fan-outs -------------------------------------------------------------------------------


def test_a_segment_entry_campaign_s_current_members_enter_on_activation(ws, app, track, fake):
    segment_id = str(app.post("/v1/segments", {"segment": {"name": "VIP"}}).json["segment"]["id"])
    for who in ("ann", "bob"):
        track.put(f"/api/v1/customers/{who}", {})
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["ann", "bob"]})
    entry = campaign(
        ws,
        {"type": "segment_entry", "segment_id": segment_id},
        settings={"audience": "current_and_future"},
    )  # activate() calls enter_current_members
    [machine] = fake.broadcasts()
    trigger_id = machine.payload["trigger_id"]
    assert broadcasts.enter_current_members(ws, entry["id"]) == trigger_id  # again: nothing new
    assert len(fake.broadcasts()) == 1
    run_pages(ws, entry["id"], trigger_id)
    assert fake.people() == sorted([cio(ws, "ann"), cio(ws, "bob")])
    # Each under the trigger id its membership's stream record gives: the stream cannot enter them twice.
    for start in fake.journeys():
        entered_at = start.payload["trigger"]["entered_at"]
        assert start.payload["trigger"]["type"] == "segment_entry"
        expected = triggers.membership_trigger_id("segment_entry", entered_at)
        assert start.name == executions.execution_name(entry["id"], start.payload["cio_id"], expected)


def test_a_one_time_broadcast_waits_for_send_at(ws, app, track, fake, monkeypatch):
    segment_id = str(app.post("/v1/segments", {"segment": {"name": "VIP"}}).json["segment"]["id"])
    track.put("/api/v1/customers/ann", {})
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["ann"]})
    now = clock.now()
    once = campaign(ws, {"type": "broadcast", "segment_id": segment_id, "send_at": now + 7200})
    trigger_id = broadcasts.enter_current_members(ws, once["id"])
    assert trigger_id is not None
    assert broadcasts.enter_current_members(ws, once["id"]) == trigger_id  # once per campaign
    waiting = broadcasts.page(ws, once["id"], trigger_id, None)
    assert waiting["wait_seconds"] == broadcasts.MAX_SCHEDULED_WAIT_SECONDS and fake.journeys() == []
    monkeypatch.setattr(clock, "now", lambda: now + 7200)
    run_pages(ws, once["id"], trigger_id)
    [start] = fake.journeys()
    assert start.payload["trigger"] == {"type": "broadcast", "trigger_id": trigger_id}


def test_a_date_campaign_going_live_schedules_everyone(ws, track, fake):
    now = clock.now()
    track.put("/api/v1/customers/ann", {"renews_at": now + 86400})
    track.put("/api/v1/customers/bob", {"renews_at": now - 86400})  # passed
    track.put("/api/v1/customers/cat", {})
    dated = campaign(ws, {"type": "date_attribute", "attribute": "renews_at", "offset_seconds": -3600})
    trigger_id = broadcasts.enter_current_members(ws, dated["id"])
    assert trigger_id is not None
    run_pages(ws, dated["id"], trigger_id)
    assert triggers.scheduled(ws, dated["id"], cio(ws, "ann")) == now + 86400 - 3600
    assert triggers.scheduled(ws, dated["id"], cio(ws, "bob")) is None
    assert triggers.scheduled(ws, dated["id"], cio(ws, "cat")) is None
    assert fake.journeys() == []


def test_other_campaigns_have_no_activation_fan_out(ws, fake):
    assert broadcasts.enter_current_members(ws, campaign(ws, {"type": "event", "name": "x"})["id"]) is None


# --- on moto's Step Functions engine -------------------------------------------------------------------


class MachineWorkflows(FakeWorkflows):
    """Journeys recorded as by the fake; the broadcast machine deployed and run on moto's engine."""

    def __init__(self, sfn: Any, arn: str) -> None:
        super().__init__()
        self.sfn, self.arn = sfn, arn

    def broadcast_machine_arn(self) -> str:
        return self.arn

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        if target_arn != self.arn:
            return super().start(target_arn, name, payload)
        self.sfn.start_execution(stateMachineArn=target_arn, name=name, input=json.dumps(payload))
        return True


@pytest.mark.direct_moto  # hundreds of people paged: volume, not the AWS wire
def test_the_broadcast_machine_runs_the_pages_on_moto(ws, account):
    from nudge.campaigns import step_functions

    calls: list[dict[str, Any]] = []

    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        event = json.loads(body)
        calls.append(event)
        try:
            assert event.pop("action") == broadcast_machine.ACTION
            return json.dumps(broadcasts.page_step({**event, "action": broadcast_machine.ACTION})).encode()
        except Exception as exc:  # as Lambda answers a function error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with ExitStack() as stack:
        stack.enter_context(patch.dict(default_user_config, config))
        stack.enter_context(patch.object(LambdaSimpleBackend, "invoke", invoke))
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="nudge-broadcasts", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName="nudge-campaigns",
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="nudge-test-broadcasts",
            definition=json.dumps(broadcast_machine.definition("nudge-campaigns")),
            roleArn=role,
            type="STANDARD",
        )["stateMachineArn"]
        port = MachineWorkflows(sfn, machine)
        step_functions.install(port)
        stack.callback(step_functions.install, None)

        api = campaign(ws)
        trigger_id = trigger(ws, api["id"], {"ids": [f"p{n:03d}" for n in range(150)]})
        [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the broadcast machine did not finish"
            time.sleep(0.05)
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        assert described["status"] == "SUCCEEDED", described
        assert execution["name"] == f"broadcast-{trigger_id}"
        assert [c["cursor"] for c in calls] == [None, "100"]
        assert len(port.journeys()) == 150
        assert status_of(ws, api["id"], trigger_id)["status"] == "done"


def test_the_route_table_takes_the_bodies_broadcasts_accept():
    assert BROADCAST_BODY_LIMIT == broadcasts.MAX_BODY_BYTES


def test_a_sending_rate_out_of_range_is_refused_naming_the_field(app):
    answer = app.put("/v1/settings/delivery", {"sending_rate": 0})
    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == "/sending_rate"
    assert app.put("/v1/settings/delivery", {"sending_rate": 50}).json["delivery"]["sending_rate"] == 50
