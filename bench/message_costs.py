"""What a message costs at list prices, per 1,000, every AWS service counted (``make bench``; alone:
``python -m bench.message_costs``).

Each flow runs in this process against moto, through the real handlers, with every effect counted where it
happens rather than assumed:

- **DynamoDB** request units: the meter (``bench/meter.py``) on every call, whichever function makes it.
- **Lambda** invocations, per function: each handler is wrapped where the platform would call it (the
  App and Track APIs through API Gateway-shaped events, the campaigns function by moto's Step Functions
  engine, the send and evaluate functions per stream batch of at most 100 records as their event source
  mappings deliver them, the feedback function once per SNS notification). Billed duration cannot be
  measured here (moto answers in-process): it is modelled per invocation from what it did, counted,
  with round trips stated in ``LATENCY_MS``. 512 MB arm64 (``infra/config.py``).
- **Step Functions** transitions: the states every execution entered, from moto's execution histories.
- **SES**: emails the SES v2 adapter sent (to moto); SES's events (Delivery, and Send if the
  configuration set publishes it: ``EMAIL_EVENTS`` in ``infra/components/delivery.py``) as SNS
  publishes, each applied by the feedback function's domain code (``ses_events.parse`` and
  ``feedback.from_ses``; its signature check is CPU only).
- **Streams**: read by Lambda event source mappings, free; the consumers' own reads are in DynamoDB's
  units. Every deliveries-stream record (queued, attempted, sent, delivered) reaches the send function, as
  its filter lets every delivery image through.
- **CloudWatch Logs**: the bytes the handlers write to stdout at the deployed level (INFO), counted, plus
  Lambda's START/END/REPORT lines per invocation (``PLATFORM_LOG_BYTES``), at the ingestion price.
- **API Gateway**: the HTTP API requests made.

Flows: a one-send campaign broadcast to a segment as the code does it now (the page queues the messages:
``direct_sends``) and as it did before (one execution per person: the same code with the one-send path
switched off, as journeys with a wait still run); a journey send -> delay -> branch -> send triggered by a
Track API event (the event's own ingestion and evaluation counted too), two emails per person.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

PEOPLE = int(os.environ.get("BENCH_COST_PEOPLE", "100"))  # per broadcast flow
JOURNEY_PEOPLE = 10  # the journey's executions run one after another, each waiting its 1 s delay

# List prices, us-east-1 (/work/shared/reference/aws-notes.md; CloudWatch Logs and SNS from AWS's pages).
PRICE = {
    "api_gateway_request": 1.00 / 1e6,  # HTTP API
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000133334,  # arm64
    "wru": 0.625 / 1e6,
    "rru": 0.125 / 1e6,
    "transition": 0.025 / 1000,  # Standard
    "ses_email": 0.10 / 1000,
    "sns_publish": 0.50 / 1e6,
    "log_gb": 0.50,  # CloudWatch Logs ingestion, standard class
}
MEMORY_GB = 0.5  # every function's memory (infra/config.py)
# Billed duration per invocation, modelled: a fixed part (the runtime's dispatch and our code between
# calls) plus one round trip per call made. Round trips inside one region: DynamoDB single-digit
# milliseconds, SES SendEmail and Step Functions StartExecution tens. Stated, not measured.
LATENCY_MS = {"base": 3.0, "dynamodb": 5.0, "ses": 40.0, "start_execution": 25.0}
PLATFORM_LOG_BYTES = 330  # START, END and REPORT lines of one invocation
BATCH = 100  # the stream event source mappings' batch size (infra/components/streams.py)


@dataclass
class Usage:
    """What one flow used, counted."""

    name: str
    messages: int
    api_requests: int = 0
    invocations: dict[str, int] = field(default_factory=dict)
    billed_ms: float = 0.0
    dynamodb_calls: dict[str, int] = field(default_factory=dict)
    units_by_call: dict[str, list[float]] = field(default_factory=dict)  # label -> [calls, WRU, RRU]
    wru: float = 0.0
    rru: float = 0.0
    transitions: int = 0
    emails: int = 0
    sns_publishes: int = 0
    log_bytes: int = 0

    def dollars(self) -> dict[str, float]:
        """Per service, per 1,000 messages."""
        scale = 1000 / self.messages
        calls = sum(self.invocations.values())
        gb_seconds = self.billed_ms / 1000 * MEMORY_GB
        logs = self.log_bytes + calls * PLATFORM_LOG_BYTES
        return {
            "API Gateway": self.api_requests * PRICE["api_gateway_request"] * scale,
            "Lambda requests": calls * PRICE["lambda_request"] * scale,
            "Lambda GB-s": gb_seconds * PRICE["lambda_gb_second"] * scale,
            "DynamoDB": (self.wru * PRICE["wru"] + self.rru * PRICE["rru"]) * scale,
            "Step Functions": self.transitions * PRICE["transition"] * scale,
            "SNS (SES events)": self.sns_publishes * PRICE["sns_publish"] * scale,
            "CloudWatch Logs": logs / 1e9 * PRICE["log_gb"] * scale,
            "SES": self.emails * PRICE["ses_email"] * scale,
        }

    def total(self) -> float:
        return sum(self.dollars().values())


# --- counting -------------------------------------------------------------------------------------------


class _Bytes(io.TextIOBase):
    """A stream that keeps only how much was written to it."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, text: str) -> int:
        self.count += len(text.encode())
        return len(text)


