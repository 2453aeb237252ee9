from pathlib import Path

from nudge.tracking import openapi
from nudge.tracking.routes import ROUTES

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "track.json"


def test_committed_document_matches_the_route_table():
    assert COMMITTED.read_text() == openapi.render(), "run `make openapi` and commit openapi/track.json"


def test_every_route_is_documented_once():
    doc = openapi.build()
    documented = {f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops}
    assert documented == {f"{r.method} {r.path}" for r in ROUTES}
    assert len(ROUTES) == len(documented)
