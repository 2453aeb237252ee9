"""DynamoDB cost of each Track API operation: the real handler, in process, against moto.

The account is the integration tests' own (``tests/support/aws.py``), the requests go through the same
API Gateway event builder (``bench.track_client``), and the workspace comes from ``nudge.workspaces``.
Each measured request follows a warm-up request of the same kind, and the meter's record is taken just
before and just after it, so the numbers are that one request's DynamoDB calls and nothing else.
Import this module only after ``bench.environment.use_mocked_aws()``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb import signals

from bench.environment import REGION
from bench.meter import Call, Meter
from bench.track_client import Answer, TrackClient
from nudge import workspaces
from tests.support.aws import mocked_account

# us-east-1 on-demand list prices, from /work/shared/reference/aws-notes.md.
DOLLARS_PER_MILLION_WRU = 0.625
DOLLARS_PER_MILLION_RRU = 0.125
BATCH_SIZE = 100
IDENTIFY_NEW = "identify: new person"
IDENTIFY_EXISTING = "identify: existing person, one attribute changed"
EVENT_EXISTING = "event: existing person"
WARM_UP_OPS = 5  # a warm-up only has to run the code paths once


@dataclass(frozen=True)
class Cost:
    name: str
    track_ops: int  # Track operations in the one request: 1, or BATCH_SIZE for a batch
    calls: Counter[str]
    write_units: float
    read_units: float
    exact: bool

    @property
    def dollars_per_million(self) -> float:
        """Dollars per million of these requests (a million batches, for a batch)."""
        return self.write_units * DOLLARS_PER_MILLION_WRU + self.read_units * DOLLARS_PER_MILLION_RRU

    @classmethod
    def of(cls, name: str, track_ops: int, calls: list[Call]) -> Cost:
        return cls(
            name=name,
            track_ops=track_ops,
            calls=Counter(c.operation for c in calls),
            write_units=sum(c.write_units for c in calls),
            read_units=sum(c.read_units for c in calls),
            exact=all(c.exact for c in calls),
        )


def _person_id(n: int) -> str:
    return f"person-{n:03d}"


def _identify_op(n: int, plan: str) -> dict[str, Any]:
    return {
        "type": "person",
        "action": "identify",
        "identifiers": {"id": _person_id(n)},
        "attributes": {"email": f"{_person_id(n)}@example.com", "plan": plan},
    }


def _event_op(n: int) -> dict[str, Any]:
    return {
        "type": "person",
        "action": "event",
        "identifiers": {"id": _person_id(n)},
        "name": "x",
        "attributes": {"amount": 10, "currency": "EUR"},
    }


class _Session:
    """One workspace, one client, one meter; every request checked for success before it is counted."""

    def __init__(self, meter: Meter, track: TrackClient) -> None:
        self.meter = meter
        self.track = track
        self.costs: list[Cost] = []

    def run(self, send: Callable[[], Answer]) -> list[Call]:
        self.meter.take()
        answer = send()
        calls = self.meter.take()
        if answer.status != 200:
            raise RuntimeError(f"benchmark request failed: {answer.status} {answer.raw!r}")
        return calls

    def measure(
        self, name: str, track_ops: int, warm_up: Callable[[], Answer], send: Callable[[], Answer]
    ) -> None:
        self.run(warm_up)
        self.costs.append(Cost.of(name, track_ops, self.run(send)))

    def batch(self, ops: list[dict[str, Any]]) -> Callable[[], Answer]:
        return lambda: self.track.post("/api/v2/batch", {"batch": ops})


def _scenarios(s: _Session) -> None:
    t = s.track

    def identify(person: str, plan: str) -> Callable[[], Answer]:
        return lambda: t.put(f"/api/v1/customers/{person}", {"email": f"{person}@example.com", "plan": plan})

    def event(person: str, event_id: str) -> Callable[[], Answer]:
        body = {"name": "purchase", "data": {"amount": 10}, "id": event_id}
        return lambda: t.post(f"/api/v1/customers/{person}/events", body)

    def anonymous(anonymous_id: str) -> Callable[[], Answer]:
        return lambda: t.post(
            "/api/v1/events", {"name": "page_view", "anonymous_id": anonymous_id, "data": {}}
        )

    s.measure(IDENTIFY_NEW, 1, identify("warm-1", "free"), identify("single-1", "free"))
    s.measure(IDENTIFY_EXISTING, 1, identify("warm-1", "pro"), identify("single-1", "pro"))
    s.measure(EVENT_EXISTING, 1, event("warm-1", "evt-warm"), event("single-1", "evt-1"))
    s.measure("anonymous event", 1, anonymous("anon-0"), anonymous("anon-1"))

    # Moto copies a whole table for every item of a transaction, so the benchmark creates as few people
    # as it can: the batch people are created once, by the measured batch of new identifies, and the
    # batch warm-ups are short.
    n = BATCH_SIZE
    s.measure(
        f"batch of {n}: identify new people",
        n,
        s.batch([_identify_op(n + i, "free") for i in range(WARM_UP_OPS)]),
        s.batch([_identify_op(i, "free") for i in range(n)]),
    )
    s.measure(
        f"batch of {n}: events for existing people",
        n,
        s.batch([_event_op(i) for i in range(WARM_UP_OPS)]),
        s.batch([_event_op(i) for i in range(n)]),
    )
    s.measure(
        f"batch of {n}: identify existing people, one attribute changed",
        n,
        s.batch([_identify_op(i, "pro") for i in range(WARM_UP_OPS)]),
        s.batch([_identify_op(i, "premium") for i in range(n)]),
    )
    s.measure(
        f"batch of {n}: mix of 70 events, 20 identifies of existing and 10 of new people",
        n,
        s.batch([_event_op(0), _identify_op(1, "pro"), _identify_op(2 * n, "free")]),
        s.batch(_mix()),
    )


def _mix() -> list[dict[str, Any]]:
    """A day's traffic shape: mostly events, some profile updates, a few sign-ups."""
    ops = [_event_op(i) for i in range(70)]
    ops += [_identify_op(i, "enterprise") for i in range(70, 90)]
    ops += [_identify_op(2 * BATCH_SIZE + 1 + i, "free") for i in range(10)]
    return ops


def measure() -> list[Cost]:
    sent: list[str] = []

    def count_pynamodb_call(_sender: Any, operation_name: str, **_: Any) -> None:
        sent.append(operation_name)

    # Installed before the mocked account exists: PynamoDB builds its clients on first use.
    meter = Meter(REGION)
    with meter.installed(), mocked_account():
        if signals.signals_available:
            signals.pre_dynamodb_send.connect(count_pynamodb_call)
        keys = workspaces.create_workspace("Bench", "essentials", "2026-01-01")
        session = _Session(meter, TrackClient(keys.site_id, keys.track_api_key))
        _scenarios(session)
        if signals.signals_available:
            signals.pre_dynamodb_send.disconnect(count_pynamodb_call)
    # A cross-check that no client escaped the meter: PynamoDB signals every request it sends.
    if sent and meter.metered < len(sent):
        raise RuntimeError(f"the meter saw {meter.metered} DynamoDB calls but PynamoDB sent {len(sent)}")
    return session.costs