@dataclass
class _Frame:
    function: str
    calls_at_start: int
    ses_at_start: int
    starts_at_start: int
    nested: tuple[int, ...] = (0, 0, 0)


def _label(operation: str, request: dict[str, Any]) -> str:
    """Which table a call went to, and for an update the attributes it names."""
    tables = {request.get("TableName")} if request.get("TableName") else set(request.get("RequestItems", {}))
    for entry in request.get("TransactItems", []):
        tables |= {spec.get("TableName") for spec in entry.values()}
    names = ",".join(sorted(t.removeprefix(os.environ.get("NUDGE_TABLE_PREFIX", "")) for t in tables if t))
    if operation == "UpdateItem":
        named = sorted(set((request.get("ExpressionAttributeNames") or {}).values()))
        return f"{operation} {names} ({', '.join(named[:5])})"
    if operation == "PutItem":
        return f"{operation} {names} ({(request.get('Item', {}).get('kind') or {}).get('S', '')})"
    return f"{operation} {names}"


def _labelled_meter() -> Any:
    """The switched meter, noting for each call it bills which table and attributes it touched."""
    from bench.meter import SwitchedMeter

    class LabelledMeter(SwitchedMeter):
        def __init__(self, region: str) -> None:
            super().__init__(region)
            self.labels: list[str] = []

        def _after_call(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **kw: Any) -> None:
            before = len(self.calls)
            super()._after_call(model, parsed, context, **kw)
            if len(self.calls) > before:
                self.labels.append(_label(model.name, context.get("bench.request") or {}))

        def take(self) -> list[Any]:
            calls = super().take()
            for call, label in zip(calls, self.labels, strict=True):
                object.__setattr__(call, "label", label)
            self.labels = []
            return calls

    return LabelledMeter("us-east-1")


