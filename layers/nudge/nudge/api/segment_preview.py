"""Segment preview: how many people an unsaved condition matches, and a few of them, for the console's
live count while a segment is edited (``POST /v1/segments/preview``).

Bounded cost: the condition is parsed by the segment parser (``segments.definitions``, the same checks as
saving a segment) and evaluated by the segment evaluator over at most ``EVALUATE_MAX`` profiles, read newest
first from the sharded ``people_by_creation`` index with their profiles in batches (the walk ``api.people``
uses for ``POST /v1/customers``). A condition on events reads each evaluated person's events, so it costs
at most one event query per profile evaluated.

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
from nudge.api.people import FILTER_CHUNK, _Found, _index
from nudge.errors import InvalidRequest
from nudge.model.newest_first import page
from nudge.model.people import PROFILE_SHARDS
from nudge.routing import Request, Response, Route
from nudge.segments import definitions
from nudge.segments.condition_eval import evaluate
from nudge.segments.context import StoredPerson
from nudge.tracking.limits import page_limit, parse_json_object

EVALUATE_MAX = 1000  # profiles evaluated per preview, whatever the workspace's size
POPULATION_PERIODS = 24  # billing periods of counters read for the live count (billing normally runs daily)
SAMPLE_DEFAULT = 10
SAMPLE_MAX = 100
_BODY_LIMIT = 400_000


def _population(workspace_id: str) -> int:
    """The workspace's live people by billing's metered counters: the open period's opening count plus
    what was created and deleted in it and in every period since (billing runs daily, so normally one or
    two; at most ``POPULATION_PERIODS`` are read, 8 counter reads in one batch each)."""
    from nudge.billing import invoicing, metering, periods

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
    # Each person once, by internal id: a page may read an entry again in its next round.
    outcomes: dict[str, bool] = {}

    def matches(found: _Found) -> bool:
        if found.profile is None:
            return False  # deleted since the index was read
        cio_id = found.entry.cio_id
        if cio_id not in outcomes:
            outcomes[cio_id] = evaluate(condition, StoredPerson(req.workspace_id, found.profile, now)).matched
        return outcomes[cio_id]

    walked = page(
        _index(req.workspace_id, profiles=True),
        None,
        EVALUATE_MAX,
        keep=matches,
        chunk=FILTER_CHUNK,
        # A round reads up to a chunk per shard before the budget is checked: stop a round early enough.
        budget=EVALUATE_MAX - FILTER_CHUNK * PROFILE_SHARDS,
    )
    evaluated, matched = len(outcomes), sum(outcomes.values())
    complete = walked.next is None
    answer: dict[str, Any] = {
        "count": matched if complete else estimate(matched, evaluated, _population(req.workspace_id)),
        "approximate": not complete,
        "evaluated": evaluated,
        "matched": matched,
        "sample": [
            {"id": f.entry.person_id, "email": f.entry.email, "cio_id": f.entry.cio_id}
            for f in walked.entries[:sample]
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
        body_limit=_BODY_LIMIT,
    ),
)
