"""Sending a template as a test (``POST /v1/templates/{id}/test``): rendered for a chosen person with its
layout and snippets, sent through the real pipeline to the member asking, and marked ``test`` so it is
neither billed nor seen as that person's message. Real handlers under moto."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nudge.console_auth import members
from nudge.delivery import states
from tests.support.console import ConsoleClient, user_pool
from tests.support.deliveries import delivery, usage


@pytest.fixture
def pool(account: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with user_pool(monkeypatch):
        yield


@pytest.fixture
def author(pool: None, ws: str) -> ConsoleClient:
    added = members.add(ws, "writer@acme.test", "author")
    assert added.password is not None
    client = ConsoleClient(workspace=ws)
    assert client.first_sign_in("writer@acme.test", added.password).status == 200
    return client


@pytest.fixture
def receipt(app, track) -> int:
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "Ann"}).status == 200
    assert (
        app.put(
            "/v1/snippets",
            {"name": "sign_off", "value": "<p>Bye {{ customer.first_name }}</p>", "language": "liquid"},
        ).status
        == 200
    )
    layout = app.post(
        "/v1/layouts",
        {"name": "Brand", "body": "<main>{{ content }}{{ snippets.sign_off }}</main>", "language": "liquid"},
    )
    template = app.post(
        "/v1/templates",
        {
            "name": "Receipt",
            "channel": "email",
            "subject": "Order {{ trigger.order | default: 'none' }}",
            "body": "<p>Hi {{ customer.first_name | default: 'there' }}</p>",
            "layout_id": layout.json["layout"]["id"],
            "language": "liquid",
        },
    )
    assert template.status == 200, template.raw
    return int(template.json["template"]["id"])


def test_a_test_goes_to_the_signed_in_user_rendered_for_the_person(author, receipt, ws, deliver, channels):
    answer = author.post(
        f"/v1/templates/{receipt}/test", {"identifiers": {"id": "ann"}, "message_data": {"order": "A-1"}}
    )

    assert answer.status == 200, answer.raw
    assert answer.json["to"] == "writer@acme.test"
    assert deliver(answer.json["delivery_id"]).state == states.SENT
    [sent] = channels.email.sent
    assert sent.to == "writer@acme.test"
    assert sent.subject == "Order A-1"
    assert sent.html == "<main><p>Hi Ann</p><p>Bye Ann</p></main>"
    assert "List-Unsubscribe" not in sent.headers


def test_a_test_is_not_billed_nor_the_persons_message(author, receipt, ws, app, deliver):
    answer = author.post(f"/v1/templates/{receipt}/test", {"identifiers": {"id": "ann"}})

    deliver(answer.json["delivery_id"])

    assert delivery(ws, answer.json["delivery_id"]).source == "test"
    assert usage(ws).billable_messages == 0
    assert app.get("/v1/customers/ann/messages").json["messages"] == []
    [listed] = app.get("/v1/messages").json["messages"]
    assert listed["type"] == "test" and listed["recipient"] == "writer@acme.test"


def test_without_a_person_the_template_renders_with_its_defaults(author, receipt, deliver, channels):
    answer = author.post(f"/v1/templates/{receipt}/test", {})

    deliver(answer.json["delivery_id"])

    assert channels.email.sent[0].html == "<main><p>Hi there</p><p>Bye </p></main>"


def test_a_console_user_cannot_send_a_test_to_someone_else(author, receipt):
    answer = author.post(f"/v1/templates/{receipt}/test", {"to": "stranger@example.com"})

    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == "/to"


def test_an_api_key_names_a_member_and_only_a_member(pool, app, ws, receipt):
    members.add(ws, "owner@acme.test", "admin")

    missing = app.post(f"/v1/templates/{receipt}/test", {})
    stranger = app.post(f"/v1/templates/{receipt}/test", {"to": "stranger@example.com"})
    member = app.post(f"/v1/templates/{receipt}/test", {"to": "Owner@acme.test"})

    assert [missing.status, stranger.status] == [400, 400]
    assert missing.json["errors"][0]["source"]["pointer"] == "/to"
    assert "not one" in stranger.json["errors"][0]["detail"]
    assert member.status == 200 and member.json["to"] == "owner@acme.test"


def test_an_unknown_person_or_a_non_email_template_is_refused(author, app, receipt):
    sms = app.post("/v1/templates", {"name": "Text", "channel": "sms", "body": "hi"}).json["template"]

    unknown = author.post(f"/v1/templates/{receipt}/test", {"identifiers": {"id": "nobody"}})
    not_email = author.post(f"/v1/templates/{sms['id']}/test", {})

    assert unknown.status == 404
    assert not_email.status == 400
    assert not_email.json["errors"][0]["source"]["pointer"] == "/template_id"


def test_a_viewer_cannot_send_a_test(pool, ws, receipt):
    added = members.add(ws, "reader@acme.test", "viewer")
    viewer = ConsoleClient(workspace=ws)
    assert (
        added.password is not None and viewer.first_sign_in("reader@acme.test", added.password).status == 200
    )

    assert viewer.post(f"/v1/templates/{receipt}/test", {}).status == 403


def test_the_workspace_s_activities_still_list_after_a_test(author, receipt, app, deliver):
    answer = author.post(f"/v1/templates/{receipt}/test", {"identifiers": {"id": "ann"}})
    deliver(answer.json["delivery_id"])

    listed = app.get("/v1/activities")

    assert listed.status == 200, listed.raw
    own = app.get("/v1/customers/ann/activities")
    assert own.status == 200 and not [a for a in own.json["activities"] if a.get("delivery_id")]