class Counters:
    """Invocations and their modelled durations, SES sends, StartExecution calls; nested invocations (a
    page's Task waiting on an execution it started, in the "before" flow) are billed to themselves."""

    def __init__(self, meter: Any) -> None:
        self.meter = meter
        self.invocations: Counter[str] = Counter()
        self.billed_ms = 0.0
        self.ses = 0
        self.starts = 0
        self._stack: list[_Frame] = []

    def wrap(self, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            frame = _Frame(function, self.meter.metered, self.ses, self.starts)
            self._stack.append(frame)
            try:
                return handler(*args, **kwargs)
            finally:
                self._stack.pop()
                totals = (
                    self.meter.metered - frame.calls_at_start,
                    self.ses - frame.ses_at_start,
                    self.starts - frame.starts_at_start,
                )
                own = [t - n for t, n in zip(totals, frame.nested, strict=True)]
                if self._stack:
                    parent = self._stack[-1]
                    parent.nested = tuple(a + b for a, b in zip(parent.nested, totals, strict=True))
                self.invocations[function] += 1
                self.billed_ms += (
                    LATENCY_MS["base"]
                    + own[0] * LATENCY_MS["dynamodb"]
                    + own[1] * LATENCY_MS["ses"]
                    + own[2] * LATENCY_MS["start_execution"]
                )

        return counted


# --- the flows ------------------------------------------------------------------------------------------


class _Streams:
    """The deliveries and evaluate-consumed tables' streams read synchronously from where they are now,
    handed to the send and evaluate handlers in batches of ``BATCH``, as the event source mappings do."""

    def __init__(self) -> None:
        import boto3
        from botocore.config import Config

        from nudge.model.tables import streamed_tables

        self.client = boto3.client(
            "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
        )
        self.consumers: dict[str, list[tuple[str, str]]] = {}  # consumer -> [(stream arn, iterator)]
        for consumer in ("send", "evaluate"):
            for model in streamed_tables(consumer).values():
                arn = model.describe_table()["LatestStreamArn"]
                for shard in self.client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                    iterator = self.client.get_shard_iterator(
                        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                    )["ShardIterator"]
                    self.consumers.setdefault(consumer, []).append((arn, iterator))

    def drain(self, handlers: dict[str, Callable[..., Any]]) -> int:
        """Deliver everything until the streams are quiet; the records delivered."""
        from nudge_tools.local.apigw import LocalContext
        from nudge_tools.local.streams import lambda_record

        delivered = 0
        while True:
            found = 0
            for consumer, shards in self.consumers.items():
                for n, (arn, iterator) in enumerate(shards):
                    answer = self.client.get_records(ShardIterator=iterator, Limit=1000)
                    shards[n] = (arn, answer["NextShardIterator"])
                    records = [lambda_record(dict(r), arn, "us-east-1") for r in answer["Records"]]
                    if consumer == "send":
                        records = [r for r in records if _is_delivery(r)]  # the mapping's filter
                    for start in range(0, len(records), BATCH):
                        batch = records[start : start + BATCH]
                        result = handlers[consumer]({"Records": batch}, LocalContext(function_name=consumer))
                        if result and result.get("batchItemFailures"):
                            raise RuntimeError(f"{consumer} failed records: {result}")
                    found += len(records)
            delivered += found
            if not found:
                return delivered


def _is_delivery(record: dict[str, Any]) -> bool:
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    return (image.get("kind") or {}).get("S") == "delivery"


class _Port:
    """The Workflows port on moto's engine; ``sequential`` starts wait for the execution to finish, so
    nothing runs beside anything else (the meter and the duration model count one thing at a time)."""

    def __init__(self, engine: Any, counters: Counters, *, sequential: bool) -> None:
        self.engine, self.counters, self.sequential = engine, counters, sequential
        self.executions: list[str] = []
        self._broadcast: str | None = None

    def deploy(  # the campaigns port's signature (nudge.campaigns.step_functions)
        self,
        workspace_id: str,  # noqa: ARG002 (the port's signature; this stand-in needs no workspace)
        campaign_id: str,
        asl: dict[str, Any],
    ) -> tuple[str, str]:
        arn = self.engine.sfn.create_state_machine(
            name=f"c-{campaign_id}-{uuid.uuid4().hex[:6]}",
            definition=json.dumps(asl),
            roleArn=self.engine.role_arn,
            type="STANDARD",
        )["stateMachineArn"]
        return arn, arn

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        self.counters.starts += 1
        try:
            arn = self.engine.sfn.start_execution(
                stateMachineArn=target_arn, name=name, input=json.dumps(payload)
            )["executionArn"]
        except self.engine.sfn.exceptions.ExecutionAlreadyExists:
            return False
        self.executions.append(arn)
        if self.sequential and target_arn != self._broadcast:
            self.engine.finished(arn, timeout=120)
        return True

    def broadcast_machine_arn(self) -> str:
        from nudge.campaigns import broadcast_machine

        if self._broadcast is None:
            function = "arn:aws:lambda:us-east-1:123456789012:function:nudge-campaigns"
            self._broadcast = self.engine.sfn.create_state_machine(
                name=f"broadcasts-{uuid.uuid4().hex[:6]}",
                definition=json.dumps(broadcast_machine.definition(function)),
                roleArn=self.engine.role_arn,
                type="STANDARD",
            )["stateMachineArn"]
        return self._broadcast

    def transitions(self) -> int:
        return sum(len(self.engine.entered(arn)) for arn in self.executions)


@contextmanager
def _world() -> Iterator[dict[str, Any]]:
    """A mocked account, a workspace, SES to moto, every handler wrapped and counted, stdout counted."""
    import boto3

    import functions.api.handler as api
    import functions.campaigns.handler as campaigns
    import functions.evaluate.handler as evaluate
    import functions.send.handler as send
    import functions.track.handler as track
    from nudge import workspaces
    from nudge.campaigns import step_functions
    from nudge.delivery import channel_set
    from nudge.delivery.channel_set import Channels
    from nudge.delivery.channels.ses import SesEmail
    from tests.support.aws import mocked_account
    from tests.support.campaign_workflows import campaign_engine
    from tests.support.channels import FakeChannels
    from tests.support.track import AppClient, TrackClient

    meter = _labelled_meter()
    counters = Counters(meter)
    out = _Bytes()
    with meter.installed(), mocked_account(), campaign_engine() as engine:
        keys = workspaces.create_workspace("Costs", "essentials")
        client = boto3.client("sesv2", region_name="us-east-1")
        client.create_email_identity(EmailIdentity="localhost")
        ses = SesEmail(client)
        real_send = ses.send_email

        def counted_send(message: Any) -> Any:
            counters.ses += 1
            return real_send(message)

        ses.send_email = counted_send  # type: ignore[method-assign]
        fakes = FakeChannels()
        channel_set.install(Channels(ses, fakes.sms, fakes.push, fakes.webhook, fakes.smtp))
        originals = {m: m.handler for m in (api, campaigns, evaluate, send, track)}
        names = {api: "api", campaigns: "campaigns", evaluate: "evaluate", send: "send", track: "track"}
        for module, handler in originals.items():
            module.handler = counters.wrap(names[module], handler)  # type: ignore[attr-defined]
        streams = _Streams()
        handlers = {"send": send.handler, "evaluate": evaluate.handler}
        try:
            yield {
                "ws": keys.workspace_id,
                "app": AppClient(keys.app_api_key),
                "track": TrackClient(keys.site_id, keys.track_api_key),
                "engine": engine,
                "meter": meter,
                "counters": counters,
                "streams": streams,
                "handlers": handlers,
                "out": out,
                "workflows": step_functions,
                "fakes": fakes,
            }
        finally:
            for module, handler in originals.items():
                module.handler = handler  # type: ignore[attr-defined]
            channel_set.install(None)
            step_functions.install(None)


def _ok(answer: Any) -> Any:
    assert answer.status == 200, answer.raw[:300]
    return answer.json


def _long_body() -> str:
    """About 20 KB of HTML and a dozen links: a newsletter as people send them (the short template above
    hides what a message's size costs: DynamoDB bills each write on the whole item)."""
    paragraph = "<p>" + "Our new season is here, with more to see than ever before. " * 8 + "</p>\n"
    links = "".join(f'<p><a href="https://shop.example/item/{n}">item {n}</a></p>\n' for n in range(12))
    return "<p>Hi {{ customer.first_name }},</p>\n" + paragraph * 40 + links


def _template(app: Any, body_html: str | None = None) -> str:
    body = {
        "name": uuid.uuid4().hex,
        "channel": "email",
        "subject": "News for {{ customer.first_name }}",
        "body": body_html
        or '<p>Hi {{ customer.first_name }}, <a href="https://shop.example/new">see what is new</a></p>',
    }
    return str(_ok(app.post("/v1/templates", body))["template"]["id"])


def _people(w: dict[str, Any], tag: str, count: int, **attributes: Any) -> list[str]:
    from nudge.tracking import people
    from nudge.tracking.identifiers import PersonRef
    from nudge.tracking.identify_request import IdentifyRequest

    ids = [f"{tag}-{n:04d}" for n in range(count)]
    for person in ids:
        people.identify(
            w["ws"],
            PersonRef("id", person),
            IdentifyRequest.parse({"email": f"{person}@example.com", "first_name": "Ann", **attributes}),
        )
    return ids


def _feedback(w: dict[str, Any], counters: Counters, usage: Usage, before: set[str]) -> None:
    """SES's events for each email sent since ``before``, those the configuration set publishes
    (``infra.components.delivery.EMAIL_EVENTS``) of Send and Delivery: an SNS publish and a feedback
    invocation each, applied by the feedback function's domain code."""
    from infra.components.delivery import EMAIL_EVENTS
    from nudge.delivery import feedback, ses_events
    from nudge.model.deliveries import Delivery

    published = {event.value for event in EMAIL_EVENTS}

    apply = counters.wrap("feedback", lambda event: feedback.from_ses(event) if event else None)
    w["meter"].on = False  # the bench's own scan, not the flow's
    sent = [d for d in Delivery.scan() if d.state == "sent" and d.delivery_id not in before]
    w["meter"].on = True
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    for found in sent:
        tags = {"nudge-workspace": [found.workspace_id], "nudge-delivery": [found.delivery_id]}
        mail = {"timestamp": now, "messageId": f"m-{found.delivery_id}", "source": "nudge@localhost",
                "destination": [found.recipient], "tags": tags}  # fmt: skip
        for kind, section in (
            ("Send", {}),
            ("Delivery", {"timestamp": now, "recipients": [found.recipient]}),
        ):
            if kind.upper() not in published:  # the enum names them SEND, DELIVERY, ...
                continue
            message = {"eventType": kind, "mail": mail, **({kind.lower(): section} if section else {})}
            with _stdout(w["out"]):
                apply(ses_events.parse(json.dumps(message)))
            usage.sns_publishes += 1


@contextmanager
def _stdout(out: _Bytes) -> Iterator[None]:
    """Whatever the handlers print or log goes to ``out`` (counted, not shown)."""
    saved = sys.stdout
    streams = []
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (saved, sys.__stdout__):
                streams.append((handler, handler.stream))
                handler.setStream(out)
    sys.stdout = out
    try:
        yield
    finally:
        sys.stdout = saved
        for handler, stream in streams:
            handler.setStream(stream)


def _sent_ids() -> set[str]:
    from nudge.model.deliveries import Delivery

    return {d.delivery_id for d in Delivery.scan() if d.state in ("sent", "delivered")}


def _finish(w: dict[str, Any], usage: Usage, calls: list[Any], port: _Port, emails_before: int) -> Usage:
    counters: Counters = w["counters"]
    usage.invocations = dict(counters.invocations)
    usage.billed_ms = counters.billed_ms
    usage.dynamodb_calls = dict(Counter(c.operation for c in calls))
    for call in calls:
        row = usage.units_by_call.setdefault(getattr(call, "label", call.operation), [0, 0.0, 0.0])
        row[0] += 1
        row[1] += call.write_units
        row[2] += call.read_units
    usage.wru = sum(c.write_units for c in calls)
    usage.rru = sum(c.read_units for c in calls)
    usage.transitions = port.transitions()
    usage.emails = counters.ses - emails_before
    usage.log_bytes = w["out"].count
    return usage


def _reset(w: dict[str, Any]) -> None:
    counters: Counters = w["counters"]
    counters.invocations.clear()
    counters.billed_ms = 0.0
    w["out"].count = 0


def _broadcast(w: dict[str, Any], name: str, *, direct: bool, body_html: str | None = None) -> Usage:
    from nudge.campaigns import direct_sends, executions

    app, engine = w["app"], w["engine"]
    tag = uuid.uuid4().hex[:6]
    ids = _people(w, tag, PEOPLE)
    segment = _ok(app.post("/v1/segments", {"segment": {"name": tag}}))["segment"]["id"]
    for start in range(0, len(ids), 1000):
        _ok(w["track"].post(f"/api/v1/segments/{segment}/add_customers", {"ids": ids[start : start + 1000]}))
    template = _template(app, body_html)
    port = _Port(engine, w["counters"], sequential=True)
    w["workflows"].install(port)
    campaign = {
        "name": name,
        "trigger": {"type": "api"},
        "workflow": {"start": "b1", "blocks": {"b1": {"type": "send", "channel": "email",
                                                      "template_id": template}}},
    }  # fmt: skip
    campaign_id = _ok(app.post("/v1/campaigns", {"campaign": campaign}))["campaign"]["id"]
    _ok(app.post(f"/v1/campaigns/{campaign_id}/activate", {}))
    w["streams"].drain(w["handlers"])  # what setting up left in the streams is not this flow's
    before = _sent_ids()
    _reset(w)
    emails_before = w["counters"].ses
    usage = Usage(name, PEOPLE, api_requests=1)
    real_single_send = direct_sends.single_send
    if not direct:  # the code as it was: no one-send path, neither in the pages nor in enter
        direct_sends.single_send = executions.single_send = lambda campaign: None  # noqa: ARG005 (stands in for single_send)
    try:
        with w["meter"].counting() as calls, _stdout(w["out"]):
            _ok(
                app.post(
                    f"/v1/campaigns/{campaign_id}/triggers", {"recipients": {"segment": {"id": segment}}}
                )
            )
            for arn in list(port.executions):
                engine.finished(arn, timeout=600)
            while any(
                engine.sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in port.executions
            ):
                time.sleep(0.1)
            w["streams"].drain(w["handlers"])
        with w["meter"].counting() as feedback_calls:
            _feedback(w, w["counters"], usage, before)
            with _stdout(w["out"]):
                w["streams"].drain(w["handlers"])
    finally:
        direct_sends.single_send = executions.single_send = real_single_send
    return _finish(w, usage, [*calls, *feedback_calls], port, emails_before)


def _journey(w: dict[str, Any], *, one_send: bool = False) -> Usage:
    app, engine, track = w["app"], w["engine"], w["track"]
    tag = uuid.uuid4().hex[:6]
    ids = _people(w, tag, JOURNEY_PEOPLE, plan="pro")
    template = _template(app)
    port = _Port(engine, w["counters"], sequential=True)
    w["workflows"].install(port)
    send = {"type": "send", "channel": "email", "template_id": template}
    blocks = {"b1": send} if one_send else {
        "b1": {**send, "next": "b2"},
        "b2": {"type": "delay", "seconds": 1, "next": "b3"},
        "b3": {"type": "branch",
               "condition": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
               "true": "b4"},
        "b4": send,
    }  # fmt: skip
    event = f"ordered_{tag}"
    campaign = {
        "name": "Journey",
        "trigger": {"type": "event", "name": event},
        "workflow": {"start": "b1", "blocks": blocks},
    }
    campaign_id = _ok(app.post("/v1/campaigns", {"campaign": campaign}))["campaign"]["id"]
    _ok(app.post(f"/v1/campaigns/{campaign_id}/activate", {}))
    w["streams"].drain(w["handlers"])
    before = _sent_ids()
    _reset(w)
    emails_before = w["counters"].ses
    if one_send:
        usage = Usage("one-send campaign email from a Track API event, now: no execution",
                      JOURNEY_PEOPLE, api_requests=JOURNEY_PEOPLE)  # fmt: skip
    else:
        usage = Usage("journey: send -> delay -> branch -> send (2 emails a person), from a Track API event",
                      2 * JOURNEY_PEOPLE, api_requests=JOURNEY_PEOPLE)  # fmt: skip
    with w["meter"].counting() as calls, _stdout(w["out"]):
        for person in ids:
            assert track.post(f"/api/v1/customers/{person}/events", {"name": event}).status == 200
        w["streams"].drain(w["handlers"])  # evaluate starts each execution and waits for it
        w["streams"].drain(w["handlers"])
    with w["meter"].counting() as feedback_calls:
        _feedback(w, w["counters"], usage, before)
        with _stdout(w["out"]):
            w["streams"].drain(w["handlers"])
    return _finish(w, usage, [*calls, *feedback_calls], port, emails_before)


def _workload() -> list[Usage]:
    from pynamodb import signals

    with _world() as w:
        signals.pre_dynamodb_send.connect(w["meter"].count_send)
        try:
            return [
                _broadcast(w, "one-send campaign email, before: one execution per person", direct=False),
                _broadcast(w, "one-send campaign email, now: the page queues the messages", direct=True),
                _broadcast(w, "the same, now, with a 20 KB email", direct=True, body_html=_long_body()),
                _journey(w, one_send=True),
                _journey(w),
            ]
        finally:
            signals.pre_dynamodb_send.disconnect(w["meter"].count_send)


def measure() -> list[Usage]:
    """In a fresh process (the meter's hooks must precede every DynamoDB client), at the deployed log
    level."""
    import subprocess

    from bench.environment import mocked_aws_environment

    env = mocked_aws_environment(dict(os.environ))
    out = subprocess.run(
        [sys.executable, "-m", "bench.message_costs", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [Usage(**u) for u in json.loads(out.splitlines()[-1])]


TARGET = 0.105  # dollars per 1,000 messages, SES's $0.10 included


def section(runs: list[Usage]) -> list[str]:
    services = list(runs[0].dollars())
    lines = [
        "### Cost per 1,000 messages, every service counted (list prices, us-east-1)",
        "",
        "Counted in process against moto by `bench/message_costs.py` (the module's docstring says how each"
        " service is counted); Lambda's billed duration is modelled per invocation from the calls it made"
        f" ({', '.join(f'{k} {v:g} ms' for k, v in LATENCY_MS.items())}),"
        f" at {MEMORY_GB * 1024:.0f} MB arm64.",
        "",
        "| flow | " + " | ".join(services) + " | total | ours (without SES) |",
        "|:---|" + "---:|" * (len(services) + 2),
    ]
    for run in runs:
        dollars = run.dollars()
        ours = run.total() - dollars["SES"]
        cells = " | ".join(f"${dollars[s]:.5f}" for s in services)
        lines.append(f"| {run.name} | {cells} | **${run.total():.4f}** | ${ours:.4f} |")
    header = "| flow | messages | Lambda invocations | DynamoDB calls | WRU | RRU | transitions | log bytes |"
    lines += ["", header, "|:---|---:|:---|:---|---:|---:|---:|---:|"]
    for run in runs:
        calls = ", ".join(f"{k} {v}" for k, v in sorted(run.dynamodb_calls.items()))
        invocations = ", ".join(f"{k} {v}" for k, v in sorted(run.invocations.items()))
        lines.append(
            f"| {run.name} | {run.messages} | {invocations} | {calls} | {run.wru:g} | {run.rru:g} "
            f"| {run.transitions} | {run.log_bytes:,} |"
        )
    now = [run for run in runs if run.name.startswith("one-send campaign email, now")]
    return lines + (_breakdown(now[0]) if now else [])


def _breakdown(run: Usage) -> list[str]:
    lines = [
        "",
        f"Where DynamoDB's units go, per message: {run.name}",
        "",
        "| call (table, attributes an update names) | calls | WRU | RRU |",
        "|:---|---:|---:|---:|",
    ]
    rows = sorted(run.units_by_call.items(), key=lambda kv: (-kv[1][1], -kv[1][2], kv[0]))
    for label, (calls, wru, rru) in rows:
        per = 1 / run.messages
        lines.append(f"| {label} | {calls * per:.2f} | {wru * per:.2f} | {rru * per:.2f} |")
    return lines


def checks(runs: list[Usage]) -> list[tuple[bool, str]]:
    found = []
    for run in runs:
        if run.name.startswith("one-send campaign email") and "now" in run.name:
            found.append(
                (run.total() <= TARGET, f"{run.name}: ${run.total():.4f} per 1,000 (target <= ${TARGET})")
            )
    return found


if __name__ == "__main__":
    from bench.environment import use_mocked_aws

    use_mocked_aws()
    os.environ["POWERTOOLS_LOG_LEVEL"] = "INFO"  # the deployed level (infra/config.py): its logs are billed
    if "--json" in sys.argv:
        print(json.dumps([asdict(u) for u in _workload()]))
    else:
        runs = _workload()
        print("\n".join(section(runs)))
        for passed, text in checks(runs):
            print(("PASS: " if passed else "FAIL: ") + text)
