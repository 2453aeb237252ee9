"""Segment preview: how many people an unsaved condition matches, and a few of them, for the console's
live count while a segment is edited (``POST /v1/segments/preview``).

Bounded cost: the condition is parsed by the segment parser (``segments.definitions``, the same checks
as saving a segment) and evaluated by the segment evaluator over at most ``EVALUATE_MAX`` profiles: the
newest of each shard of the ``people_by_creation`` index (one Query per shard, the index ``api.people``
walks), their profiles read in batches of 100. A condition on events also reads each evaluated person's
events in its window, as segment evaluation does.

Honest about approximations: when every person was evaluated, ``count`` is exact and ``approximate`` is
false. Otherwise ``count`` extrapolates the share matched among the newest people evaluated to the
workspace's metered live people count (billing's counters: opening + created - deleted this period, which
trail the data by the stream's lag), and ``approximate`` is true. The newest people are not a random
sample: a condition that depends on age (``created_at``, a signup cohort) is estimated with that bias.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nudge import clock, workspaces
from nudge.billing import invoicing, metering, periods
from nudge.errors import InvalidRequest
from nudge.http.app_api.people import _index
from nudge.http.routing import Request, Response, Route
from nudge.model.people import PROFILE_SHARDS
from nudge.roles import Role
from nudge.segments import definitions
from nudge.segments.condition_eval import evaluate
from nudge.segments.conditions import CONDITION_SCHEMA
from nudge.segments.context import StoredPerson
from nudge.tracking.limits import page_limit, parse_json_object

EVALUATE_MAX = 1000  # profiles evaluated per preview, whatever the workspace's size (a tenth per shard)
POPULATION_PERIODS = 24  # billing periods of counters read for the live count (billing normally runs daily)
SAMPLE_DEFAULT = 10
SAMPLE_MAX = 100
_BODY_LIMIT = 400_000


def _population(workspace_id: str) -> int:
    """The workspace's live people by billing's metered counters: the open period's opening count plus
    what was created and deleted in it and in every period since (billing runs daily, so normally one or
    two; at most ``POPULATION_PERIODS`` are read, 8 counter reads in one batch each)."""
    workspace = workspaces.load(workspace_id)
    period = invoicing.current_period(workspace)
    anchor = date.fromisoformat(workspace.billing_start)
    today = periods.day_of(clock.now())
    live, start = int(period.people_start), date.fromisoformat(period.starts)
    for _ in range(POPULATION_PERIODS):
        used = metering.read_usage(workspace_id, start.isoformat())
        live += used.people_created - used.people_deleted
        start = periods.next_start(anchor, start)
        if start > today:
            break
    return live


def estimate(matched: int, evaluated: int, population: int) -> int:
    """``matched`` of ``evaluated`` people, scaled to ``population`` (never below what was seen: the
    counters may trail the data)."""
    if evaluated == 0:
        return 0
    return max(matched, round(matched * max(population, evaluated) / evaluated))


def _preview(req: Request) -> Response:
    # ``limit``: how many matching people to sample, as every App API listing names its page size.
    sample = page_limit(req.query.get("limit"), default=SAMPLE_DEFAULT, maximum=SAMPLE_MAX)
    body = parse_json_object(req.body, limit=_BODY_LIMIT)
    if "conditions" not in body:
        raise InvalidRequest("conditions must be given", field="conditions", reason="required")
    condition = definitions.parse_conditions(req.workspace_id, body["conditions"])
    now = clock.now()
    # The newest people of each shard, one Query each (no newest-first merge: a preview needs a bounded
    # set, not an order across shards, so nothing is read twice). Shards are filled by a hash of the
    # person, so this is about the newest EVALUATE_MAX people of the workspace.
    index = _index(req.workspace_id, profiles=True)
    reads = [index.query(shard, None, EVALUATE_MAX // PROFILE_SHARDS) for shard in range(PROFILE_SHARDS)]
    complete = not any(more for _, more in reads)
    # A profile deleted since the index was read is None: not evaluated.
    evaluated = [(f.entry, f.profile) for entries, _ in reads for f in entries if f.profile is not None]
    matching = sorted(
        (
            entry
            for entry, profile in evaluated
            if evaluate(condition, StoredPerson(req.workspace_id, profile, now)).matched
        ),
        key=lambda entry: (entry.created_at, entry.cio_id),
        reverse=True,
    )
    matched = len(matching)
    answer: dict[str, Any] = {
        "count": matched if complete else estimate(matched, len(evaluated), _population(req.workspace_id)),
        "approximate": not complete,
        "evaluated": len(evaluated),
        "matched": matched,
        "sample": [
            {"id": entry.person_id, "email": entry.email, "cio_id": entry.cio_id}
            for entry in matching[:sample]
        ],
    }
    return 200, answer


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/v1/segments/preview",
        _preview,
        "Count and sample the people an unsaved condition matches (exact, or estimated from at most "
        f"{EVALUATE_MAX} people with approximate: true)",
        role=Role.VIEWER,  # reads only: a viewer's console counts a segment as an author's does
        body_limit=_BODY_LIMIT,
        body_schema={
            "type": "object",
            "required": ["conditions"],
            "properties": {"conditions": CONDITION_SCHEMA},
        },
    ),
)
