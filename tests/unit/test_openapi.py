"""The OpenAPI documents: generated from the route tables, committed in step, and valid OpenAPI 3 by a
real validator (openapi-spec-validator)."""

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from nudge.http import track_openapi as openapi
from nudge.http.app_api import openapi as app_openapi
from nudge.http.app_api.routes import ROUTES as APP_ROUTES
from nudge.http.track_api import ROUTES
from nudge.tracking.limits import parse_json_object
from nudge_tools.local.routing import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "openapi"
DOCUMENTS = {"track.json": (openapi.build, ROUTES), "app.json": (app_openapi.build, APP_ROUTES)}


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op for path, ops in doc["paths"].items() for method, op in ops.items()
    }


@pytest.mark.parametrize("name", DOCUMENTS)
def test_committed_document_matches_the_route_table(name):
    build, _ = DOCUMENTS[name]
    assert (COMMITTED / name).read_text() == openapi.render(build()), f"run `make openapi` and commit {name}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_route_is_documented_once(name):
    build, routes = DOCUMENTS[name]
    documented = _operations(build())
    assert documented.keys() == {f"{r.method} {r.path}" for r in routes}
    assert len(routes) == len(documented)


@pytest.mark.parametrize(
    "document",
    [openapi.build, app_openapi.build, openapi_document],
    ids=["track", "app", "served at /openapi.json"],
)
def test_the_documents_are_valid_openapi(document):
    validate(document())  # raises OpenAPIValidationError naming what is wrong


