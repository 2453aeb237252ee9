"""The App API's OpenAPI 3 document, generated from its route table by the Track API's generator
(``make openapi`` writes it to ``openapi/app.json``; tests keep the committed copy in step and validate
it)."""

from __future__ import annotations

import copy
import sys
from typing import Any

from nudge.http.app_api.routes import ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.http.track_openapi import ApiSpec, document, render

# The App API's one error shape (``functions/api``): a pointer names the field a 400 is about.
ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["detail", "status"],
                "properties": {
                    "detail": {"type": "string"},
                    "status": {"type": "string", "description": "the HTTP status, as a string"},
                    "code": {
                        "type": "string",
                        "description": "what to do next where the status does not say: "
                        "new_password_required (POST /v1/session with a temporary password: choose one "
                        "with POST /v1/session/password)",
                    },
                    "source": {
                        "type": "object",
                        "properties": {
                            "pointer": {
                                "type": ["string", "null"],
                                "description": "JSON pointer to the field at fault, e.g. /segment/name",
                            }
                        },
                    },
                },
            },
        }
    },
}

APP = ApiSpec(
    title="Nudge App API",
    description=(
        "Customer.io-compatible App API: people, segments, messages, templates, transactional sends, "
        "campaigns, broadcasts, billing and settings. Every path also answers under Customer.io's older "
        f"base: {APP_OLDER_BASE.alias}/... for {APP_OLDER_BASE.base}/... "
        f"(e.g. {APP_OLDER_BASE.alias}/segments). The web console calls the same routes with its session "
        "cookie (from POST /v1/session) and an X-Nudge-Workspace header instead of a key, and each route "
        "takes a least role: viewer for GET, author for other methods, admin for API keys, members and "
        "delivery settings (403 below it)."
    ),
    routes=ROUTES,
    security_scheme={"type": "http", "scheme": "bearer", "description": "the workspace's app api key"},
    errors={
        "400": ("Invalid request", "AppErrors"),
        "401": ("Wrong or missing app api key (or console session)", "AppErrors"),
        "403": ("The console user's role or membership does not allow this", "AppErrors"),
        "404": ("Not found (or another workspace's)", "AppErrors"),
        "409": ("Conflicts with the current state", "AppErrors"),
        "503": ("Storage temporarily unavailable: retry (Retry-After)", "AppErrors"),
    },
    schemas={"AppErrors": ERRORS},
    openapi="3.1.0",
)


def build() -> dict[str, Any]:
    """The document, each JSON Schema resource the request bodies embed (the segment condition schema,
    the campaign definition schema: a schema with an ``$id``) declared once under ``components/schemas``
    and referred to from every body that uses it."""
    doc = document(APP)
    resources: dict[str, dict[str, Any]] = {}
    for operations in doc["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                body["schema"] = _lifted(copy.deepcopy(body["schema"]), resources, None)
    doc["components"]["schemas"].update(sorted(resources.items()))
    return doc


def _component(resource_id: str) -> str:
    """``urn:nudge:segment-condition`` -> ``SegmentCondition``."""
    return "".join(part.capitalize() for part in resource_id.rsplit(":", 1)[-1].split("-"))


def _lifted(schema: Any, resources: dict[str, dict[str, Any]], base: str | None) -> Any:
    """``schema`` with each embedded resource moved to ``resources`` (by component name) and replaced by
    a reference to it. References are rewritten to point into the document, because OpenAPI tools resolve
    ``#/...`` against the document, not against the resource an ``$id`` opens: ``#/$defs/x`` inside a
    resource becomes ``#/components/schemas/<it>/$defs/x``, ``urn:...#/x`` the same for the resource it
    names. ``base``: the component the schema sits in (None: an operation's body)."""
    if isinstance(schema, list):
        return [_lifted(item, resources, base) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$id" in schema:
        name = _component(str(schema["$id"]))
        if name not in resources:
            resources[name] = {}  # taken before descending: a resource may refer to itself
            body = {k: v for k, v in schema.items() if k not in ("$id", "$schema")}
            resources[name] = _lifted(body, resources, name)
        return {"$ref": f"#/components/schemas/{name}"}
    lifted = {key: _lifted(value, resources, base) for key, value in schema.items()}
    reference = lifted.get("$ref")
    if isinstance(reference, str):
        target, _, pointer = reference.partition("#")
        owner = _component(target) if target else base
        if owner is not None:
            lifted["$ref"] = f"#/components/schemas/{owner}{pointer}"
    return lifted


if __name__ == "__main__":
    sys.stdout.write(render(build()))
