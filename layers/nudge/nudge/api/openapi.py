"""The App API's OpenAPI 3 document, generated from its route table by the Track API's generator
(``make openapi`` writes it to ``openapi/app.json``; tests keep the committed copy in step and validate
it)."""

from __future__ import annotations

import sys
from typing import Any

from nudge.api.routes import ROUTES
from nudge.routing import APP_OLDER_BASE
from nudge.tracking.openapi import ApiSpec, document, render

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
                    "source": {
                        "type": "object",
                        "properties": {
                            "pointer": {
                                "type": "string",
                                "nullable": True,
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
    untyped_write_bodies=True,
)


def build() -> dict[str, Any]:
    return document(APP)


if __name__ == "__main__":
    sys.stdout.write(render(build()))