def test_every_app_operation_documents_the_app_error_shape_and_bearer_key():
    document = app_openapi.build()
    assert document["components"]["schemas"]["AppErrors"] == app_openapi.ERRORS  # declared once
    own_credentials = {f"{r.method} {r.path}" for r in APP_ROUTES if r.own_credentials}
    assert own_credentials == {
        "POST /v1/session",
        "POST /v1/session/password",
        "GET /v1/session",
        "DELETE /v1/session",
    }
    for key, op in _operations(document).items():
        # The console's session routes read their own credentials (a password, the session cookie).
        assert op["security"] == ([] if key in own_credentials else [{"bearer": []}]), key
        for status in ("400", "401", "404", "409", "503"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/AppErrors"}, (key, status)
    item = app_openapi.ERRORS["properties"]["errors"]["items"]
    assert set(item["properties"]) == {"detail", "status", "code", "source"}
    assert set(item["properties"]["source"]["properties"]) == {"pointer"}


def _names(code: CodeType) -> set[str]:
    """The global and attribute names ``code`` uses, its nested functions' and comprehensions' too."""
    nested = (const for const in code.co_consts if isinstance(const, CodeType))
    return set(code.co_names).union(*(_names(inner) for inner in nested))


def _parses_a_body(function: Callable[..., Any], seen: set[Any]) -> bool:
    """Whether ``function`` reaches ``parse_json_object``, the one reader of a request's body (see
    ``routing.Request.body``), through the functions of its own module: those it names, and those its
    closure holds (an operation wrapped by another, or made by a factory)."""
    if function is parse_json_object:
        return True
    if function in seen or not inspect.isfunction(function):
        return False
    seen.add(function)
    named = [function.__globals__.get(name) for name in _names(function.__code__)]
    held = [cell.cell_contents for cell in function.__closure__ or ()]
    return any(
        found is parse_json_object
        or (
            inspect.isfunction(found)
            and found.__module__ == function.__module__
            and _parses_a_body(found, seen)
        )
        for found in named + held
    )


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_route_declares_a_body_schema_exactly_when_it_parses_a_body(name):
    """How a route says it takes no body: it declares no ``body_schema``, and its operation never parses
    one. A route that parses a body without a schema (or declares one it never reads) fails here."""
    _, routes = DOCUMENTS[name]
    parsing = {f"{r.method} {r.path}" for r in routes if _parses_a_body(r.operation, set())}
    declared = {f"{r.method} {r.path}" for r in routes if r.body_schema is not None}
    assert parsing, "the walk finds no route that parses a body: it no longer sees parse_json_object"
    assert parsing - declared == set(), "these parse a body but declare no body_schema"
    assert declared - parsing == set(), "these declare a body_schema but never parse a body"


def test_the_walk_sees_a_body_parsed_through_a_helper_or_a_wrapper():
    def helper(req):
        return parse_json_object(req.body, limit=10)

    def operation(req):
        return 200, helper(req)

    def wrapped(req):
        return operation(req)

    def no_body(req):
        return 204, None

    assert _parses_a_body(wrapped, set())
    assert not _parses_a_body(no_body, set())


def test_every_app_body_is_documented_and_no_other():
    operations = _operations(app_openapi.build())
    for route in APP_ROUTES:
        body = operations[f"{route.method} {route.path}"].get("requestBody")
        if route.body_schema is None:
            assert body is None, (route.method, route.path)
        else:
            assert body["content"]["application/json"]["schema"]["type"] == "object", (
                route.method,
                route.path,
            )


def test_the_app_document_names_the_older_base():
    assert "/v1/api/..." in app_openapi.build()["info"]["description"]


def test_the_served_document_holds_both_apis_with_their_own_credentials():
    served = openapi_document()
    assert (
        _operations(served).keys()
        == _operations(openapi.build()).keys() | _operations(app_openapi.build()).keys()
    )
    assert set(served["components"]["securitySchemes"]) == {
        "basic",
        "bearer",
        "pipelinesBasic",
        "pipelinesBearer",
    }
    assert served["paths"]["/api/v1/customers/{identifier}"]["put"]["security"] == [{"basic": []}]
    assert served["paths"]["/v1/segments"]["get"]["security"] == [{"bearer": []}]
    # The Pipelines API, on the Track API's host: its own key (either way it is sent) and error shape.
    batch = served["paths"]["/v1/batch"]["post"]
    assert batch["security"] == [{"pipelinesBasic": []}, {"pipelinesBearer": []}]
    assert batch["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PipelinesError"
    }


def test_a_merge_refuses_a_path_both_documents_declare():
    track = openapi.build()
    with pytest.raises(ValueError, match="/api/v1/events"):
        openapi.merged("twice", [track, {**track, "components": {"securitySchemes": {}, "schemas": {}}}])


def test_a_merge_refuses_a_schema_name_both_documents_declare():
    track = openapi.build()
    other = {
        "paths": {},
        "components": {"securitySchemes": {}, "schemas": {"TrackError": {"type": "object"}}},
    }
    with pytest.raises(ValueError, match="TrackError"):
        openapi.merged("twice", [track, other])


def _body_validator(document: dict[str, Any], key: str) -> Draft202012Validator:
    """The documented request body of ``key`` as a validator, its references resolved in the document."""
    schema = _operations(document)[key]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def test_app_bodies_are_the_project_s_own_schemas_declared_once():
    document = app_openapi.build()
    assert document["openapi"] == "3.1.0"  # JSON Schema 2020-12, as the schemas are written
    schemas = document["components"]["schemas"]
    assert {"SegmentCondition", "CampaignDefinition"} <= schemas.keys()
    # The condition schema is declared once: every body and the campaign definition refer to it.
    text = json.dumps(document)
    assert text.count('"title": "Nudge segment condition"') == 1
    assert schemas["CampaignDefinition"]["$defs"]["condition"] == {
        "$ref": "#/components/schemas/SegmentCondition"
    }
    for key in ("POST /v1/segments", "PUT /v1/segments/{segment_id}", "POST /v1/segments/preview"):
        assert "#/components/schemas/SegmentCondition" in json.dumps(
            _operations(document)[key]["requestBody"]
        )


@pytest.mark.parametrize(
    ("key", "body", "valid"),
    [
        ("POST /v1/segments", {"segment": {"name": "S", "conditions": {"segment": {"id": 3}}}}, True),
        ("POST /v1/segments", {"segment": {"name": "S", "conditions": {"segment": {"id": True}}}}, False),
        ("POST /v1/segments", {"name": "S"}, False),
        (
            "POST /v1/segments/preview",
            {"conditions": {"attribute": {"field": "plan", "operator": "exists"}}},
            True,
        ),
        ("POST /v1/customers", {"filter": {"and": [{"segment": {"id": "7"}}]}}, True),
        (
            "POST /v1/campaigns",
            {
                "campaign": {
                    "name": "Welcome",
                    "trigger": {"type": "event", "name": "signed_up"},
                    "workflow": {
                        "start": "b1",
                        "blocks": {"b1": {"type": "send", "channel": "email", "template_id": 7}},
                    },
                }
            },
            True,
        ),
        ("POST /v1/campaigns", {"campaign": {"name": "No trigger"}}, False),
        ("PUT /v1/campaigns/{campaign_id}", {"campaign": {"name": "Renamed"}}, True),
        (
            "POST /v1/campaigns/{campaign_id}/triggers",
            {"recipients": {"segment": {"id": 3}}, "data": {}},
            True,
        ),
        ("POST /v1/campaigns/{campaign_id}/triggers", {"ids": []}, False),
        # Transactional sends, as customerio-node's SendEmailRequest and its siblings send them.
        (
            "POST /v1/send/email",
            {
                "identifiers": {"id": "ann"},
                "transactional_message_id": 3,
                "message_data": {"order": 42},
                "to": "ann@example.com",
                "attachments": {"receipt.txt": "aGVsbG8="},
                "disable_message_retention": False,
                "send_to_unsubscribed": True,
                "tracked": True,
                "queue_draft": False,
            },
            True,
        ),
        (
            "POST /v1/send/email",
            {"identifiers": {"email": "a@b.c"}, "subject": "Hi", "body": "<p>Hi</p>"},
            True,
        ),
        ("POST /v1/send/email", {"identifiers": {"id": "ann"}, "subject": "No body"}, False),
        (
            "POST /v1/send/email",
            {"identifiers": {"id": "ann", "email": "a@b.c"}, "transactional_message_id": 3},
            False,
        ),
        ("POST /v1/send/sms", {"identifiers": {"id": 7}, "transactional_message_id": "welcome"}, True),
        ("POST /v1/send/sms", {"identifiers": {"phone": "+15550100"}, "body": "Hi"}, False),
        ("POST /v1/send/push", {"identifiers": {"cio_id": "a1b2"}, "title": "Hi", "message": "New"}, True),
        ("POST /v1/send/push", {"identifiers": {"cio_id": "a1b2"}, "send_at": -1, "message": "New"}, False),
        ("POST /v1/send/in_app", {"identifiers": {"id": "ann"}, "body": "<p>Hi</p>"}, True),
        # Templates, layouts, previews.
        (
            "POST /v1/templates",
            {"name": "Welcome", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>"},
            True,
        ),
        (
            "POST /v1/templates",
            {
                "name": "Hook",
                "channel": "webhook",
                "url": "https://x.test",
                "method": "PUT",
                "headers": {"a": "b"},
            },
            True,
        ),
        ("POST /v1/templates", {"name": "No subject", "channel": "email", "body": "<p>Hi</p>"}, False),
        ("POST /v1/templates", {"name": "Fax", "channel": "fax", "body": "Hi"}, False),
        (
            "PUT /v1/templates/{template_id}",
            {"subject": "Hi again", "body": "<p>Hi</p>", "trigger_name": "welcome"},
            True,
        ),
        ("PUT /v1/templates/{template_id}", {"trigger_name": "9 starts with a digit"}, False),
        (
            "POST /v1/templates/{template_id}/preview",
            {"identifiers": {"id": "ann"}, "message_data": {"n": 1}},
            True,
        ),
        ("POST /v1/templates/{template_id}/preview", {"message_data": {}}, False),
        ("POST /v1/layouts", {"name": "Frame", "body": "<main>{{ content }}</main>"}, True),
        ("PUT /v1/layouts/{layout_id}", {"name": "Frame", "body": "<main>no content</main>"}, False),
        # Snippets: Customer.io's form (the name in the body, value) and Nudge's first (name in the path).
        ("PUT /v1/snippets", {"name": "address", "value": "<strong>My Company</strong>"}, True),
        ("POST /v1/snippets", {"name": "address", "value": "1234 Fake St"}, True),
        ("PUT /v1/snippets", {"value": "no name"}, False),
        ("PUT /v1/snippets", {"name": "main address", "value": "names are identifiers"}, False),
        ("PUT /v1/snippets/{name}", {"body": "<footer>Bye</footer>"}, True),
        ("PUT /v1/snippets/{name}", {"value": "<footer>Bye</footer>"}, True),
        ("PUT /v1/snippets/{name}", {"name": "footer"}, False),
        # Delivery settings.
        (
            "PUT /v1/settings/delivery",
            {
                "from": "Shop <news@shop.test>",
                "reply_to": None,
                "smtp": {
                    "host": "smtp.shop.test",
                    "port": 465,
                    "security": "tls",
                    "username": "u",
                    "password": "p",
                },
                "message_limit": {"count": 3, "days": 7},
                "sending_rate": 50,
                "rotate_webhook_signing_key": True,
            },
            True,
        ),
        ("PUT /v1/settings/delivery", {"smtp": None, "message_limit": None}, True),
        ("PUT /v1/settings/delivery", {"message_limit": {"count": 3, "days": 366}}, False),
        ("PUT /v1/settings/delivery", {"smtp": {"port": 25}}, False),
        # People and manual segments.
        ("POST /v1/segments/{segment_id}/add_customers", {"ids": ["ann", 42]}, True),
        ("POST /v1/segments/{segment_id}/remove_customers", {"ids": [""]}, False),
        ("PUT /v1/customers/{customer_id}/attributes", {"attributes": {"plan": "pro", "trial": None}}, True),
        ("PUT /v1/customers/{customer_id}/attributes", {"attributes": {"email": "b@c.d"}}, False),
        ("PUT /v1/customers/{customer_id}/attributes", {"attributes": {}}, False),
        # Exports.
        (
            "POST /v1/exports/customers",
            {"filters": {"and": [{"segment": {"id": 3}}]}, "attributes": ["plan", "first_name"]},
            True,
        ),
        ("POST /v1/exports/customers", {"attributes": ["plan"]}, False),
        ("POST /v1/exports/deliveries", {"newsletter_id": 7, "start": 1700000000, "metric": "opened"}, True),
        ("POST /v1/exports/deliveries", {}, True),
        ("POST /v1/exports/deliveries", {"newsletter_id": 7, "campaign_id": 8}, False),
        ("POST /v1/exports/deliveries", {"metric": "read"}, False),
        # Keys, members and the console's session.
        ("POST /v1/api_keys", {"type": "track", "name": "Website"}, True),
        ("POST /v1/api_keys", {"type": "admin", "name": "Website"}, False),
        ("POST /v1/members", {"email": "bo@shop.test", "role": "author"}, True),
        ("POST /v1/members", {"email": "bo@shop.test", "role": "owner"}, False),
        ("PUT /v1/members/{email}", {"role": "viewer"}, True),
        ("POST /v1/session", {"email": "bo@shop.test", "password": "correct horse"}, True),
        ("POST /v1/session", {"email": "bo@shop.test"}, False),
        (
            "POST /v1/session/password",
            {"email": "bo@shop.test", "password": "temporary", "new_password": "correct horse"},
            True,
        ),
        ("POST /v1/session/password", {"email": "bo@shop.test", "password": "temporary"}, False),
    ],
)
def test_documented_app_bodies_accept_what_the_api_accepts(key, body, valid):
    errors = list(_body_validator(app_openapi.build(), key).iter_errors(body))
    assert (not errors) == valid, [e.message for e in errors]
