"""The Track API's OpenAPI 3 document, generated from the route table (``make openapi`` writes it to
``openapi/track.json``; a test keeps the committed copy in step)."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from nudge.routing import Route
from nudge.tracking.routes import ROUTES

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


def _operation(route: Route) -> dict[str, Any]:
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
    if route.path.endswith(("add_customers", "remove_customers")):
        params.append(
            {
                "name": "id_type",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["id", "email", "cio_id"]},
            }
        )
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', route.path)}",
        "summary": route.summary,
        "security": [{"basic": []}],
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"description": "Invalid request", "content": {"application/json": {"schema": _ERROR}}},
            "401": {"description": "Wrong or missing credentials"},
            "404": {"description": "Not found", "content": {"application/json": {"schema": _ERROR}}},
            "503": {"description": "Storage temporarily unavailable: retry"},
        },
    }
    for status, description in route.responses.items():
        op["responses"][status] = {
            "description": description,
            "content": {"application/json": {"schema": _BATCH_ERRORS}},
        }
    if params:
        op["parameters"] = params
    if route.body_schema is not None:
        op["requestBody"] = {
            "required": True,
            "description": f"At most {route.body_limit} bytes.",
            "content": {"application/json": {"schema": route.body_schema}},
        }
    return op


def build() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Nudge Track API",
            "version": "1.0.0",
            "description": "Customer.io-compatible ingestion: people, events, devices, objects.",
        },
        "components": {
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic", "description": "site_id:track_api_key"}
            }
        },
        "paths": paths,
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
