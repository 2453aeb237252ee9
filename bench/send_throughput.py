"""One send invocation: how many messages it renders and sends per second, and what each costs in
DynamoDB requests.

A workspace with an email template (a layout, a snippet, customer and trigger variables, three links to
track) and ``BATCH`` people; ``BATCH`` queued deliveries arrive as one stream batch (the event source
mapping's batch size) at the real send handler. Twice: once with the channel replaced by a port that
takes the message and does nothing (the pipeline's own cost: render, gates, claims, records, metering),
and once through the real SES v2 adapter to moto's SES (adds building the MIME message and the API call,
at moto's speed, not SES's). The meter counts every DynamoDB call. Import after ``use_mocked_aws()``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.environment import REGION
from bench.meter import SwitchedMeter
from nudge import workspaces
from tests.support.aws import mocked_account

BATCH = 100
WARM_UP = 5
LAYOUT = "<html><body><div class='wrap'>{{ content }}</div>{{ snippets.footer }}</body></html>"
BODY = """<h1>Hi {{ customer.first_name | default('there') }}</h1>
<p>Your order {{ trigger.order_id }} of {{ trigger.items | length }} items has shipped.</p>
<ul>{% for item in trigger.items %}<li>{{ item.name }} x {{ item.qty }}</li>{% endfor %}</ul>
<p><a href="https://shop.example/orders/{{ trigger.order_id }}">Track it</a> ·
<a href="https://shop.example/account">Your account</a> · <a href="https://shop.example/help">Help</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""


@dataclass(frozen=True)
class SendRun:
    channel: str  # "null port" or "SES adapter -> moto"
    messages: int
    seconds: float
    calls: dict[str, int]
    read_units: float
    write_units: float

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    def per_message(self, value: float) -> float:
        return value / self.messages


def _stream_event(ws: str, delivery_ids: list[str]) -> dict[str, Any]:
    records = []
    for n, delivery_id in enumerate(delivery_ids):
        image = {
            "kind": {"S": "delivery"},
            "state": {"S": "queued"},
            "workspace_id": {"S": ws},
            "delivery_id": {"S": delivery_id},
        }
        records.append(
            {
                "eventID": str(n),
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/deliveries/stream/1",
                "dynamodb": {"SequenceNumber": str(n + 1), "NewImage": image},
            }
        )
    return {"Records": records}


def _setup(ws: str, count: int, prefix: str) -> list[str]:
    from nudge.delivery import records, template_store
    from nudge.tracking import people
    from nudge.tracking.identifiers import PersonRef
    from nudge.tracking.identify_request import IdentifyRequest

    layout = template_store.create_layout(ws, {"name": "base", "body": LAYOUT})
    template_store.put_snippet(ws, "footer", {"body": "<p>Acme Inc · {{ customer.email }}</p>"})
    template = template_store.create(
        ws,
        {
            "name": "shipped",
            "channel": "email",
            "subject": "Order {{ trigger.order_id }} shipped",
            "body": BODY,
            "layout_id": layout["id"],
        },
    )
    ids = []
    for n in range(count):
        person = people.identify(
            ws,
            PersonRef("id", f"{prefix}-{n}"),
            IdentifyRequest.parse({"email": f"{prefix}-{n}@example.com", "first_name": "Ann"}),
        )
        assert person is not None
        delivery_id = f"{prefix}-{n:04d}"
        records.queue(
            ws,
            records.NewDelivery(
                delivery_id=delivery_id,
                cio_id=person.cio_id,
                channel="email",
                source="campaign",
                template_id=template.id,
                request={"message_data": {"order_id": f"A-{n}", "items": [{"name": "Mug", "qty": 2}] * 3}},
            ),
        )
        ids.append(delivery_id)
    return ids


def _run(channel: str, install: Any, meter: SwitchedMeter) -> SendRun:
    from functions.send import handler as send
    from nudge.delivery import channel_set
    from nudge_tools.local.apigw import LocalContext

    with mocked_account():
        keys = workspaces.create_workspace("Bench", "essentials")
        ws = keys.workspace_id
        channel_set.install(install())
        try:
            warm = _setup(ws, WARM_UP, "warm")
            timed = _setup(ws, BATCH, "t")
            counted = _setup(ws, BATCH, "c")
            context: Any = LocalContext(function_name="nudge-send")
            send.handler(_stream_event(ws, warm), context)
            # Timed unmetered (the meter reads every item it bills), then counted on a second batch.
            started = time.perf_counter()
            result = send.handler(_stream_event(ws, timed), context)
            seconds = time.perf_counter() - started
            with meter.counting() as calls:
                send.handler(_stream_event(ws, counted), context)
        finally:
            channel_set.install(None)
    assert not result["batchItemFailures"], result
    return SendRun(
        channel,
        BATCH,
        seconds,
        dict(Counter(c.operation for c in calls)),
        sum(c.read_units for c in calls),
        sum(c.write_units for c in calls),
    )


def measure() -> list[SendRun]:
    """Run the workload in a fresh process: the meter's hooks must be in place before any DynamoDB client
    exists, and other benchmarks in this process have built theirs already."""
    import json
    import os
    import subprocess
    import sys

    from bench.environment import mocked_aws_environment

    out = subprocess.run(
        [sys.executable, "-m", "bench.send_throughput", "--json"],
        env=mocked_aws_environment(dict(os.environ)),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [SendRun(**run) for run in json.loads(out.splitlines()[-1])]


def _workload() -> list[SendRun]:
    from tests.support.channels import FakeChannels

    def null_ports() -> Any:
        from nudge.delivery.channel_set import Channels

        fakes = FakeChannels()
        return Channels(fakes.email, fakes.sms, fakes.push, fakes.webhook, fakes.smtp)

    def ses_to_moto() -> Any:
        import boto3

        from nudge.delivery.channel_set import Channels
        from nudge.delivery.channels.ses import SesEmail

        fakes = FakeChannels()
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity="localhost")
        return Channels(SesEmail(client), fakes.sms, fakes.push, fakes.webhook, fakes.smtp)

    from pynamodb import signals

    meter = SwitchedMeter(REGION)
    signals.pre_dynamodb_send.connect(meter.count_send)
    try:
        with meter.installed():
            return [_run("null port", null_ports, meter), _run("SES v2 adapter -> moto", ses_to_moto, meter)]
    finally:
        signals.pre_dynamodb_send.disconnect(meter.count_send)


def section(runs: list[SendRun]) -> list[str]:
    lines = [
        f"### Send: one invocation, a batch of {BATCH} emails (template + layout + snippet, 4 tracked links)",
        "",
        "| channel | messages/s | DynamoDB calls per message | RRU per message | WRU per message |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        per = ", ".join(f"{op} {count / run.messages:g}" for op, count in sorted(run.calls.items()))
        lines.append(
            f"| {run.channel} | {run.per_second:,.0f} | {per} | {run.per_message(run.read_units):.2f} "
            f"| {run.per_message(run.write_units):.2f} |"
        )
    return lines


if __name__ == "__main__":
    import json
    import sys
    from dataclasses import asdict

    from bench.environment import use_mocked_aws

    use_mocked_aws()
    if "--json" in sys.argv:
        print(json.dumps([asdict(run) for run in _workload()]))
    else:
        print("\n".join(section(_workload())))
