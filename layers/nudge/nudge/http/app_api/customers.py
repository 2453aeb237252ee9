"""The App API's customer look-ups (Customer.io's): by email, a person's segments and attributes. The
rest of a person's calls are ``people``, ``person_changes`` and ``activities``."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.errors import InvalidRequest, NotFound
from nudge.http.routing import Request, Response, Route
from nudge.segments import definitions
from nudge.tracking import devices, people
from nudge.tracking import segments as manual
from nudge.tracking.identifiers import PersonRef, from_typed


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


# Before the people routes, as the table has always listed them.
BY_EMAIL_ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/customers", _customers_by_email, "Find people by email"),
)
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/customers/{customer_id}/segments", _customer_segments, "A person's segments"),
    Route("GET", "/v1/customers/{customer_id}/attributes", _customer_attributes, "A person's attributes"),
)
