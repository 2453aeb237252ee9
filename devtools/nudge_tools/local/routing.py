"""Which handler serves what, locally: the same functions and route table the stack deploys."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from nudge_tools.local.gateway import ApiRoute, Handler

# The local runtime runs from a clone: the handlers live in functions/ at the repository's root.
REPO_ROOT = Path(__file__).resolve().parents[3]


def load_handler(function: str, entry: str = "handler") -> Handler:
    """``functions/<function>/handler.py``'s ``entry``, imported as the deployed function's code."""
    if not (REPO_ROOT / "functions" / function / "handler.py").is_file():
        raise FileNotFoundError(f"no handler for function {function!r} under {REPO_ROOT / 'functions'}")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    module = importlib.import_module(f"functions.{function}.handler")
    handler: Handler = getattr(module, entry)
    return handler


def local_functions() -> dict[str, Handler]:
    """Every function under ``functions/`` by its local Lambda name (``nudge-<folder>``), for Step Functions
    Task states to invoke."""
    return {
        f"nudge-{path.parent.name}": load_handler(path.parent.name)
        for path in sorted((REPO_ROOT / "functions").glob("*/handler.py"))
    }


def api_routes() -> list[ApiRoute]:
    """The Track API's, the App API's and the tracking links' routes, each to its own function, as the
    stack deploys them: the App API's older base too, as one greedy route."""
    from nudge.http.app_api.routes import ROUTES as APP_ROUTES
    from nudge.http.links import ROUTES as LINK_ROUTES
    from nudge.http.routing import APP_OLDER_BASE
    from nudge.http.track_api import ROUTES as TRACK_ROUTES

    track, app, links = load_handler("track"), load_handler("api"), load_handler("links")
    return (
        [ApiRoute(r.method, r.path, track, "nudge-track") for r in TRACK_ROUTES]
        + [ApiRoute(r.method, r.path, app, "nudge-api") for r in APP_ROUTES]
        + [ApiRoute("ANY", APP_OLDER_BASE.proxy_path, app, "nudge-api")]
        + [ApiRoute(r.method, r.path, links, "nudge-links") for r in LINK_ROUTES]
    )


def openapi_document() -> dict[str, Any]:
    """``/openapi.json``: the Track and App APIs in one document, as they are served on one host (each
    operation names its own credentials and error shape). ``openapi/*.json`` hold each API alone."""
    from nudge.http.app_api.openapi import build as app_document
    from nudge.http.track_openapi import build as track_document
    from nudge.http.track_openapi import merged

    return merged("Nudge Track and App APIs", [track_document(), app_document()])
