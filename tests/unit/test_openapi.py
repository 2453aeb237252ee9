"""The OpenAPI documents: generated from the route tables, committed in step, and valid OpenAPI 3 by a
real validator (openapi-spec-validator)."""

from pathlib import Path
from typing import Any

import pytest
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
    assert own_credentials == {"POST /v1/session", "GET /v1/session", "DELETE /v1/session"}
    for key, op in _operations(document).items():
        # The console's session routes read their own credentials (a password, the session cookie).
        assert op["security"] == ([] if key in own_credentials else [{"bearer": []}]), key
        for status in ("400", "401", "404", "409", "503"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/AppErrors"}, (key, status)
    item = app_openapi.ERRORS["properties"]["errors"]["items"]
    assert set(item["properties"]) == {"detail", "status", "source"}
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
