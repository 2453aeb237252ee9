"""OpenAPI 3 documents generated from a route table: the Track API's here (``make openapi`` writes it to
``openapi/track.json``), the App API's from the same code with its own error shape and credentials
(``nudge.http.app_api.openapi``, ``openapi/app.json``). Tests keep the committed copies in step and
validate them."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nudge.http.pipelines_api import ROUTES as PIPELINES_ROUTES
from nudge.http.routing import Route
from nudge.http.track_api import ROUTES
from nudge.tracking.identifiers import V1_KINDS

_ERROR = {
    "type": "object",
    "properties": {
        "meta": {
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
}
_BATCH_ERRORS = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "batch_index": {"type": "integer"},
                    "reason": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        }
    },
}


# Status -> (description, the name of its body's schema in ``ApiSpec.schemas``, or None for an answer
# documented without a body).
Errors = Mapping[str, tuple[str, str | None]]


@dataclass(frozen=True)
class ApiSpec:
    """What sets one API's document apart: the rest is read from its route table."""

    title: str
    description: str
    routes: Sequence[Route]
    security_scheme: dict[str, Any]  # how callers authenticate: the "basic" or "bearer" scheme
    errors: Errors  # the answers every operation may give besides its 200
    # Shapes the answers name, each declared once under ``components/schemas`` and referred to.
    schemas: Mapping[str, dict[str, Any]]
    # 3.1 where request bodies are the project's JSON Schemas (draft 2020-12: const, type lists, $defs).
    openapi: str = "3.0.3"

    @property
    def security_name(self) -> str:
        return str(self.security_scheme["scheme"])


TRACK = ApiSpec(
    title="Nudge Track API",
    description="Customer.io-compatible ingestion: people, events, devices, objects; and Customer.io's "
    "Pipelines API (Segment's spec) under /v1/, with its own key.",
    routes=ROUTES,
    security_scheme={"type": "http", "scheme": "basic", "description": "site_id:track_api_key"},
    errors={
        "400": ("Invalid request", "TrackError"),
        "401": ("Wrong or missing credentials", None),
        "404": ("Not found", "TrackError"),
        "503": ("Storage temporarily unavailable: retry", None),
    },
    schemas={"TrackError": _ERROR, "BatchErrors": _BATCH_ERRORS},
    openapi="3.1.0",  # its bodies are written from the readers' field tables: null, if/then
)


def _answer(description: str, schema: str | None) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": reference}}}


def _operation(spec: ApiSpec, route: Route) -> dict[str, Any]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": "percent-encoded" if name != "segment_id" else "segment id",
        }
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    # Where a person is named, Customer.io lets the caller say which identifier it is.
    if route.path.endswith(("add_customers", "remove_customers")) or "{customer_id}" in route.path:
        params.append(
            {
                "name": "id_type",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": list(V1_KINDS)},
            }
        )
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', route.path)}",
        "summary": route.summary,
        # A route that reads its own credentials (the console's sign-in) asks for none of the scheme's.
        "security": [] if route.own_credentials else [{spec.security_name: []}],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            **{status: _answer(*answer) for status, answer in spec.errors.items()},
        },
    }
    for status, description in route.responses.items():
        op["responses"][status] = _answer(description, "BatchErrors")
    if params:
        op["parameters"] = params
    if route.body_schema is not None:
        op["requestBody"] = {
            "required": True,
            "description": f"At most {route.body_limit} bytes.",
            "content": {"application/json": {"schema": route.body_schema}},
        }
    return op


def document(spec: ApiSpec) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in spec.routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(spec, route)
    return {
        "openapi": spec.openapi,
        "info": {"title": spec.title, "version": "1.0.0", "description": spec.description},
        "components": {
            "securitySchemes": {spec.security_name: spec.security_scheme},
            "schemas": dict(spec.schemas),
        },
        "paths": paths,
    }


def merged(title: str, documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Several APIs served on one host (as the stack and ``nudge local`` serve them) in one document: their
    paths, security schemes and schemas side by side. Refuses a path, scheme or schema name two documents
    both declare, which would silently lose one of them."""
    paths: dict[str, Any] = {}
    schemes: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for doc in documents:
        components = doc["components"]
        for target, found in (
            (paths, doc["paths"]),
            (schemes, components["securitySchemes"]),
            (schemas, components["schemas"]),
        ):
            shared = target.keys() & found.keys()
            if shared:
                raise ValueError(f"declared by two documents: {sorted(shared)}")
            target.update(found)
    described = " ".join(f"{doc['info']['title']}: {doc['info']['description']}" for doc in documents)
    return {
        # The newest of them: a 3.0 document's schemas read the same under 3.1.
        "openapi": max((doc.get("openapi", "3.0.3") for doc in documents), default="3.0.3"),
        "info": {"title": title, "version": "1.0.0", "description": described},
        "components": {"securitySchemes": schemes, "schemas": schemas},
        "paths": paths,
    }


# The Pipelines API shares the Track API's host and document, with its own key and error shape.
_PIPELINES_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "strict mode: each refused call",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "code": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
_PIPELINES_SCHEMES = {
    "pipelinesBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "the workspace's Pipelines key as the user, an empty password",
    },
    "pipelinesBearer": {"type": "http", "scheme": "bearer", "description": "the workspace's Pipelines key"},
}


def _pipelines_operation(op: dict[str, Any], route: Route) -> None:
    op["security"] = [{name: []} for name in _PIPELINES_SCHEMES]
    ok = {"type": "object", "properties": {"success": {"type": "boolean"}}}
    op["responses"] = {
        "200": {"description": "Accepted", "content": {"application/json": {"schema": ok}}},
        **{status: _answer(text, "PipelinesError") for status, text in route.responses.items()},
        "503": _answer("Storage temporarily unavailable: retry (Retry-After)", "PipelinesError"),
    }
    op.setdefault("parameters", []).append(
        {
            "name": "X-Strict-Mode",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "enum": ["1"]},
            "description": "1: refused calls answer 400; otherwise they are dropped (and logged) with a 200",
        }
    )
    op["requestBody"]["content"]["application/json"]["schema"] = route.body_schema
    op["requestBody"]["description"] += " May be gzip (Content-Encoding: gzip); the limit is inflated."


def build() -> dict[str, Any]:
    doc = document(TRACK)
    doc["components"]["securitySchemes"].update(_PIPELINES_SCHEMES)
    doc["components"]["schemas"]["PipelinesError"] = _PIPELINES_ERROR
    for route in PIPELINES_ROUTES:
        _pipelines_operation(doc["paths"][route.path][route.method.lower()], route)
    return doc


def render(doc: dict[str, Any] | None = None) -> str:
    return json.dumps(build() if doc is None else doc, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
