"""The billing run workload: a workspace with N people, metered as the stream consumer leaves them, and one
metered billing run.

Each size gets a fresh mocked account (the billing run scans the workspaces table: every size sees the
same one workspace) with one workspace on the Essentials plan, billed from ``BILLING_START``. Its first
period is opened beforehand, as the App API's usage estimate or the previous run would have: the measured
run is a monthly one. N people then arrive in that period, one a second from its second day:

- the first ``METERED_ONE_BY_ONE`` through the domain code: created by ``nudge.tracking.people.identify``
  (the Track API's identify), and metered by ``nudge.billing.metering.created`` with the subject the
  stream consumer derives (``nudge.billing.consumer``) and the moment of arrival;
- the rest in bulk: each one's profile as ``identify`` stores it, and the identity and incarnation items
  ``metering.created`` writes for a new identifier, stored directly in moto (``_Writer.put``); then one
  UpdateItem per counter shard ADDs the shard's people to ``people_created`` and ``people_new`` and SETs
  ``period_id`` and ``workspace_id``, as each metering transaction does for one person.

Metering one by one costs a transaction per person (about 4 ms under moto): 100,000 would take minutes.
The bulk items are checked against those of the people metered one by one (the same attributes and
values, and the shard items exactly as many metering transactions would have left them), and the
counters ``metering.read_usage`` sums must equal N before the run is measured. Import this module only
after ``bench.environment.use_mocked_aws()``.
"""

from __future__ import annotations

import gc
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import boto3
from moto.dynamodb.models import dynamodb_backends
from pynamodb import signals

from bench.billing_run import BILLING_START, METERED_ONE_BY_ONE, RUN_DATE, Run
from bench.environment import REGION
from bench.meter import SwitchedMeter
from bench.segment_workload import person_item
from nudge import ids, workspaces
from nudge.billing import consumer, invoicing, metering, periods
from nudge.model import TABLE_MODELS
from nudge.model.billing import Identity, Incarnation
from nudge.settings import get_settings
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.identify_request import IdentifyRequest
from tests.support.aws import mocked_account

Item = dict[str, Any]  # an item in DynamoDB's JSON
PERIOD = BILLING_START  # a period's id is its start date
ARRIVALS = periods.midnight(date.fromisoformat(BILLING_START)) + 24 * 3600  # person n arrives n s later
COUNTERS = ("people_created", "people_new")  # what metering a new identifier's creation ADDs to


def _progress(text: str) -> None:
    print(f"  billing run: {text}", file=sys.stderr, flush=True)


class _Meter(SwitchedMeter):
    """The switched meter, also noting the tables each call touches."""

    def __init__(self, region: str) -> None:
        super().__init__(region)
        self.tables: Counter[str] = Counter()
        self._logical = {get_settings().table_name(name): name for name in TABLE_MODELS}

    def _before_call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **kw: Any) -> None:
        super()._before_call(model, params, context, **kw)
        if self.on and "bench.request" in context:
            names = _tables_of(context["bench.request"])
            self.tables.update({self._logical.get(name, name) for name in names})

    def _start_counting(self) -> None:
        self.tables.clear()


def _tables_of(request: dict[str, Any]) -> set[str]:
    if "TableName" in request:
        return {request["TableName"]}
    if "RequestItems" in request:
        return set(request["RequestItems"])
    return {next(iter(entry.values()))["TableName"] for entry in request.get("TransactItems", [])}


