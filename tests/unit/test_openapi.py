"""The OpenAPI documents: generated from the route tables, committed in step, and valid OpenAPI 3 by a
real validator (openapi-spec-validator)."""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from nudge.api import openapi as app_openapi
from nudge.api.routes import ROUTES as APP_ROUTES
from nudge.local.routing import openapi_document
from nudge.tracking import openapi
from nudge.tracking.routes import ROUTES

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


def test_every_app_write_documents_its_request_body():
    operations = _operations(app_openapi.build())
    writes = [f"{r.method} {r.path}" for r in APP_ROUTES if r.method in ("POST", "PUT")]
    assert writes
    for key in writes:
        assert operations[key]["requestBody"]["content"]["application/json"]["schema"]["type"] == "object", (
            key
        )


def test_the_app_document_names_the_older_base():
    assert "/v1/api/..." in app_openapi.build()["info"]["description"]


def test_the_served_document_holds_both_apis_with_their_own_credentials():
    served = openapi_document()
    assert (
        _operations(served).keys()
        == _operations(openapi.build()).keys() | _operations(app_openapi.build()).keys()
    )
    assert set(served["components"]["securitySchemes"]) == {"basic", "bearer"}
    assert served["paths"]["/api/v1/customers/{identifier}"]["put"]["security"] == [{"basic": []}]
    assert served["paths"]["/v1/segments"]["get"]["security"] == [{"bearer": []}]


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
    ],
)
def test_documented_app_bodies_accept_what_the_api_accepts(key, body, valid):
    errors = list(_body_validator(app_openapi.build(), key).iter_errors(body))
    assert (not errors) == valid, [e.message for e in errors]
