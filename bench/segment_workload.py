"""The segment evaluation workload: a workspace grown to each scale point, real changes, the real handler.

One workspace holds the segments and the people. Ten segments depend on what the measured changes touch:
five on the ``plan`` attribute, five on the ``purchase`` event (event-count conditions); every other
segment depends on a key of its own (``attr:field_<i>`` or ``event:event_<i>``), which nothing changes.
The scale points are visited in the order (fewest segments, fewest people), (most segments, fewest
people), (most segments, most people), (fewest segments, most people): segments are added, then people,
then the added segments are deleted again.

At each point, for each change kind, fresh people (sampled from the whole population) are changed through
the domain code the Track API runs (``nudge.tracking.people.identify``, ``nudge.tracking.events.track``);
the resulting records are read from moto's DynamoDB stream, shaped as Lambda delivers them
(``nudge_tools.local.streams.lambda_record``), and handed one per invocation to the real evaluate handler.
Each record is delivered once: the first records metered (DynamoDB calls and request units, and the
calls of ``nudge.segments.evaluation.apply``), the rest timed with the meter switched off.

Bulk items (people beyond the first, segments beyond the first few) are written directly in batches, as
the items the domain code writes; ``check_fidelity`` compares one of each with an item written by the
domain code and stops the run if they differ. Import this module only after
``bench.environment.use_mocked_aws()``.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pynamodb import signals

from bench.environment import REGION
from bench.meter import SwitchedMeter
from bench.segment_eval import ATTRIBUTE, EVENT, Delivery, Point
from functions.evaluate import handler as evaluate
from nudge import clock, ids, workspaces
from nudge.model import TABLE_MODELS, EventItem, Person, Segment
from nudge.model.keys import PROFILE, dependents_pk, person_pk, profile_shard, segments_pk
from nudge.model.people import PROFILE_SHARDS
from nudge.segments import definitions, dependents, evaluation
from nudge.segments.conditions import parse, to_json
from nudge.segments.context import StoredPerson
from nudge.settings import get_settings
from nudge.tracking import events, people
from nudge.tracking.events import EventRequest
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.identify_request import IdentifyRequest
from nudge_tools.local.apigw import LocalContext
from nudge_tools.local.streams import lambda_record
from tests.support.aws import mocked_account

Item = dict[str, Any]  # an item in DynamoDB's JSON
METERED = 5  # records metered per change kind and point: each must cost the same
TIMED = 25  # records timed per change kind and point
WARM_UP = 2  # records delivered first, neither metered nor timed
BATCH = 25  # BatchWriteItem's limit
SEED = 20261121
DAY = 24 * 3600

# The segments the measured changes touch: every person starts on plan "free", the change moves them to
# "pro"; four of these then match and one does not.
PLAN_SEGMENTS: list[dict[str, Any]] = [
    {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
    {"attribute": {"field": "plan", "operator": "in", "value": ["pro", "enterprise"]}},
    {"attribute": {"field": "plan", "operator": "eq", "value": "enterprise"}},
    {
        "and": [
            {"attribute": {"field": "plan", "operator": "starts_with", "value": "p"}},
            {"attribute": {"field": "country", "operator": "eq", "value": "FR"}},
        ]
    },
    {"not": {"attribute": {"field": "plan", "operator": "eq", "value": "free"}}},
]
# A measured purchase of 120 comes on top of three of 50 (40, 20 and 5 days old): four of these match
# after it, and the one counted within 30 days schedules a time re-check.
PURCHASE_SEGMENTS: list[dict[str, Any]] = [
    {"event": {"name": "purchase"}},
    {"event": {"name": "purchase", "count": {"operator": "at_least", "value": 4}}},
    {"event": {"name": "purchase", "count": {"operator": "exactly", "value": 2}}},
    {
        "event": {
            "name": "purchase",
            "count": {"operator": "at_least", "value": 2},
            "timeframe": {"type": "within", "amount": 30, "unit": "days"},
        }
    },
    {
        "event": {
            "name": "purchase",
            "filters": {"attribute": {"field": "amount", "operator": "gte", "value": 100}},
        }
    },
]
PURCHASE_AGES_DAYS = (40, 20, 5)
OTHER_EVENTS = 5  # "viewed_product" events in each measured person's history: read, never counted


def _unrelated(i: int) -> dict[str, Any]:
    """A segment on a key of its own, half on attributes and half on events."""
    if i % 2:
        return {"event": {"name": f"event_{i}"}}
    return {"attribute": {"field": f"field_{i}", "operator": "eq", "value": "x"}}


def _progress(text: str) -> None:
    print(f"  segment evaluation: {text}", file=sys.stderr, flush=True)


@contextmanager
def _counting_apply() -> Iterator[list[str]]:
    """Record the id of every segment ``nudge.segments.evaluation.apply`` evaluates."""
    evaluated: list[str] = []
    original = evaluation.apply

    def counted(context: StoredPerson, segment: Segment) -> tuple[str, bool]:
        evaluated.append(str(segment.segment_id))
        return original(context, segment)

    evaluation.apply = counted
    try:
        yield evaluated
    finally:
        evaluation.apply = original


class _Writer:
    """Batched raw writes and consistent reads, with a plain boto3 client (never metered: the meter is
    off whenever it is used)."""

    def __init__(self) -> None:
        self._client = boto3.client("dynamodb", region_name=REGION)

    def put(self, table: str, items: list[Item]) -> None:
        self._write(table, [{"PutRequest": {"Item": item}} for item in items])

    def delete(self, table: str, keys: list[Item]) -> None:
        self._write(table, [{"DeleteRequest": {"Key": key}} for key in keys])

    def _write(self, table: str, requests: list[Item]) -> None:
        name = get_settings().table_name(table)
        for start in range(0, len(requests), BATCH):
            pending: dict[str, Any] = {name: requests[start : start + BATCH]}
            while pending:
                pending = self._client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def get(self, table: str, key: Item) -> Item:
        name = get_settings().table_name(table)
        found: Item = self._client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]
        return found


class _Stream:
    """A table's stream, read from its end: the records the changes made in ``capture`` write."""

    def __init__(self, table: str) -> None:
        self.arn = str(TABLE_MODELS[table].describe_table()["LatestStreamArn"])
        # botocore 1.44 routes stream calls to account-based endpoints that moto 5.2 does not serve.
        self._client = boto3.client(
            "dynamodbstreams", region_name=REGION, config=Config(account_id_endpoint_mode="disabled")
        )

    def capture(self, make_changes: Callable[[], None]) -> list[Item]:
        shards = self._client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        iterators = [
            self._client.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in shards
        ]
        make_changes()
        records: list[Item] = []
        for iterator in iterators:
            while iterator:
                answer: Any = self._client.get_records(ShardIterator=iterator, Limit=1000)
                if not answer["Records"]:
                    break
                records.extend(answer["Records"])
                iterator = answer.get("NextShardIterator")
        return [lambda_record(record, self.arn, REGION) for record in records]