class _Writer:
    """Bulk items stored in moto, counter ADDs and consistent reads with a plain boto3 client (never
    metered: the meter is off whenever it is used)."""

    def __init__(self) -> None:
        self._client = boto3.client("dynamodb", region_name=REGION)
        account = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
        self._backend = dynamodb_backends[account][REGION]

    def put(self, table: str, items: list[Item]) -> None:
        """Store each item as moto's BatchWriteItem does (its backend's ``put_item``, per item), without
        the request's round trip through botocore and moto's parser: that took 60% of the loading time."""
        name = get_settings().table_name(table)
        for item in items:
            self._backend.put_item(name, item)

    def add_people(self, key: Item, count: int, period_id: str, workspace_id: str) -> None:
        """What one metering transaction's counter update does for ``count`` new people at once."""
        self._client.update_item(
            TableName=get_settings().table_name("billing"),
            Key=key,
            UpdateExpression="ADD #created :n, #new :n SET #period = :period, #ws = :ws",
            ExpressionAttributeNames={
                "#created": "people_created",
                "#new": "people_new",
                "#period": "period_id",
                "#ws": "workspace_id",
            },
            ExpressionAttributeValues={
                ":n": {"N": str(count)},
                ":period": {"S": period_id},
                ":ws": {"S": workspace_id},
            },
        )

    def get(self, table: str, key: Item) -> Item | None:
        name = get_settings().table_name(table)
        found: Item | None = self._client.get_item(TableName=name, Key=key, ConsistentRead=True).get("Item")
        return found

    def item_count(self, table: str) -> int:
        """moto counts a table's items when described (DynamoDB updates the count every six hours)."""
        return int(
            self._client.describe_table(TableName=get_settings().table_name(table))["Table"]["ItemCount"]
        )


def _person_id(n: int) -> str:
    return f"person-{n:06d}"  # as bench.segment_workload.person_item names person n


def _identify_body(n: int) -> dict[str, Any]:
    return {"email": f"{_person_id(n)}@example.com", "plan": "free", "country": "FR"}


def identity_item(workspace_id: str, subject: metering.Subject, at: int) -> Item:
    """What ``metering.created`` stores for an identifier it has never seen, created at ``at``."""
    return Identity(
        metering._identity_pk(workspace_id, subject),
        "identity",
        workspace_id=workspace_id,
        alive=True,
        incarnation=subject.incarnation,
        since=at,
        counted_in=PERIOD,
        version=1,
    ).serialize()


def incarnation_item(workspace_id: str, subject: metering.Subject, at: int) -> Item:
    """The marker ``metering.created`` stores: this incarnation's creation is metered."""
    return Incarnation(
        f"{workspace_id}#incarnation#{subject.incarnation}",
        "incarnation",
        workspace_id=workspace_id,
        created_at=at,
    ).serialize()


def _key(item: Item) -> Item:
    return {"pk": item["pk"], "sk": item["sk"]}


def _usage_key(workspace_id: str, shard: int) -> Item:
    return {"pk": {"S": metering.usage_pk(workspace_id, PERIOD, shard)}, "sk": {"S": "usage"}}


