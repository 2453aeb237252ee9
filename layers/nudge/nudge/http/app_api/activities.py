"""Activities over the App API, as Customer.io answers them: ``GET /v1/customers/{id}/activities`` (one
person's, ``id_type`` naming the identifier) and ``GET /v1/activities`` (the workspace's), newest first,
filtered by ``type`` and ``name``, paged with ``start`` / ``limit`` / ``next``. What a page reads is in
``nudge.activities.listing``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.activities import listing
from nudge.errors import NotFound
from nudge.http.routing import Request, Response, Route
from nudge.model.newest_first import Page
from nudge.tracking import people
from nudge.tracking.identifiers import from_typed
from nudge.tracking.limits import page_limit

PAGE_DEFAULT = 10
PAGE_MAX = 100


def _answer(found: Page[listing.Item], identifiers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # Only the activities of people who exist: a deleted person's log is deleted with them, but an entry
    # recorded after the deletion (in no set order with it) waits for its expiry.
    shown = [item for item in found.entries if str(item.cio_id) in identifiers]
    return {
        "activities": [listing.to_api(item, identifiers.__getitem__) for item in shown],
        "next": found.next or "",
    }


def _customer_activities(req: Request) -> Response:
    ref = from_typed(req.query.get("id_type", "id"), unquote(req.params["customer_id"]), "customer_id")
    filters = listing.Filters.parse(req.query)
    limit = page_limit(req.query.get("limit"), default=PAGE_DEFAULT, maximum=PAGE_MAX)
    person = people.load(req.workspace_id, ref)
    if person is None:
        raise NotFound(f"customer {ref.value} not found")
    found = listing.list_page(
        listing.person_index(req.workspace_id, person.cio_id, filters),
        filters,
        limit=limit,
        start=req.query.get("start"),
    )
    return 200, _answer(found, listing.person_identifiers(person))


def _workspace_activities(req: Request) -> Response:
    filters = listing.Filters.parse(req.query)
    limit = page_limit(req.query.get("limit"), default=PAGE_DEFAULT, maximum=PAGE_MAX)
    found = listing.list_page(
        listing.workspace_index(req.workspace_id, filters), filters, limit=limit, start=req.query.get("start")
    )
    cio_ids = {str(item.cio_id) for item in found.entries}
    return 200, _answer(found, listing.identifiers_of(req.workspace_id, cio_ids))


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/v1/customers/{customer_id}/activities",
        _customer_activities,
        "A person's activities newest first: events, page views, attribute changes, segment entries "
        "and exits, message metrics (type / name / start / limit / next)",
    ),
    Route(
        "GET",
        "/v1/activities",
        _workspace_activities,
        "The workspace's activities newest first (type / name / start / limit / next)",
    ),
)
