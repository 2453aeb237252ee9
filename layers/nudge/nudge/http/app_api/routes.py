"""The App API's route table (Bearer app key): segments and customer look-ups, compatible with Customer.io
where Customer.io has the call. Errors answer in the App API's shape (see ``functions/api``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge import clock, workspaces
from nudge.billing import catalog, invoicing, periods
from nudge.errors import InvalidRequest, NotFound
from nudge.http.app_api.activities import ROUTES as ACTIVITY_ROUTES
from nudge.http.app_api.campaigns import BROADCAST_ROUTES
from nudge.http.app_api.campaigns import ROUTES as CAMPAIGN_ROUTES
from nudge.http.app_api.delivery import ROUTES as DELIVERY_ROUTES
from nudge.http.app_api.exports import ROUTES as EXPORT_ROUTES
from nudge.http.app_api.keys import ROUTES as KEY_ROUTES
from nudge.http.app_api.members import ROUTES as MEMBER_ROUTES
from nudge.http.app_api.newsletters import NEWSLETTER_ROUTES
from nudge.http.app_api.overview import ROUTES as OVERVIEW_ROUTES
from nudge.http.app_api.people import ROUTES as PEOPLE_ROUTES
from nudge.http.app_api.person_changes import ROUTES as PERSON_CHANGE_ROUTES
from nudge.http.app_api.reporting_webhooks import ROUTES as REPORTING_WEBHOOK_ROUTES
from nudge.http.app_api.segment_preview import ROUTES as PREVIEW_ROUTES
from nudge.http.app_api.sessions import ROUTES as SESSION_ROUTES
from nudge.http.app_api.subscriptions import ROUTES as SUBSCRIPTION_ROUTES
from nudge.http.app_api.template_tests import ROUTES as TEMPLATE_TEST_ROUTES
from nudge.http.routing import Request, Response, Route
from nudge.model import people as people_items
from nudge.model import segments as segment_items
from nudge.segments import definitions
from nudge.segments.conditions import CONDITION_SCHEMA
from nudge.tracking import devices, people
from nudge.tracking import segments as manual
from nudge.tracking.identifiers import PersonRef, from_typed
from nudge.tracking.limits import page_limit, parse_json_object

MEMBERSHIP_PAGE_DEFAULT = 1000
MEMBERSHIP_PAGE_MAX = 5000


def _segment_id(req: Request) -> str:
    return unquote(req.params["segment_id"])


def _segment_body(req: Request) -> dict[str, Any]:
    body = parse_json_object(req.body, limit=400_000)
    segment = body.get("segment")
    if not isinstance(segment, dict):
        raise InvalidRequest("segment must be an object", field="segment")
    return segment


def _list_segments(req: Request) -> Response:
    return 200, {"segments": [s.to_api() for s in definitions.list_segments(req.workspace_id)]}


def _create_segment(req: Request) -> Response:
    body = _segment_body(req)
    created = definitions.create(
        req.workspace_id, body.get("name"), body.get("description", ""), body.get("conditions")
    )
    return 200, {"segment": created.to_api()}


def _get_segment(req: Request) -> Response:
    return 200, {"segment": definitions.get(req.workspace_id, _segment_id(req)).to_api()}


def _update_segment(req: Request) -> Response:
    body = _segment_body(req)
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
    body: dict[str, Any] = {"identifiers": identifiers, "ids": [i["id"] for i in identifiers if i["id"]]}
    if next_cursor:
        body["next"] = next_cursor
    return 200, body


def _person(req: Request) -> dict[str, Any]:
    ref = from_typed(req.query.get("id_type", "id"), unquote(req.params["customer_id"]), "customer_id")
    person = people.load(req.workspace_id, ref)
    if person is None:
        raise NotFound(f"customer {ref.value} not found")
    return people.to_view(person)


def _customer_segments(req: Request) -> Response:
    view = _person(req)
    ids = manual.segments_of(req.workspace_id, view["cio_id"])
    found = definitions.load_many(req.workspace_id, ids)
    return 200, {"segments": [definitions.view(s).to_api() for s in found]}


def _customer_attributes(req: Request) -> Response:
    view = _person(req)
    customer = {
        "id": view["id"],
        "identifiers": {"id": view["id"], "email": view["email"], "cio_id": view["cio_id"]},
        "attributes": view["attributes"],
        "created_at": view["created_at"],
        "updated_at": view["updated_at"],
        "unsubscribed": view["unsubscribed"],
        "subscription_preferences": view["subscription_preferences"],
        "devices": devices.list_devices(req.workspace_id, view["cio_id"]),
    }
    return 200, {"customer": customer}


def _customers_by_email(req: Request) -> Response:
    email = req.query.get("email")
    if not email:
        raise InvalidRequest("email must be given", field="email")
    person = people.load(req.workspace_id, PersonRef("email", email))
    results = [] if person is None else [people.to_view(person)]
    return 200, {"results": [{"id": p["id"], "email": p["email"], "cio_id": p["cio_id"]} for p in results]}


def _manual_membership(add: bool) -> Any:
    def run(req: Request) -> Response:
        body = parse_json_object(req.body, limit=1_000_000)
        change = manual.add_customers if add else manual.remove_customers
        change(req.workspace_id, _segment_id(req), body, req.query.get("id_type"))
        return 200, {}

    return run


def _billing_usage(req: Request) -> Response:
    workspace = workspaces.load(req.workspace_id)
    period = invoicing.current_period(workspace)
    estimate = invoicing.draft(workspace, period, issued_on=periods.day_of(clock.now()))
    plan = catalog.load().plan(workspace.plan)
    return 200, {
        "plan": {"id": plan.key, "name": plan.name, "billed": plan.billed},
        "period": {"start": period.starts, "end": period.ends},
        "usage": estimate.usage,
        "estimate": {
            key: estimate.to_json()[key] for key in ("lines", "subtotal_cents", "tax", "total_cents")
        },
    }


def _billing_invoices(req: Request) -> Response:
    found = invoicing.invoices(req.workspace_id)
    summary = ("id", "period", "issued_on", "plan", "total_cents", "currency")
    return 200, {"invoices": [{key: i[key] for key in summary} for i in found]}


def _billing_invoice(req: Request) -> Response:
    found = invoicing.invoice(req.workspace_id, unquote(req.params["invoice_id"]))
    if found is None:
        raise NotFound(f"invoice {req.params['invoice_id']} not found")
    return 200, {"invoice": found}


# POST and PUT /v1/segments: Customer.io's envelope; a segment with no conditions is a manual one.
SEGMENT_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["segment"],
    "properties": {
        "segment": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "conditions": CONDITION_SCHEMA,
            },
        }
    },
}
SEGMENT = "/v1/segments/{segment_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/segments", _list_segments, "List segments"),
    Route(
        "POST",
        "/v1/segments",
        _create_segment,
        "Create a segment (manual, or dynamic with conditions)",
        body_schema=SEGMENT_BODY_SCHEMA,
    ),
    *PREVIEW_ROUTES,
    Route("GET", SEGMENT, _get_segment, "Get a segment"),
    Route(
        "PUT",
        SEGMENT,
        _update_segment,
        "Update a segment's name, description or conditions",
        body_schema=SEGMENT_BODY_SCHEMA,
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
    Route("GET", "/v1/customers", _customers_by_email, "Find people by email"),
    *PEOPLE_ROUTES,
    *PERSON_CHANGE_ROUTES,
    Route("GET", "/v1/customers/{customer_id}/segments", _customer_segments, "A person's segments"),
    Route("GET", "/v1/customers/{customer_id}/attributes", _customer_attributes, "A person's attributes"),
    *ACTIVITY_ROUTES,
    Route("GET", "/v1/billing/usage", _billing_usage, "This period's usage and an estimate of its invoice"),
    Route("GET", "/v1/billing/invoices", _billing_invoices, "Billing history"),
    Route("GET", "/v1/billing/invoices/{invoice_id}", _billing_invoice, "One invoice, line by line"),
    *DELIVERY_ROUTES,
    *SUBSCRIPTION_ROUTES,
    *TEMPLATE_TEST_ROUTES,
    *CAMPAIGN_ROUTES,
    *BROADCAST_ROUTES,
    *NEWSLETTER_ROUTES,
    *KEY_ROUTES,
    *EXPORT_ROUTES,
    *SESSION_ROUTES,
    *MEMBER_ROUTES,
    *OVERVIEW_ROUTES,
    *REPORTING_WEBHOOK_ROUTES,
)
