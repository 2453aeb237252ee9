"""People, listed and searched: ``POST /v1/customers`` (Customer.io's filter search) and ``GET /v1/people``
(Nudge's listing for the console, with a text search on id and email).

Both walk the ``people_by_creation`` index newest first, merging its shards (``model.newest_first``); the
listing reads only the index (id, email and cio_id are projected into it), the filter search also reads
each profile it tests, in batches, and evaluates the filter with the segment evaluator itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nudge import clock
from nudge.errors import InvalidRequest
from nudge.http.routing import Request, Response, Route
from nudge.model import Person
from nudge.model import people as people_items
from nudge.model.keys import PROFILE, person_pk
from nudge.model.newest_first import Page, ShardedIndex, page
from nudge.model.people import PROFILE_SHARDS
from nudge.roles import Role
from nudge.segments import conditions, definitions, search_filter
from nudge.segments.condition_eval import evaluate
from nudge.segments.context import StoredPerson
from nudge.tracking.limits import page_limit, parse_json_object

PAGE_DEFAULT = 50
SEARCH_MAX = 1000  # Customer.io's limit for POST /v1/customers
LISTING_MAX = 1000
CREATED_AT_BOUND = 10**15
SEARCH_TEXT_MAX = 150  # an id or an email is at most 150 bytes, so a longer text can match nothing
# A text search reads at most this many index entries a request (CHUNK per shard a round).
TEXT_CHUNK = 100
TEXT_BUDGET = 5000
# A filter search reads and tests at most this many profiles a request (FILTER_CHUNK per shard a round).
FILTER_CHUNK = 25
FILTER_BUDGET = 1000


@dataclass(frozen=True)
class _Found:
    entry: Person  # the index's projection: cio_id, id, email, created_at
    profile: Person | None  # the whole profile, when the page reads it


def _position(found: _Found) -> list[Any]:
    return [found.entry.created_at, found.entry.cio_id]


def _valid_position(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int | float)
        and not isinstance(value[0], bool)
        # A number DynamoDB takes (json.loads reads Infinity and NaN; N holds 38 digits at most).
        and math.isfinite(value[0])
        and abs(value[0]) < CREATED_AT_BOUND
        and isinstance(value[1], str)
        and 0 < len(value[1]) <= 64
        and value[1].isascii()
        and value[1].isalnum()
    )


def _index(workspace_id: str, *, profiles: bool) -> ShardedIndex[_Found]:
    def query(shard: int, at: list[Any] | None, size: int) -> tuple[Sequence[_Found], bool]:
        key = f"{workspace_id}#{shard}"
        start = None
        if at is not None:
            start = {
                "profile_shard": {"S": key},
                "created_at": {"N": str(at[0])},
                "pk": {"S": person_pk(workspace_id, at[1])},
                "sk": {"S": PROFILE},
            }
        result = Person.by_creation.query(key, scan_index_forward=False, limit=size, last_evaluated_key=start)
        entries = [p for p in result if isinstance(p, Person)]
        more = result.last_evaluated_key is not None
        if not profiles:
            return [_Found(e, None) for e in entries], more
        loaded = people_items.profiles(workspace_id, [e.cio_id for e in entries])
        return [_Found(e, loaded.get(e.cio_id)) for e in entries], more

    return ShardedIndex(
        PROFILE_SHARDS, query, lambda found: found.entry.created_at, _position, _valid_position
    )


def _answer(people: list[Person], found: Page[_Found]) -> dict[str, Any]:
    identifiers = [
        {"id": p.person_id, "email": p.email, "cio_id": p.cio_id, "created_at": int(p.created_at)}
        for p in people
    ]
    return {
        "identifiers": identifiers,
        "ids": [i["id"] for i in identifiers if i["id"]],
        "next": found.next or "",
    }


# --- GET /v1/people --------------------------------------------------------------------------------


def _listing(req: Request) -> Response:
    limit = page_limit(req.query.get("limit"), default=PAGE_DEFAULT, maximum=LISTING_MAX)
    text = req.query.get("search")
    if text is None or text == "":
        found = page(_index(req.workspace_id, profiles=False), req.query.get("start"), limit)
    else:
        if len(text) > SEARCH_TEXT_MAX:
            raise InvalidRequest(f"search must be at most {SEARCH_TEXT_MAX} characters", field="search")
        needle = text.casefold()

        def keep(found: _Found) -> bool:
            return any(
                needle in (value or "").casefold() for value in (found.entry.person_id, found.entry.email)
            )

        found = page(
            _index(req.workspace_id, profiles=False),
            req.query.get("start"),
            limit,
            keep=keep,
            chunk=TEXT_CHUNK,
            budget=TEXT_BUDGET,
        )
    return 200, _answer([f.entry for f in found.entries], found)


# --- POST /v1/customers ----------------------------------------------------------------------------


def _search(req: Request) -> Response:
    limit = page_limit(req.query.get("limit"), default=PAGE_DEFAULT, maximum=SEARCH_MAX)
    body = parse_json_object(req.body, limit=400_000)
    if "filter" not in body:
        raise InvalidRequest("filter must be given", field="filter", reason="required")
    condition = search_filter.parse(body["filter"])
    for segment_id in sorted(conditions.referenced_segments(condition)):
        definitions.load(req.workspace_id, segment_id)  # another workspace's segment is a 404 here too
    now = clock.now()

    def keep(found: _Found) -> bool:
        if found.profile is None:
            return False  # deleted since the index was read
        return evaluate(condition, StoredPerson(req.workspace_id, found.profile, now)).matched

    found = page(
        _index(req.workspace_id, profiles=True),
        req.query.get("start"),
        limit,
        keep=keep,
        chunk=FILTER_CHUNK,
        budget=FILTER_BUDGET,
    )
    return 200, _answer([f.profile for f in found.entries if f.profile is not None], found)


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/v1/customers",
        _search,
        "Search people with a filter of segments and attributes (start / limit / next)",
        role=Role.VIEWER,  # a search sent as a POST (its filter is a body): it changes nothing
        body_limit=400_000,
        body_schema={
            "type": "object",
            "required": ["filter"],
            "properties": {"filter": search_filter.SCHEMA},
        },
    ),
    Route(
        "GET",
        "/v1/people",
        _listing,
        "List people newest first, optionally searching id and email (start / limit / next)",
    ),
)
