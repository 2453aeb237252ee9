"""Campaigns in the local runtime, over real HTTP:

- from an event tracked over the Track API to the campaign's email in the outbox (median, p95): the
  stream, the trigger, Step Functions (moto's engine), the campaigns function, the deliveries stream,
  the send function and the SES adapter;
- state transitions per message: the states one execution entered, from its history, for a one-send
  journey and for send -> delay -> send (each state entered is a billed Standard transition);
- broadcast throughput: an API-triggered broadcast to a manual segment, people per second until every
  message is queued.

Everything runs on one machine under moto, so the times say how the local runtime performs, not AWS;
the transition counts are what AWS bills.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.support.local_runtime import Runtime, start

SAMPLES = 20
BROADCAST_PEOPLE = 200
DOLLARS_PER_TRANSITION = 0.025 / 1000  # Standard workflows, us-east-1 list price


@dataclass(frozen=True)
class CampaignFlow:
    latencies: list[float]
    transitions_one_send: int
    transitions_two_sends: int
    broadcast_people: int
    broadcast_seconds: float

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _ok(answer: Any) -> Any:
    answer.raise_for_status()
    return answer.json()


def _template(runtime: Runtime, channel: str = "email") -> str:
    body: dict[str, Any] = {"name": uuid.uuid4().hex, "channel": channel, "body": "<p>hi</p>"}
    if channel == "email":
        body["subject"] = "bench"
    return str(_ok(runtime.app("POST", "/v1/templates", body))["template"]["id"])


def _campaign(runtime: Runtime, trigger: dict[str, Any], blocks: dict[str, Any], **settings: Any) -> str:
    definition: dict[str, Any] = {
        "name": uuid.uuid4().hex,
        "trigger": trigger,
        "workflow": {"start": "b1", "blocks": blocks},
    }
    if settings:
        definition["settings"] = settings
    campaign_id = str(_ok(runtime.app("POST", "/v1/campaigns", {"campaign": definition}))["campaign"]["id"])
    _ok(runtime.app("POST", f"/v1/campaigns/{campaign_id}/activate", {}))
    return campaign_id


# Polled finely on a kept-alive connection: a sample is only as precise as its polling (see local_latency).
POLL_SECONDS = 0.002


def _outbox_ids(runtime: Runtime, session: requests.Session | None = None) -> set[str]:
    answer = (session or requests).get(runtime.url + "/_local/outbox", timeout=10, verify=runtime.verify)
    return {m["delivery_id"] for m in answer.json()}


def _latencies(runtime: Runtime, samples: int) -> list[float]:
    template = _template(runtime)
    _campaign(
        runtime,
        {"type": "event", "name": "bench_order"},
        {"b1": {"type": "send", "channel": "email", "template_id": template}},
        frequency={"type": "every_match"},
    )
    runtime.track("PUT", "/api/v1/customers/bench", {"email": "bench@example.com"}).raise_for_status()
    session = requests.Session()
    seen: list[float] = []
    for _ in range(samples):
        before = _outbox_ids(runtime, session)
        began = time.perf_counter()
        runtime.track("POST", "/api/v1/customers/bench/events", {"name": "bench_order"}).raise_for_status()
        runtime.wait_until(
            lambda before=before: len(_outbox_ids(runtime, session) - before) >= 1,
            timeout=60,
            interval=POLL_SECONDS,
        )
        seen.append(time.perf_counter() - began)
        # every_match does not re-enter while a journey runs: let this one finish first
        time.sleep(0.3)
    return seen


def _transitions(runtime: Runtime, blocks: dict[str, Any], sends: int) -> int:
    """States entered by one execution of a fresh campaign with ``blocks`` (event-triggered)."""
    name = f"bench_{uuid.uuid4().hex[:6]}"
    campaign_id = _campaign(runtime, {"type": "event", "name": name}, blocks)
    person = f"t-{uuid.uuid4().hex[:6]}"
    runtime.track("PUT", f"/api/v1/customers/{person}", {"email": f"{person}@example.com"}).raise_for_status()
    runtime.track("POST", f"/api/v1/customers/{person}/events", {"name": name}).raise_for_status()
    sfn = runtime.aws("stepfunctions")

    def executions() -> list[Any]:
        machines = [m for m in sfn.list_state_machines()["stateMachines"] if campaign_id in m["name"]]
        return list(sfn.list_executions(stateMachineArn=machines[0]["stateMachineArn"])["executions"])

    def finished() -> Any:
        done = [e for e in executions() if e["status"] == "SUCCEEDED"]
        return done[0] if done else None

    def sent() -> bool:
        metrics = _ok(runtime.app("GET", f"/v1/campaigns/{campaign_id}/metrics"))["metrics"]["campaign"]
        return bool(metrics["sent"] >= sends)

    runtime.wait_until(sent, timeout=60)
    if not executions():
        return 0  # a one-send campaign queues its message without an execution: no state entered
    execution = runtime.wait_until(finished, timeout=60)
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    entered = sum(1 for event in history if event["type"].endswith("StateEntered"))
    assert sends >= 1
    return entered


def _broadcast(runtime: Runtime, people: int) -> float:
    tag = uuid.uuid4().hex[:6]
    ids = [f"b-{tag}-{n}" for n in range(people)]
    for start_at in range(0, people, 250):
        batch = [
            {"type": "person", "action": "identify", "identifiers": {"id": i}, "attributes": {"b": 1}}
            for i in ids[start_at : start_at + 250]
        ]
        runtime.track("POST", "/api/v2/batch", {"batch": batch}).raise_for_status()
    segment = _ok(runtime.app("POST", "/v1/segments", {"segment": {"name": tag}}))["segment"]["id"]
    _ok(runtime.app("POST", f"/v1/segments/{segment}/add_customers", {"ids": ids}))
    template = _template(runtime, "in_app")
    campaign_id = _campaign(
        runtime, {"type": "api"}, {"b1": {"type": "send", "channel": "in_app", "template_id": template}}
    )
    began = time.perf_counter()
    _ok(
        runtime.app(
            "POST", f"/v1/campaigns/{campaign_id}/triggers", {"recipients": {"segment": {"id": segment}}}
        )
    )

    def all_queued() -> bool:
        metrics = _ok(runtime.app("GET", f"/v1/campaigns/{campaign_id}/metrics"))["metrics"]["campaign"]
        return bool(metrics["sent"] >= people)

    runtime.wait_until(all_queued, timeout=900)
    return time.perf_counter() - began


def measure(samples: int = SAMPLES, broadcast_people: int = BROADCAST_PEOPLE) -> CampaignFlow:
    with tempfile.TemporaryDirectory() as state:
        runtime = start(Path(state), "--no-demo", "--time-scale", "3600")
        try:
            latencies = _latencies(runtime, samples)
            template = _template(runtime)
            one = _transitions(
                runtime, {"b1": {"type": "send", "channel": "email", "template_id": template}}, sends=1
            )
            two = _transitions(
                runtime,
                {
                    "b1": {"type": "send", "channel": "email", "template_id": template, "next": "b2"},
                    "b2": {"type": "delay", "seconds": 86400, "next": "b3"},
                    "b3": {"type": "send", "channel": "email", "template_id": template},
                },
                sends=2,
            )
            seconds = _broadcast(runtime, broadcast_people)
        finally:
            runtime.stop()
    return CampaignFlow(latencies, one, two, broadcast_people, seconds)


def section(flow: CampaignFlow) -> list[str]:
    per_message_two = flow.transitions_two_sends / 2
    rate = flow.broadcast_people / flow.broadcast_seconds
    return [
        "### Campaigns (local runtime, moto's Step Functions engine)",
        "",
        "| measure | value |",
        "|---|---|",
        f"| event over HTTP -> email in the outbox, median | {flow.median * 1000:.0f} ms |",
        f"| event over HTTP -> email in the outbox, p95 | {flow.p95 * 1000:.0f} ms |",
        f"| state transitions, one-send campaign (an event's email) | {flow.transitions_one_send} "
        f"(${flow.transitions_one_send * DOLLARS_PER_TRANSITION * 1_000_000:,.0f} per million people; "
        "no execution: the trigger queues the message) |",
        f"| state transitions, send -> delay 1 day -> send | {flow.transitions_two_sends} "
        f"({per_message_two:g} per message; the day's wait costs no transitions) |",
        f"| broadcast of {flow.broadcast_people} people, all messages queued "
        f"| {flow.broadcast_seconds:.1f} s ({rate:.1f} people/s on this machine) |",
    ]


if __name__ == "__main__":
    print("\n".join(section(measure(samples=5, broadcast_people=50))))
