"""The App API's segment routes (Customer.io's ``/v1/segments``): definitions, their members and counts,
a manual segment's people, and the preview of a draft (``segment_preview``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.errors import InvalidRequest
from nudge.http.app_api import bodies
from nudge.http.app_api.segment_preview import ROUTES as PREVIEW_ROUTES
from nudge.http.routing import Request, Response, Route
from nudge.model import people as people_items
from nudge.model import segments as segment_items
from nudge.segments import definitions
from nudge.shapes import Open
from nudge.tracking import people
from nudge.tracking import segments as manual
from nudge.tracking.limits import page_limit, parse_json_object

MEMBERSHIP_PAGE_DEFAULT = 1000
MEMBERSHIP_PAGE_MAX = 5000


def _segment_id(req: Request) -> str:
    return unquote(req.params["segment_id"])


def _segment(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{field} must be an object", field=field)
    return value


def _envelope(new: bool) -> Open:
    """Customer.io's envelope around what ``definitions.create`` (``new``) or ``update`` reads; a segment
    with no conditions is a manual one."""
    return bodies.body(
        {"segment": bodies.checked(_segment, definitions.segment_schema(new))}, required=("segment",)
    )


CREATE_BODY, UPDATE_BODY = _envelope(new=True), _envelope(new=False)


def _segment_body(req: Request, shape: Open) -> dict[str, Any]:
    segment: dict[str, Any] = shape.read(parse_json_object(req.body, limit=400_000), ())["segment"]
    return segment


def _list_segments(req: Request) -> Response:
    return 200, {"segments": [s.to_api() for s in definitions.list_segments(req.workspace_id)]}


def _create_segment(req: Request) -> Response:
    body = _segment_body(req, CREATE_BODY)
    created = definitions.create(
        req.workspace_id, body.get("name"), body.get("description", ""), body.get("conditions")
    )
    return 200, {"segment": created.to_api()}


def _get_segment(req: Request) -> Response:
    return 200, {"segment": definitions.get(req.workspace_id, _segment_id(req)).to_api()}


def _update_segment(req: Request) -> Response:
    body = _segment_body(req, UPDATE_BODY)
    updated = definitions.update(
        req.workspace_id,
        _segment_id(req),
        name=body.get("name"),
        description=body.get("description"),
        conditions=body.get("conditions"),
    )
    return 200, {"segment": updated.to_api()}


def _delete_segment(req: Request) -> Response:
    definitions.delete(req.workspace_id, _segment_id(req))
    return 204, None


def _customer_count(req: Request) -> Response:
    segment_id = _segment_id(req)
    definitions.load(req.workspace_id, segment_id)
    return 200, {"count": segment_items.member_count(req.workspace_id, segment_id)}


def _membership(req: Request) -> Response:
    segment_id = _segment_id(req)
    definitions.load(req.workspace_id, segment_id)
    limit = page_limit(req.query.get("limit"), default=MEMBERSHIP_PAGE_DEFAULT, maximum=MEMBERSHIP_PAGE_MAX)
    members, next_cursor = segment_items.members_page(
        req.workspace_id, segment_id, after=req.query.get("start") or None, limit=limit
    )
    profiles = {
        cio: people.to_view(person)
        for cio, person in people_items.profiles(req.workspace_id, [m.cio_id for m in members]).items()
    }
    identifiers = [
        {"id": profiles[m.cio_id]["id"], "email": profiles[m.cio_id]["email"], "cio_id": m.cio_id}
        for m in members
        if m.cio_id in profiles
    ]
    # "next" on every page, empty on the last, as Customer.io and the App API's other listings answer.
    ids = [i["id"] for i in identifiers if i["id"]]
    return 200, {"identifiers": identifiers, "ids": ids, "next": next_cursor or ""}


def _manual_membership(add: bool) -> Any:
    def run(req: Request) -> Response:
        body = parse_json_object(req.body, limit=1_000_000)
        change = manual.add_customers if add else manual.remove_customers
        change(req.workspace_id, _segment_id(req), body, req.query.get("id_type"))
        return 200, {}

    return run


SEGMENT = "/v1/segments/{segment_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/segments", _list_segments, "List segments"),
    Route(
        "POST",
        "/v1/segments",
        _create_segment,
        "Create a segment (manual, or dynamic with conditions)",
        body_schema=CREATE_BODY.schema({}),
    ),
    *PREVIEW_ROUTES,
    Route("GET", SEGMENT, _get_segment, "Get a segment"),
    Route(
        "PUT",
        SEGMENT,
        _update_segment,
        "Update a segment's name, description or conditions",
        body_schema=UPDATE_BODY.schema({}),
    ),
    Route("DELETE", SEGMENT, _delete_segment, "Delete a segment"),
    Route("GET", SEGMENT + "/customer_count", _customer_count, "Count a segment's members"),
    Route("GET", SEGMENT + "/membership", _membership, "List a segment's members (start / limit / next)"),
    Route(
        "POST",
        SEGMENT + "/add_customers",
        _manual_membership(True),
        "Add people to a manual segment",
        body_schema=manual.IDS_SCHEMA,
    ),
    Route(
        "POST",
        SEGMENT + "/remove_customers",
        _manual_membership(False),
        "Remove people from a manual segment",
        body_schema=manual.IDS_SCHEMA,
    ),
)