def _normalized(value: Any) -> Any:
    """An item in DynamoDB's JSON with its sets sorted, so two equal items compare equal."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS") else _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _person_id(n: int) -> str:
    return f"person-{n:06d}"


def person_item(workspace_id: str, n: int, cio: str, now: int) -> Item:
    """What ``identify`` stores for a new person with an id, an email, a plan and a country."""
    return Person(
        person_pk(workspace_id, cio),
        PROFILE,
        workspace_id=workspace_id,
        profile_shard=profile_shard(workspace_id, cio, PROFILE_SHARDS),
        cio_id=cio,
        person_id=_person_id(n),
        email=f"{_person_id(n)}@example.com",
        attributes={"plan": "free", "country": "FR"},
        attribute_timestamps={"plan": now, "country": now},
        created_at=now,
        updated_at=now,
        version=1,
    ).serialize()


def _identify_body(n: int) -> dict[str, Any]:
    return {"email": f"{_person_id(n)}@example.com", "plan": "free", "country": "FR"}


def segment_items(
    workspace_id: str, segment_id: str, name: str, conditions: dict[str, Any], now: int
) -> tuple[Item, list[Item]]:
    """What ``definitions.create`` stores for a dynamic segment: the definition, and one dependency-index
    item per key (written there by an UpdateItem that adds the id to the key's set, so no ``kind``),
    assuming no other segment shares the key."""
    condition = parse(conditions)
    keys = definitions.dependency_keys(condition)
    segment = Segment(
        segments_pk(workspace_id),
        segment_id,
        workspace_id=workspace_id,
        segment_id=segment_id,
        name=name,
        description="",
        type=definitions.DYNAMIC,
        created_at=now,
        updated_at=now,
        conditions_json=json.dumps(to_json(condition), sort_keys=True),
        dependencies=sorted(keys),
        state=definitions.BUILDING,
        progress=0,
        backfill_shard=0,
    )
    index = [
        {
            "pk": {"S": dependents_pk(workspace_id, key)},
            "sk": {"S": dependents.SK},
            "workspace_id": {"S": workspace_id},
            "segment_ids": {"SS": [segment_id]},
        }
        for key in sorted(keys)
    ]
    return segment.serialize(), index


@dataclass
class _Change:
    kind: str
    stream: _Stream
    prepare: Callable[[str], None]  # history the person needs before the measured change
    make: Callable[[str], None]  # the measured change
    event_name: str
    dependent: int
    clean_up: Callable[[list[str]], None]  # after the point is measured


class Workload:
    def __init__(self, meter: SwitchedMeter) -> None:
        self.meter = meter
        self.writer = _Writer()
        self.rng = random.Random(SEED)
        self.workspace_id = workspaces.create_workspace("Bench", "essentials", "2026-01-01").workspace_id
        self.people = 0
        self.unused: list[str] = []  # cio ids of people no change has touched yet
        self.segments = 0
        self.bulk_segments: list[tuple[str, list[Item]]] = []  # (segment id, index keys), newest last
        self.changes = [
            _Change(
                kind=ATTRIBUTE,
                stream=_Stream("people"),
                prepare=lambda _: None,
                make=self._upgrade,
                event_name="MODIFY",
                dependent=len(PLAN_SEGMENTS),
                clean_up=lambda _: None,
            ),
            _Change(
                kind=EVENT,
                stream=_Stream("events"),
                prepare=self._history,
                make=self._purchase,
                event_name="INSERT",
                dependent=len(PURCHASE_SEGMENTS),
                clean_up=self._forget_events,
            ),
        ]

    # --- building the workspace --------------------------------------------------------------------

    def check_fidelity(self) -> None:
        """Create the first person and the first segments through the domain code, and check that the
        bulk writers would have written exactly the same items."""
        ws = self.workspace_id
        person = people.identify(ws, PersonRef("id", _person_id(0)), IdentifyRequest.parse(_identify_body(0)))
        assert person is not None
        self._admit([person.cio_id])
        key = {"pk": {"S": person.pk}, "sk": {"S": PROFILE}}
        _same(
            "person",
            self.writer.get("people", key),
            person_item(ws, 0, person.cio_id, int(person.created_at)),
        )
        for conditions in PLAN_SEGMENTS + PURCHASE_SEGMENTS:
            definitions.create(ws, "Depends on the change", conditions=conditions)
        for i in range(2):
            made = definitions.create(ws, f"Unrelated {i}", conditions=_unrelated(i))
            stored = self.writer.get("segments", {"pk": {"S": segments_pk(ws)}, "sk": {"S": made.id}})
            segment, index = segment_items(ws, made.id, made.name, _unrelated(i), made.created_at)
            _same("segment", stored, segment)
            for entry in index:
                _same("dependency index entry", self.writer.get("segments", _key(entry)), entry)
        self.segments = len(PLAN_SEGMENTS) + len(PURCHASE_SEGMENTS) + 2

    def grow_people(self, total: int) -> None:
        count = total - self.people
        _progress(f"writing {count:,} people ...")
        began = time.perf_counter()
        now = clock.now()
        cios = [ids.cio_id() for _ in range(count)]
        with _collector_paused():
            self.writer.put(
                "people",
                [person_item(self.workspace_id, self.people + i, c, now) for i, c in enumerate(cios)],
            )
        self._admit(cios)
        _progress(f"{count:,} people in {time.perf_counter() - began:.1f} s")

    def grow_segments(self, total: int) -> None:
        count = total - self.segments
        _progress(f"writing {count:,} segments ...")
        began = time.perf_counter()
        now = clock.now()
        definitions_, index = [], []
        for i in range(self.segments, total):
            segment_id = str(10_000_000 + i)  # create() draws 7-digit ids: these never collide
            segment, entries = segment_items(
                self.workspace_id, segment_id, f"Unrelated {i}", _unrelated(i), now
            )
            definitions_.append(segment)
            index.extend(entries)
            self.bulk_segments.append((segment_id, [_key(e) for e in entries]))
        with _collector_paused():
            self.writer.put("segments", definitions_)
            self.writer.put("segments", index)
        self.segments = total
        _progress(f"{count:,} segments in {time.perf_counter() - began:.1f} s")

    def shrink_segments(self, total: int) -> None:
        """Delete the newest bulk segments (nobody is a member: nothing ever evaluated them)."""
        count = self.segments - total
        _progress(f"deleting {count:,} segments ...")
        removed, self.bulk_segments = self.bulk_segments[-count:], self.bulk_segments[:-count]
        ws = self.workspace_id
        keys = [{"pk": {"S": segments_pk(ws)}, "sk": {"S": segment_id}} for segment_id, _ in removed]
        with _collector_paused():
            self.writer.delete("segments", keys + [k for _, entries in removed for k in entries])
        self.segments = total

    def _admit(self, cios: list[str]) -> None:
        self.people += len(cios)
        self.unused.extend(cios)

    def _sample(self, count: int) -> list[str]:
        """People no change has touched, drawn from the whole population."""
        self.rng.shuffle(self.unused)
        if len(self.unused) < count:
            raise RuntimeError(f"{count} unchanged people needed, {len(self.unused)} left: add people")
        taken, self.unused = self.unused[:count], self.unused[count:]
        return taken

    # --- the changes -----------------------------------------------------------------------------

    def _upgrade(self, cio: str) -> None:
        people.identify(
            self.workspace_id, PersonRef("cio_id", cio), IdentifyRequest(attributes={"plan": "pro"})
        )

    def _history(self, cio: str) -> None:
        now = clock.now()
        for age in PURCHASE_AGES_DAYS:
            self._track(cio, EventRequest("purchase", {"amount": 50}, "event", now - age * DAY, None))
        for i in range(OTHER_EVENTS):
            request = EventRequest("viewed_product", {"product": f"p{i}"}, "event", now - i * DAY - 60, None)
            self._track(cio, request)

    def _purchase(self, cio: str) -> None:
        self._track(cio, EventRequest("purchase", {"amount": 120}, "event", None, None))

    def _forget_events(self, cios: list[str]) -> None:
        """Delete the events written at this point, so every point runs with the same events table (moto
        answers an index query by scanning the whole table, where DynamoDB reads one partition)."""
        keys = [
            {"pk": {"S": event.pk}, "sk": {"S": event.sk}}
            for cio in cios
            for event in EventItem.query(person_pk(self.workspace_id, cio), attributes_to_get=["pk", "sk"])
        ]
        self.writer.delete("events", keys)

    def _track(self, cio: str, request: EventRequest) -> None:
        if not events.track(self.workspace_id, PersonRef("cio_id", cio), request):
            raise RuntimeError(f"event {request.name} for {cio} was not stored")

    # --- measuring -------------------------------------------------------------------------------

    def measure(self) -> list[Point]:
        return [self._measure(change) for change in self.changes]

    def _measure(self, change: _Change) -> Point:
        sampled = self._sample(WARM_UP + METERED + TIMED)
        for cio in sampled:
            change.prepare(cio)

        def make_changes() -> None:
            for cio in sampled:
                change.make(cio)

        records = change.stream.capture(make_changes)
        if len(records) != len(sampled) or any(r["eventName"] != change.event_name for r in records):
            found = Counter(r["eventName"] for r in records)
            raise RuntimeError(f"{len(sampled)} {change.kind} changes made stream records {dict(found)}")
        for record in records[:WARM_UP]:
            _deliver(record)
        metered = [self._metered(record) for record in records[WARM_UP : WARM_UP + METERED]]
        seconds = [_deliver(record) for record in records[WARM_UP + METERED :]]
        change.clean_up(sampled)
        return Point(change.kind, self.segments, self.people, change.dependent, metered, seconds)

    def _metered(self, record: Item) -> Delivery:
        with _counting_apply() as evaluated, self.meter.counting() as calls:
            _deliver(record)
        return Delivery(
            evaluated=len(evaluated),
            calls=dict(Counter(c.operation for c in calls)),
            read_units=sum(c.read_units for c in calls),
            write_units=sum(c.write_units for c in calls),
            exact=all(c.exact for c in calls),
        )


def _deliver(record: Item) -> float:
    """One record, one invocation of the evaluate handler; the wall time it took."""
    began = time.perf_counter()
    # The parts of a Lambda context Powertools reads, as the local runtime passes them.
    answer = evaluate.handler({"Records": [record]}, cast(LambdaContext, LocalContext()))
    elapsed = time.perf_counter() - began
    if answer.get("batchItemFailures"):
        raise RuntimeError(f"the evaluate handler failed a {record['eventName']} record: {answer}")
    return elapsed


def _key(item: Item) -> Item:
    return {"pk": item["pk"], "sk": item["sk"]}


def _same(what: str, stored: Item, built: Item) -> None:
    if _normalized(stored) != _normalized(built):
        raise RuntimeError(f"the bulk {what} differs from the domain code's:\n{stored}\n{built}")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Bulk writes without the cyclic collector; what they leave behind is then frozen out of its sight.

    The items live in moto, in this process; in DynamoDB they would not be in the function's memory at
    all. Left in view, they make every full collection during a measured delivery walk the whole
    in-memory database, which would charge the function for the size of moto's heap.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()
        gc.freeze()


def _order(segment_scales: tuple[int, ...], people_scales: tuple[int, ...]) -> list[tuple[int, int]]:
    """Scale points in a path that only adds people: segments go up, then down again at more people."""
    path: list[tuple[int, int]] = []
    for i, people_count in enumerate(sorted(people_scales)):
        segment_path = sorted(segment_scales, reverse=bool(i % 2))
        path.extend((segments, people_count) for segments in segment_path)
    return path


def run(segment_scales: tuple[int, ...], people_scales: tuple[int, ...]) -> list[Point]:
    meter = SwitchedMeter(REGION)
    points: list[Point] = []
    # Installed before the mocked account exists: PynamoDB builds its clients on first use.
    with meter.installed(), mocked_account():
        if signals.signals_available:
            signals.pre_dynamodb_send.connect(meter.count_send)
        try:
            work = Workload(meter)
            work.check_fidelity()
            for segments, people_count in _order(segment_scales, people_scales):
                if segments > work.segments:
                    work.grow_segments(segments)
                elif segments < work.segments:
                    work.shrink_segments(segments)
                if people_count > work.people:
                    work.grow_people(people_count)
                _progress(f"measuring at {segments:,} segments, {people_count:,} people ...")
                points.extend(work.measure())
        finally:
            if signals.signals_available:
                signals.pre_dynamodb_send.disconnect(meter.count_send)
    return points
