"""Subscription topics through the App API: Customer.io's list shape, Nudge's create / change / delete,
roles, workspace isolation, a person's preferences in Customer.io's shape, and the centre's look."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nudge import workspaces
from nudge.console_auth import members
from tests.support.console import ConsoleClient, user_pool
from tests.support.track import AppClient, TrackClient


def _error(answer, status: int) -> dict:
    assert answer.status == status, (answer.status, answer.raw)
    [only] = answer.json["errors"]
    return only


@pytest.fixture
def pool(account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with user_pool(monkeypatch):
        yield


def _console(ws: str, role: str) -> ConsoleClient:
    added = members.add(ws, f"{role}@acme.test", role)
    assert added.password is not None
    client = ConsoleClient(workspace=ws)
    assert client.first_sign_in(f"{role}@acme.test", added.password).status == 200
    return client


def test_topics_are_listed_in_customerios_shape(app):
    created = app.post(
        "/v1/subscription_topics",
        {"name": "Product updates", "description": "New features", "subscribed_by_default": False},
    )
    assert created.status == 200, created.raw
    app.post("/v1/subscription_topics", {"name": "Newsletter"})

    answer = app.get("/v1/subscription_topics")

    assert answer.status == 200
    first, second = answer.json["topics"]
    assert {k: first[k] for k in ("id", "identifier", "name", "description", "subscribed_by_default")} == {
        "id": 1,
        "identifier": "topic_1",
        "name": "Product updates",
        "description": "New features",
        "subscribed_by_default": False,
    }
    assert (second["id"], second["identifier"], second["subscribed_by_default"]) == (2, "topic_2", True)


def test_a_topic_is_found_changed_and_deleted_by_its_id_or_identifier(app):
    app.post("/v1/subscription_topics", {"name": "Newsletter"})

    assert app.get("/v1/subscription_topics/topic_1").json["topic"]["name"] == "Newsletter"
    changed = app.put("/v1/subscription_topics/1", {"subscribed_by_default": False, "description": "Weekly"})
    assert changed.status == 200, changed.raw
    topic = changed.json["topic"]
    assert (topic["name"], topic["description"], topic["subscribed_by_default"]) == (
        "Newsletter",
        "Weekly",
        False,
    )

    assert app.delete("/v1/subscription_topics/topic_1").status == 204
    assert _error(app.get("/v1/subscription_topics/1"), 404)
    assert app.get("/v1/subscription_topics").json["topics"] == []


def test_ids_are_never_reused_after_a_delete(app):
    app.post("/v1/subscription_topics", {"name": "A"})
    app.delete("/v1/subscription_topics/1")

    assert app.post("/v1/subscription_topics", {"name": "B"}).json["topic"]["identifier"] == "topic_2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "A", "subscribed_by_default": "yes"}, "subscribed_by_default"),
        ({"name": "A", "description": 5}, "description"),
    ],
)
def test_a_bad_topic_is_a_400_naming_the_field(app, body, field):
    error = _error(app.post("/v1/subscription_topics", body), 400)
    assert error["source"]["pointer"] == f"/{field}"


def test_a_malformed_topic_id_is_a_400_and_an_unknown_one_a_404(app):
    assert _error(app.get("/v1/subscription_topics/topic_x"), 400)["source"]["pointer"] == "/topic_id"
    assert _error(app.put("/v1/subscription_topics/7", {"name": "A"}), 404)
    assert _error(app.delete("/v1/subscription_topics/7"), 404)


def test_another_workspace_never_sees_or_changes_the_topics(app, account):
    app.post("/v1/subscription_topics", {"name": "Newsletter"})
    other = AppClient(workspaces.create_workspace("Other", "essentials", "2026-01-01").app_api_key)

    assert other.get("/v1/subscription_topics").json["topics"] == []
    assert _error(other.get("/v1/subscription_topics/1"), 404)
    assert _error(other.delete("/v1/subscription_topics/1"), 404)
    assert app.get("/v1/subscription_topics/1").status == 200


def test_viewers_read_topics_authors_manage_them_and_only_admins_restyle_the_centre(pool, ws):
    viewer, author, admin = (_console(ws, role) for role in ("viewer", "author", "admin"))

    assert _error(viewer.post("/v1/subscription_topics", {"name": "A"}), 403)
    assert author.post("/v1/subscription_topics", {"name": "A"}).status == 200
    assert viewer.get("/v1/subscription_topics").json["topics"][0]["name"] == "A"
    assert _error(viewer.put("/v1/subscription_topics/1", {"name": "B"}), 403)
    assert _error(viewer.delete("/v1/subscription_topics/1"), 403)
    assert author.put("/v1/subscription_topics/1", {"name": "B"}).status == 200

    look = {"name": "Acme", "accent_color": "#AA3300"}
    assert _error(author.put("/v1/settings/subscription_center", look), 403)
    assert admin.put("/v1/settings/subscription_center", look).status == 200
    assert viewer.get("/v1/settings/subscription_center").json["subscription_center"] == {
        "name": "Acme",
        "accent_color": "#aa3300",
        "background_color": "#f4f5f7",
    }


def test_the_centres_colours_are_colours_only(app):
    error = _error(app.put("/v1/settings/subscription_center", {"accent_color": "red;}body{"}), 400)
    assert error["source"]["pointer"] == "/accent_color"


def test_a_persons_preferences_show_each_topics_state_in_customerios_shape(app, track):
    app.post("/v1/subscription_topics", {"name": "News", "subscribed_by_default": True})
    app.post("/v1/subscription_topics", {"name": "Offers", "subscribed_by_default": False})
    app.post("/v1/subscription_topics", {"name": "Tips", "subscribed_by_default": False})
    track.put(
        "/api/v1/customers/ann",
        {"email": "ann@example.com", "cio_subscription_preferences": {"topics": {"topic_3": True}}},
    )

    answer = app.get("/v1/customers/ann/subscription_preferences")

    assert answer.status == 200, answer.raw
    customer = answer.json["customer"]
    assert customer["identifiers"]["email"] == "ann@example.com"
    assert customer["unsubscribed"] is False
    assert [(t["identifier"], t["subscribed"], t["chosen"]) for t in customer["topics"]] == [
        ("topic_1", True, False),
        ("topic_2", False, False),
        ("topic_3", True, True),
    ]
    by_email = app.get("/v1/customers/ann@example.com/subscription_preferences?id_type=email")
    assert by_email.json == answer.json
    assert _error(app.get("/v1/customers/bob/subscription_preferences"), 404)


def test_another_workspaces_person_is_not_found(app, track, account):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    keys = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    TrackClient(keys.site_id, keys.track_api_key).put("/api/v1/customers/bob", {})

    assert _error(app.get("/v1/customers/bob/subscription_preferences"), 404)


def test_minting_a_centre_link_takes_an_author(pool, ws, track):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    viewer, author = _console(ws, "viewer"), _console(ws, "author")

    assert _error(viewer.get("/v1/subscription_center/ann/token"), 403)
    assert author.get("/v1/subscription_center/ann/token").status == 200
