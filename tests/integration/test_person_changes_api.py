"""A person changed over the App API (``nudge.http.app_api.person_changes``), as the console's profile
page does: attributes, suppress, unsuppress, delete. Real handler under moto."""

from __future__ import annotations

from nudge import workspaces
from tests.support.track import AppClient


def _ann(track):
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "plan": "free"}).status == 200


def _attributes(app, who="ann"):
    return app.get(f"/v1/customers/{who}/attributes").json["customer"]["attributes"]


def test_attributes_are_set_and_removed(app, track):
    _ann(track)

    answer = app.put("/v1/customers/ann/attributes", {"attributes": {"plan": "pro", "seats": 3}})

    assert answer.status == 200, answer.json
    assert answer.json["attributes"]["plan"] == "pro"
    assert _attributes(app)["seats"] == 3
    assert app.put("/v1/customers/ann/attributes", {"attributes": {"seats": None}}).status == 200
    assert "seats" not in _attributes(app)
    assert _attributes(app)["plan"] == "pro"


def test_a_person_is_addressed_by_email_or_cio_id(app, track):
    _ann(track)
    cio = app.get("/v1/customers/ann/attributes").json["customer"]["identifiers"]["cio_id"]

    by_cio = app.put(f"/v1/customers/{cio}/attributes?id_type=cio_id", {"attributes": {"plan": "a"}})
    by_email = app.put("/v1/customers/ann%40example.com/attributes?id_type=email", {"attributes": {"b": 1}})

    assert (by_cio.status, by_email.status) == (200, 200)
    assert _attributes(app)["plan"] == "a" and _attributes(app)["b"] == 1


def test_identifiers_and_bad_bodies_are_refused_by_field(app, track):
    _ann(track)
    for body, pointer in (
        ({"attributes": {"email": "x@example.com"}}, "/attributes/email"),
        ({"attributes": {}}, "/attributes"),
        ({"attributes": "plan"}, "/attributes"),
        ({}, "/attributes"),
    ):
        answer = app.put("/v1/customers/ann/attributes", body)
        assert answer.status == 400, (body, answer.json)
        assert answer.json["errors"][0]["source"]["pointer"] == pointer
    assert _attributes(app)["email"] == "ann@example.com"


def test_nobody_is_created_by_an_attribute_change(app):
    answer = app.put("/v1/customers/ghost/attributes", {"attributes": {"plan": "pro"}})

    assert answer.status == 404
    assert app.get("/v1/customers/ghost/attributes").status == 404


def test_delete_removes_the_person(app, track):
    _ann(track)

    assert app.delete("/v1/customers/ann").status == 204

    assert app.get("/v1/customers/ann/attributes").status == 404
    assert app.delete("/v1/customers/ann").status == 404


def test_suppress_deletes_and_blocks_until_unsuppressed(app, track):
    _ann(track)

    assert app.post("/v1/customers/ann/suppress", {}).status == 204
    assert app.get("/v1/customers/ann/attributes").status == 404
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    assert app.get("/v1/customers/ann/attributes").status == 404  # the Track API ignores a suppressed id

    assert app.post("/v1/customers/ann/unsuppress", {}).status == 204
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    assert app.get("/v1/customers/ann/attributes").status == 200


def test_another_workspaces_person_is_not_found(app, track, account):
    _ann(track)
    other = AppClient(workspaces.create_workspace("Other", "essentials", "2026-01-01").app_api_key)

    assert other.put("/v1/customers/ann/attributes", {"attributes": {"plan": "x"}}).status == 404
    assert other.delete("/v1/customers/ann").status == 404
    assert _attributes(app)["plan"] == "free"