def _same(what: str, stored: Item | None, built: Item) -> None:
    if stored != built:
        raise RuntimeError(f"the bulk {what} differs from the domain code's:\n{stored}\n{built}")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Bulk writes without the cyclic collector, which would otherwise walk moto's growing heap."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Workload:
    def __init__(self, meter: _Meter, size: int) -> None:
        self.meter = meter
        self.size = size
        self.writer = _Writer()
        self.workspace_id = workspaces.create_workspace("Bench", "essentials", BILLING_START).workspace_id
        invoicing.current_period(workspaces.load(self.workspace_id))

    def one_by_one(self, count: int) -> dict[int, Item]:
        """People 0 to ``count - 1`` through identify and metering.created; the counter shards they leave."""
        ws = self.workspace_id
        for n in range(count):
            person = people.identify(
                ws, PersonRef("id", _person_id(n)), IdentifyRequest.parse(_identify_body(n))
            )
            if person is None:
                raise RuntimeError(f"identify did not create {_person_id(n)}")
            subject = consumer._person_subject(person)
            if subject.key != _person_id(n):
                raise RuntimeError(f"the consumer meters {_person_id(n)} as {subject.key!r}")
            if not metering.created(ws, subject, at=ARRIVALS + n):
                raise RuntimeError(f"metering.created did not meter {_person_id(n)}")
            if n == 0:
                built = person_item(ws, 0, person.cio_id, int(person.created_at))
                _same("person", self.writer.get("people", _key(built)), built)
            for what, item in (
                ("identity", identity_item(ws, subject, ARRIVALS + n)),
                ("incarnation", incarnation_item(ws, subject, ARRIVALS + n)),
            ):
                _same(what, self.writer.get("billing", _key(item)), item)
        shards = {}
        for shard in range(metering.SHARDS):
            found = self.writer.get("billing", _usage_key(ws, shard))
            if found is None:
                raise RuntimeError(f"no one metered one by one landed in shard {shard}: meter more")
            shards[shard] = found
        return shards

    def bulk(self, start: int, shards: dict[int, Item]) -> None:
        """People ``start`` to ``size - 1``: profiles, identity and incarnation items, counter ADDs."""
        ws = self.workspace_id
        count = self.size - start
        _progress(f"writing {count:,} people and {2 * count:,} metering items ...")
        began = time.perf_counter()
        added: Counter[int] = Counter()
        with _collector_paused():
            arrivals = [(n, ids.cio_id(), ARRIVALS + n) for n in range(start, self.size)]
            self.writer.put("people", [person_item(ws, n, cio, at) for n, cio, at in arrivals])
            metered = []
            for n, cio, at in arrivals:
                subject = metering.Subject("people", _person_id(n), cio)
                metered += [identity_item(ws, subject, at), incarnation_item(ws, subject, at)]
                added[metering._shard(subject.key)] += 1
            self.writer.put("billing", metered)
            del arrivals, metered
        gc.collect()
        for shard, people_count in sorted(added.items()):
            self.writer.add_people(_usage_key(ws, shard), people_count, PERIOD, ws)
        for shard, before in shards.items():
            expected = dict(before)
            for counter in COUNTERS:
                expected[counter] = {"N": str(int(before[counter]["N"]) + added[shard])}
            _same("counter shard", self.writer.get("billing", _usage_key(ws, shard)), expected)
        _progress(f"{count:,} people in {time.perf_counter() - began:.1f} s")

    def counted(self) -> dict[str, int]:
        usage = metering.read_usage(self.workspace_id, PERIOD)
        counted = {
            "people_created": usage.people_created,
            "people_new": usage.people_new,
            "people_deleted": usage.people_deleted,
        }
        expected = {"people_created": self.size, "people_new": self.size, "people_deleted": 0}
        if counted != expected:
            raise RuntimeError(f"the counters hold {counted}, not {expected}")
        return counted

    def measure(self) -> Run:
        one_by_one = min(METERED_ONE_BY_ONE, self.size)
        _progress(f"{one_by_one} people through identify and metering.created ...")
        began = time.perf_counter()
        shards = self.one_by_one(one_by_one)
        _progress(f"{one_by_one} people in {time.perf_counter() - began:.1f} s")
        if one_by_one < self.size:
            self.bulk(one_by_one, shards)
        counted = self.counted()
        profiles = self.writer.item_count("people")
        _progress(f"one billing run at {self.size:,} people ...")
        with self.meter.counting() as calls:
            result = invoicing.run(date.fromisoformat(RUN_DATE))
        result.raise_if_incomplete()
        issued = result.issued
        tables = dict(self.meter.tables)
        if len(issued) != 1:
            raise RuntimeError(f"the run issued {issued}, not one invoice")
        invoice = invoicing.invoice(self.workspace_id, issued[0])
        if invoice is None:
            raise RuntimeError(f"invoice {issued[0]} was not stored")
        billed = invoice["usage"]["people"]
        if billed["billable"] != self.size:
            raise RuntimeError(f"the invoice bills {billed['billable']} people, not {self.size}")
        return Run(
            people=self.size,
            profiles=profiles,
            one_by_one=one_by_one,
            counted=counted,
            calls=dict(Counter(c.operation for c in calls)),
            tables=tables,
            read_units=sum(c.read_units for c in calls),
            write_units=sum(c.write_units for c in calls),
            exact=all(c.exact for c in calls),
            issued=issued,
            included=int(billed["included"]),
            billable=int(billed["billable"]),
            over=int(billed["over"]),
            total_cents=int(invoice["total_cents"]),
        )


def run(people_scales: tuple[int, ...]) -> list[Run]:
    meter = _Meter(REGION)
    runs: list[Run] = []
    # Installed before any mocked account exists: PynamoDB builds its clients on first use.
    with meter.installed():
        if signals.signals_available:
            signals.pre_dynamodb_send.connect(meter.count_send)
        try:
            for size in sorted(people_scales):
                # A fresh account per size: the run scans the workspaces table, which must not grow.
                with mocked_account():
                    runs.append(Workload(meter, size).measure())
                gc.collect()
        finally:
            if signals.signals_available:
                signals.pre_dynamodb_send.disconnect(meter.count_send)
    return runs
