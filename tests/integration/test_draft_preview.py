"""The live preview of content not saved yet (``POST /v1/templates/preview``): a draft template, layout or
snippet rendered for a person as a send would render it, each refusal at the field it concerns, nothing
stored. Real handlers under moto."""

from __future__ import annotations

import pytest

EMAIL = {"channel": "email", "language": "liquid", "subject": "Hi {{ customer.first_name }}"}


@pytest.fixture
def ann(track) -> dict:
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "Ann"}).status == 200
    return {"id": "ann"}


def _pointer(answer) -> str:
    assert answer.status == 400, answer.raw
    return str(answer.json["errors"][0]["source"]["pointer"])


def test_a_draft_renders_in_its_layout_with_the_stored_snippets(app, ann, channels):
    app.put(
        "/v1/snippets",
        {"name": "footer", "value": "<p>Bye {{ customer.first_name }}</p>", "language": "liquid"},
    )
    layout = app.post(
        "/v1/layouts", {"name": "Brand", "body": "<main>{{ content }}</main>", "language": "liquid"}
    )
    template = {**EMAIL, "body": "<p>{{ trigger.n | plus: 1 }}</p>{{ snippets.footer }}"}

    answer = app.post(
        "/v1/templates/preview",
        {
            "template": {**template, "layout_id": layout.json["layout"]["id"]},
            "identifiers": ann,
            "message_data": {"n": 1},
        },
    )

    assert answer.status == 200, answer.raw
    assert answer.json["preview"]["subject"] == "Hi Ann"
    assert answer.json["preview"]["html"] == "<main><p>2</p><p>Bye Ann</p></main>"
    assert app.get("/v1/templates").json["templates"] == []
    assert channels.email.sent == []


def test_draft_layout_and_snippet_stand_in_for_the_stored_ones(app, ann):
    answer = app.post(
        "/v1/templates/preview",
        {
            "template": {**EMAIL, "body": "<p>body</p>"},
            "layout": {"body": "<div>{{ content }}{{ snippets.sign }}</div>", "language": "liquid"},
            "snippet": {
                "name": "sign",
                "value": "<i>{{ customer.first_name | upcase }}</i>",
                "language": "liquid",
            },
            "identifiers": ann,
        },
    )

    assert answer.status == 200, answer.raw
    assert answer.json["preview"]["html"] == "<div><p>body</p><i>ANN</i></div>"


@pytest.mark.parametrize(
    ("draft", "pointer"),
    [
        ({"template": {**EMAIL, "body": "{% if %}"}}, "/template/body"),
        ({"template": {**EMAIL, "body": "x", "subject": "{{ a | shout }}"}}, "/template/subject"),
        ({"template": {**EMAIL, "body": "{{ snippets.nope }}"}}, "/template/body"),
        ({"template": {**EMAIL, "body": "x"}, "layout": {"body": "no content here"}}, "/layout/body"),
        (
            {"template": {**EMAIL, "body": "x"}, "layout": {"body": "{{ content }}{{ snippets['gone'] }}"}},
            "/layout/body",
        ),
        (
            {"template": {**EMAIL, "body": "x"}, "snippet": {"name": "s", "value": "{% endif %}"}},
            "/snippet/value",
        ),
        (
            {
                "template": {**EMAIL, "body": "{{ snippets.s }}"},
                "snippet": {"name": "s", "value": "{{ 1 | divided_by: 0 }}", "language": "liquid"},
            },
            "/snippet/value",
        ),
        ({"template": {**EMAIL, "body": "{{ 1 | divided_by: 0 }}"}}, "/template/body"),
        ({"template": {"channel": "fax", "body": "x"}}, "/template/channel"),
    ],
)
def test_a_refusal_names_the_field_it_concerns(app, ann, draft, pointer):
    assert _pointer(app.post("/v1/templates/preview", {**draft, "identifiers": ann})) == pointer


def test_an_unknown_person_is_404(app):
    answer = app.post(
        "/v1/templates/preview", {"template": {**EMAIL, "body": "x"}, "identifiers": {"id": "nobody"}}
    )

    assert answer.status == 404


def test_a_person_without_an_address_still_sees_what_a_send_would_say(app, track):
    assert track.put("/api/v1/customers/noah", {"first_name": "Noah"}).status == 200

    answer = app.post(
        "/v1/templates/preview",
        {"template": {**EMAIL, "body": "<p>Hi {{ customer.first_name }}</p>"}, "identifiers": {"id": "noah"}},
    )

    assert answer.status == 200, answer.raw
    assert answer.json["preview"]["to"] is None
    assert answer.json["preview"]["html"] == "<p>Hi Noah</p>"
