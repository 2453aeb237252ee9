"""A person changed from the App API, as the console's profile page changes them: attributes, suppress,
unsuppress and delete. Each is the Track API's own domain call (``tracking.people``), addressed as every
App person route is (``/v1/customers/{customer_id}?id_type=id|email|cio_id``).

Customer.io changes people only through its Track API (site id and Track key); the console signs in
instead of holding a Track key, so these App routes give it the same operations under the App API's
credentials and roles.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.errors import InvalidRequest, NotFound
from nudge.http.app_api import bodies
from nudge.http.routing import Request, Response, Route
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef, from_typed
from nudge.tracking.identify_request import NOT_ATTRIBUTES, PREFERENCES, IdentifyRequest, not_an_attribute
from nudge.tracking.limits import MAX_V1_BODY_BYTES, parse_json_object


def _ref(req: Request) -> PersonRef:
    return from_typed(req.query.get("id_type", "id"), unquote(req.params["customer_id"]), "customer_id")


def _existing(req: Request) -> PersonRef:
    """The person's ``cio_id`` reference; 404 when nobody has the identifier."""
    ref = _ref(req)
    person = people.load(req.workspace_id, ref)
    if person is None:
        raise NotFound(f"customer {ref.value} not found")
    return PersonRef("cio_id", person.cio_id)


def _attributes(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise InvalidRequest(f"{field} must be a non-empty object", field=field)
    for name in value:
        # Who a person is changes through the Track API, where merges and identifier conflicts are handled.
        if not_an_attribute(name):
            raise InvalidRequest(
                f"{name} is an identifier or a reserved key: change it through the Track API",
                field=f"{field}.{name}",
            )
    return value


# PUT /v1/customers/{customer_id}/attributes: ``_attributes`` beside the schema that says the same.
ATTRIBUTES_BODY = bodies.body(
    {
        "attributes": bodies.checked(
            _attributes,
            {
                "type": "object",
                "minProperties": 1,
                "description": 'name -> value; null or "" removes one. Identifiers and reserved keys are '
                "refused: " + ", ".join(sorted(NOT_ATTRIBUTES)) + f", {PREFERENCES}...",
                "propertyNames": {
                    "pattern": r"\S",
                    "not": {"anyOf": [{"enum": sorted(NOT_ATTRIBUTES)}, {"pattern": f"^{PREFERENCES}"}]},
                },
            },
        )
    },
    required=("attributes",),
)


def _update_attributes(req: Request) -> Response:
    """Set attributes (``null`` or ``""`` removes one), as an identify with only those keys."""
    attributes = ATTRIBUTES_BODY.read(parse_json_object(req.body, limit=MAX_V1_BODY_BYTES), ())["attributes"]
    ref = _existing(req)
    people.identify(req.workspace_id, ref, IdentifyRequest.parse(attributes))
    person = people.load(req.workspace_id, ref)
    if person is None:  # deleted between the write and this read
        raise NotFound(f"customer {req.params['customer_id']} not found")
    return 200, {"attributes": people.to_view(person)["attributes"]}


def _suppress(req: Request) -> Response:
    ref = _ref(req)
    # By id or email the identifier is blocked even when nobody has it yet; a cio_id must name someone.
    people.suppress(req.workspace_id, _existing(req) if ref.kind == "cio_id" else ref)
    return 204, None


def _unsuppress(req: Request) -> Response:
    people.unsuppress(req.workspace_id, _ref(req))
    return 204, None


def _delete(req: Request) -> Response:
    people.delete(req.workspace_id, _existing(req))
    return 204, None


CUSTOMER = "/v1/customers/{customer_id}"
ROUTES: tuple[Route, ...] = (
    Route(
        "PUT",
        CUSTOMER + "/attributes",
        _update_attributes,
        "Set or remove a person's attributes",
        body_limit=MAX_V1_BODY_BYTES,
        body_schema=ATTRIBUTES_BODY.schema({}),
    ),
    Route("POST", CUSTOMER + "/suppress", _suppress, "Delete a person and block their identifiers"),
    Route("POST", CUSTOMER + "/unsuppress", _unsuppress, "Unblock a suppressed identifier"),
    Route("DELETE", CUSTOMER, _delete, "Delete a person and everything stored under them"),
)
