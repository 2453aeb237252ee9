"""API keys over the App API: list, create, rotate, revoke (``/v1/api_keys``). Real handler under moto."""

from __future__ import annotations

import json

import pytest

from nudge import workspaces
from nudge.model import KeyRecord, Workspace
from tests.support.track import AppClient, TrackClient


def refused(answer, field):
    assert answer.status == 400, answer.json
    [error] = answer.json["errors"]
    assert error["source"]["pointer"] == "/" + field, error


def _create(app, key_type, name="ci"):
    answer = app.post("/v1/api_keys", {"type": key_type, "name": name})
    assert answer.status == 200, answer.json
    return answer.json["api_key"]


def test_a_new_workspace_lists_its_three_keys_without_secrets(app):
    answer = app.get("/v1/api_keys")

    assert answer.status == 200, answer.json
    keys = answer.json["api_keys"]
    assert sorted(k["type"] for k in keys) == ["app", "cdp", "track"]
    assert all("secret" not in k for k in keys)


def test_a_created_app_key_is_shown_once_and_works(app):
    created = _create(app, "app", "reporting")

    assert created["name"] == "reporting" and created["secret"].startswith("nudge_app_")
    assert AppClient(created["secret"]).get("/v1/segments").status == 200
    listed = {k["id"]: k for k in app.get("/v1/api_keys").json["api_keys"]}
    assert "secret" not in listed[created["id"]]
    assert created["secret"] not in json.dumps(listed)


def test_a_created_track_key_is_its_own_site_id_pair(app):
    created = _create(app, "track")

    track = TrackClient(created["site_id"], created["secret"])
    assert track.put("/api/v1/customers/u1", {"email": "u1@example.com"}).status == 200


def test_rotating_an_app_key_stops_the_old_secret_at_once(app):
    created = _create(app, "app")

    answer = app.post(f"/v1/api_keys/{created['id']}/rotate")

    assert answer.status == 200, answer.json
    rotated = answer.json["api_key"]
    assert rotated["id"] == created["id"] and rotated["rotated_at"] is not None
    assert AppClient(created["secret"]).get("/v1/segments").status == 401
    assert AppClient(rotated["secret"]).get("/v1/segments").status == 200


def test_rotating_a_track_key_keeps_its_site_id(app):
    created = _create(app, "track")

    rotated = app.post(f"/v1/api_keys/{created['id']}/rotate").json["api_key"]

    assert rotated["site_id"] == created["site_id"]
    assert TrackClient(created["site_id"], created["secret"]).put("/api/v1/customers/u", {}).status == 401
    assert TrackClient(rotated["site_id"], rotated["secret"]).put("/api/v1/customers/u", {}).status == 200


def test_a_revoked_key_stops_working_and_is_no_longer_listed(app):
    app_key, track_key = _create(app, "app"), _create(app, "track")

    assert app.delete(f"/v1/api_keys/{app_key['id']}").status == 204
    assert app.delete(f"/v1/api_keys/{track_key['id']}").status == 204

    assert AppClient(app_key["secret"]).get("/v1/segments").status == 401
    assert TrackClient(track_key["site_id"], track_key["secret"]).put("/api/v1/customers/u", {}).status == 401
    listed = {k["id"] for k in app.get("/v1/api_keys").json["api_keys"]}
    assert not listed & {app_key["id"], track_key["id"]}


def test_the_key_in_use_cannot_revoke_itself(app, keys):
    [mine] = [k for k in app.get("/v1/api_keys").json["api_keys"] if k["type"] == "app"]

    answer = app.delete(f"/v1/api_keys/{mine['id']}")

    assert answer.status == 409, answer.json
    assert "another app key" in answer.json["errors"][0]["detail"]
    assert app.get("/v1/segments").status == 200
    # Another key of the workspace may revoke it.
    other = AppClient(_create(app, "app")["secret"])
    assert other.delete(f"/v1/api_keys/{mine['id']}").status == 204
    assert app.get("/v1/segments").status == 401


def test_another_workspaces_keys_are_not_found(app):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs = AppClient(other.app_api_key)
    [their_app] = [k for k in theirs.get("/v1/api_keys").json["api_keys"] if k["type"] == "app"]

    assert app.post(f"/v1/api_keys/{their_app['id']}/rotate").status == 404
    assert app.delete(f"/v1/api_keys/{their_app['id']}").status == 404
    assert their_app["id"] not in {k["id"] for k in app.get("/v1/api_keys").json["api_keys"]}
    assert theirs.get("/v1/segments").status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "type"),
        ({"type": "admin", "name": "x"}, "type"),
        ({"type": "app"}, "name"),
        ({"type": "app", "name": "  "}, "name"),
        ({"type": "app", "name": "n" * 201}, "name"),
        ({"type": "track", "name": 7}, "name"),
    ],
)
def test_bad_input_names_the_field(app, body, field):
    refused(app.post("/v1/api_keys", body), field)


def test_secrets_are_never_logged(app, capsys):
    created = _create(app, "app")
    rotated = app.post(f"/v1/api_keys/{created['id']}/rotate").json["api_key"]
    track = _create(app, "track")

    logged = capsys.readouterr()
    for secret in (created["secret"], rotated["secret"], track["secret"]):
        assert secret not in logged.out and secret not in logged.err


def test_the_older_base_answers_too(app):
    assert app.get("/v1/api/api_keys").status == 200


def test_a_workspace_made_before_key_records_lists_its_original_keys(app, keys):
    for record in KeyRecord.query(f"ws#{keys.workspace_id}"):
        record.delete()  # as stored by the version before keys were listed

    keys_now = app.get("/v1/api_keys").json["api_keys"]

    assert sorted(k["type"] for k in keys_now) == ["app", "track"]
    [track] = [k for k in keys_now if k["type"] == "track"]
    assert track["site_id"] == Workspace.get(f"ws#{keys.workspace_id}", "workspace").site_id
    [mine] = [k for k in keys_now if k["type"] == "app"]
    assert app.delete(f"/v1/api_keys/{mine['id']}").status == 409  # found as the key in use


def test_rotating_the_key_in_use_answers_its_new_secret(app):
    [mine] = [k for k in app.get("/v1/api_keys").json["api_keys"] if k["type"] == "app"]

    rotated = app.post(f"/v1/api_keys/{mine['id']}/rotate").json["api_key"]

    assert app.get("/v1/segments").status == 401
    assert AppClient(rotated["secret"]).get("/v1/segments").status == 200


def test_a_rotation_that_lost_a_race_is_a_conflict_and_changes_nothing(app, ws, monkeypatch):
    from nudge.errors import Conflict

    created = _create(app, "app")
    stale = workspaces._record(ws, created["id"])  # read before another request rotated it
    winner = workspaces.rotate_key(ws, created["id"])
    monkeypatch.setattr(workspaces, "_record", lambda *_: stale)

    with pytest.raises(Conflict):
        workspaces.rotate_key(ws, created["id"])

    assert AppClient(winner.secret).get("/v1/segments").status == 200
