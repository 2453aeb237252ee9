"""Templates, layouts, snippets, previews and delivery settings through the App API, and what they do to
the messages the pipeline sends."""

from __future__ import annotations

import json

import pytest

from nudge import workspaces
from nudge.delivery import states
from tests.support.deliveries import campaign, delivery, usage
from tests.support.track import AppClient

# Jinja, said outright: these tests are about the Jinja sandbox, and a new workspace writes Liquid.
RECEIPT = {
    "name": "Receipt",
    "channel": "email",
    "subject": "Receipt",
    "body": "<p>Thanks</p>",
    "language": "jinja",
}


def _pointer(answer) -> str:
    return str(answer.json["errors"][0]["source"]["pointer"])


def _create(app, **fields):
    answer = app.post("/v1/templates", {**RECEIPT, **fields})
    assert answer.status == 200, answer.raw
    return answer.json["template"]


@pytest.fixture
def ann(track):
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "Ann"}).status == 200
    return "ann"


# --- templates --------------------------------------------------------------------------------------


def test_create_returns_a_numeric_id(app):
    first = _create(app)
    second = _create(app, name="Other")

    assert isinstance(first["id"], int)
    assert second["id"] == first["id"] + 1
    assert first["channel"] == "email"
    assert first["subject"] == "Receipt"


def test_templates_are_listed_and_read_back(app):
    created = _create(app)

    listed = app.get("/v1/templates")
    read = app.get(f"/v1/templates/{created['id']}")

    assert listed.status == 200
    assert [t["id"] for t in listed.json["templates"]] == [created["id"]]
    assert read.status == 200
    assert read.json["template"] == created


def test_update_keeps_the_id_and_channel(app):
    created = _create(app)

    answer = app.put(
        f"/v1/templates/{created['id']}",
        {"channel": "sms", "subject": "New receipt", "body": "<p>Thanks again</p>"},
    )

    assert answer.status == 200
    updated = app.get(f"/v1/templates/{created['id']}").json["template"]
    assert updated["id"] == created["id"]
    assert updated["channel"] == "email"
    assert updated["name"] == "Receipt"
    assert (updated["subject"], updated["body"]) == ("New receipt", "<p>Thanks again</p>")


def test_an_update_takes_the_channels_required_fields_again(app):
    created = _create(app)

    answer = app.put(f"/v1/templates/{created['id']}", {"subject": "New"})

    assert answer.status == 400
    assert _pointer(answer) == "/body"


def test_a_deleted_template_is_gone(app):
    created = _create(app)

    assert app.delete(f"/v1/templates/{created['id']}").status == 204

    assert app.get(f"/v1/templates/{created['id']}").status == 404
    assert app.get("/v1/templates").json["templates"] == []


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"subject": None}, "/subject"),
        ({"body": "<p>{{ broken</p>"}, "/body"),
        ({"channel": "fax"}, "/channel"),
        ({"name": ""}, "/name"),
        ({"headers": {"X-Thing": 1}}, "/headers"),
    ],
)
def test_invalid_templates_name_the_field(app, fields, pointer):
    answer = app.post("/v1/templates", {k: v for k, v in {**RECEIPT, **fields}.items() if v is not None})

    assert answer.status == 400
    assert _pointer(answer) == pointer
    assert app.get("/v1/templates").json["templates"] == []


def test_a_trigger_name_is_used_once(app):
    _create(app, trigger_name="receipt")

    answer = app.post("/v1/templates", {**RECEIPT, "name": "Copy", "trigger_name": "receipt"})

    assert answer.status == 409


def test_an_unknown_layout_is_404(app):
    answer = app.post("/v1/templates", {**RECEIPT, "layout_id": "nope"})

    assert answer.status == 404


# --- layouts and snippets ---------------------------------------------------------------------------


def test_a_layout_must_place_the_content(app):
    answer = app.post("/v1/layouts", {"name": "Plain", "body": "<html><body>no content</body></html>"})

    assert answer.status == 400
    assert _pointer(answer) == "/body"


def test_a_template_renders_inside_its_layout(app, ws, ann, deliver, channels):
    layout = app.post(
        "/v1/layouts",
        {"name": "Brand", "body": '<html><body><div class="brand">{{ content }}</div></body></html>'},
    ).json["layout"]
    template = _create(app, body="<p>Hi {{ customer.first_name }}</p>", layout_id=layout["id"])

    delivery_id = campaign(ws, ann, template_id=str(template["id"]))
    assert deliver(delivery_id).state == states.SENT

    [email] = channels.email.sent
    assert '<div class="brand"><p>Hi Ann</p></div>' in email.html
    assert email.html.startswith("<html><body>")


def test_snippets_are_rendered_in_bodies(app, ann, deliver, channels):
    answer = app.put("/v1/snippets/footer", {"body": "<footer>{{ customer.first_name }}'s shop</footer>"})
    assert answer.status == 200
    send = app.post(
        "/v1/send/email",
        {"identifiers": {"id": "ann"}, "subject": "s", "body": "<p>Hi</p>{{ snippets.footer }}"},
    )

    deliver(send.json["delivery_id"])

    assert "<p>Hi</p><footer>Ann's shop</footer>" in channels.email.sent[0].html
    assert app.get("/v1/snippets").json["snippets"][0]["name"] == "footer"


def test_customer_io_s_snippet_form_names_it_in_the_body_and_answers_its_value(app, ann, deliver, channels):
    # customerio-node's updateSnippet: PUT /v1/snippets {name, value}, answered {"snippet": {...}}.
    answer = app.put("/v1/snippets", {"name": "address", "value": "1234 Fake St"})

    assert answer.status == 200, answer.raw
    snippet = answer.json["snippet"]
    assert (snippet["name"], snippet["value"], snippet["body"]) == ("address", "1234 Fake St", "1234 Fake St")
    assert isinstance(snippet["updated_at"], int)
    assert app.put("/v1/snippets", {"name": "address", "value": "5 Main St"}).status == 200
    [listed] = app.get("/v1/snippets").json["snippets"]
    assert listed == {**listed, "name": "address", "value": "5 Main St", "body": "5 Main St"}
    send = app.post(
        "/v1/send/email",
        {"identifiers": {"id": "ann"}, "subject": "s", "body": "<p>{{ snippets.address }}</p>"},
    )
    deliver(send.json["delivery_id"])
    assert "<p>5 Main St</p>" in channels.email.sent[0].html


def test_creating_a_snippet_refuses_a_name_already_taken(app):
    # customerio-node's createSnippet: POST /v1/snippets, which creates only.
    created = app.post("/v1/snippets", {"name": "footer", "value": "Bye"})
    again = app.post("/v1/snippets", {"name": "footer", "value": "Hello"})

    assert created.status == 200, created.raw
    assert created.json["snippet"]["value"] == "Bye"
    assert again.status == 409
    assert [s["value"] for s in app.get("/v1/snippets").json["snippets"]] == ["Bye"]


def test_the_path_form_takes_value_or_body_and_answers_both(app):
    by_value = app.put("/v1/snippets/greeting", {"value": "Hi"})
    by_body = app.put("/v1/snippets/farewell", {"body": "Bye"})

    assert by_value.json["snippet"] == {**by_value.json["snippet"], "value": "Hi", "body": "Hi"}
    assert by_body.json["snippet"] == {**by_body.json["snippet"], "value": "Bye", "body": "Bye"}


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/v1/snippets", {"value": "no name"}, "/name"),
        ("/v1/snippets", {"name": "main address", "value": "a space"}, "/name"),
        ("/v1/snippets", {"name": "address"}, "/value"),
        ("/v1/snippets", {"name": "address", "value": 7}, "/value"),
        ("/v1/snippets", {"name": "address", "value": "{% if %}"}, "/value"),
        ("/v1/snippets/address", {"value": "a", "body": "b"}, "/body"),
    ],
)
def test_a_bad_snippet_is_refused_naming_its_field(app, path, body, pointer):
    answer = app.put(path, body)

    assert answer.status == 400, answer.raw
    assert _pointer(answer) == pointer
    assert app.get("/v1/snippets").json["snippets"] == []


def test_another_workspace_s_snippets_are_not_seen(app, account):
    other = AppClient(workspaces.create_workspace("Other", "essentials", "2026-01-01").app_api_key)
    assert other.put("/v1/snippets", {"name": "theirs", "value": "x"}).status == 200

    assert app.get("/v1/snippets").json["snippets"] == []
    assert app.delete("/v1/snippets/theirs").status == 404


# --- preview ----------------------------------------------------------------------------------------


def test_preview_renders_without_sending(app, ann, channels):
    template = _create(
        app,
        subject="Order {{ trigger.order }}",
        body="<p>Hi {{ customer.first_name }}, order {{ trigger.order }}</p>",
    )

    answer = app.post(
        f"/v1/templates/{template['id']}/preview",
        {"identifiers": {"id": "ann"}, "message_data": {"order": "A-1"}},
    )

    assert answer.status == 200
    preview = answer.json["preview"]
    assert preview["subject"] == "Order A-1"
    assert preview["html"] == "<p>Hi Ann, order A-1</p>"
    assert preview["text"] == "Hi Ann, order A-1"
    assert preview["to"] == "ann@example.com"
    assert channels.email.sent == []
    assert app.get("/v1/customers/ann/messages").json["messages"] == []


def test_preview_of_a_template_that_fails_to_render_is_400(app, ann, channels):
    template = _create(app, body="<p>{{ 1/0 }}</p>")

    answer = app.post(f"/v1/templates/{template['id']}/preview", {"identifiers": {"id": "ann"}})

    assert answer.status == 400
    assert "division by zero" in answer.raw.decode()


# --- the sandbox ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{{ customer.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.environ }}",
        "{% set x = customer.update({'a': 1}) %}{{ x }}",
    ],
)
def test_a_sandbox_escape_fails_only_its_delivery(app, ws, ann, deliver, channels, body):
    saved = app.post("/v1/templates", {**RECEIPT, "body": body})
    if saved.status == 400:  # refused when saved: as good
        assert _pointer(saved) == "/body"
        return
    template = saved.json["template"]
    escape = campaign(ws, ann, template_id=str(template["id"]))
    fine = campaign(ws, ann)

    outcome = deliver(escape)

    assert outcome.state == states.FAILED
    assert delivery(ws, escape).reason.startswith("template: ")
    assert deliver(fine).state == states.SENT
    assert [e.delivery_id for e in channels.email.sent] == [fine]


# --- delivery settings ------------------------------------------------------------------------------


def test_the_from_address_is_the_sender(app, ann, deliver, channels):
    answer = app.put("/v1/settings/delivery", {"from": "Shop <shop@example.com>"})
    assert answer.status == 200
    assert app.get("/v1/settings/delivery").json["delivery"]["from"] == "Shop <shop@example.com>"
    send = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "b"})

    deliver(send.json["delivery_id"])

    assert channels.email.sent[0].sender == "Shop <shop@example.com>"


def test_an_invalid_from_address_is_refused(app):
    answer = app.put("/v1/settings/delivery", {"from": "not an address"})

    assert answer.status == 400
    assert _pointer(answer) == "/from"


def test_own_smtp_server_sends_and_is_not_billed(app, ws, ann, deliver, channels):
    smtp = {"host": "smtp.example.com", "port": 587, "username": "shop", "password": "hunter2"}
    assert app.put("/v1/settings/delivery", {"smtp": smtp}).status == 200
    send = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "b"})

    assert deliver(send.json["delivery_id"]).state == states.SENT

    assert channels.email.sent == []
    assert [m.to for m in channels.smtp_port.sent] == ["ann@example.com"]
    assert channels.smtp_settings[0].host == "smtp.example.com"
    assert channels.smtp_settings[0].password == "hunter2"
    metered = usage(ws)
    assert metered.messages_own_smtp == 1
    assert dict(metered.messages)["email"] == 0
    assert metered.billable_messages == 0


def test_null_removes_the_smtp_server_and_the_message_limit_and_email_goes_through_ses_again(
    app, ann, deliver, channels
):
    smtp = {"host": "smtp.example.com", "port": 587, "username": "shop", "password": "hunter2"}
    limit = {"count": 3, "days": 7}
    assert app.put("/v1/settings/delivery", {"smtp": smtp, "message_limit": limit}).status == 200

    removed = app.put("/v1/settings/delivery", {"smtp": None, "message_limit": None})

    assert removed.status == 200
    assert (removed.json["delivery"]["smtp"], removed.json["delivery"]["message_limit"]) == (None, None)
    send = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "b"})
    assert deliver(send.json["delivery_id"]).state == states.SENT
    assert [m.to for m in channels.email.sent] == ["ann@example.com"] and channels.smtp_port.sent == []


def test_the_smtp_password_is_never_returned(app):
    smtp = {"host": "smtp.example.com", "username": "shop", "password": "hunter2"}

    put = app.put("/v1/settings/delivery", {"smtp": smtp})
    got = app.get("/v1/settings/delivery")

    for answer in (put, got):
        assert answer.status == 200
        assert answer.json["delivery"]["smtp"]["password_set"] is True
        assert "hunter2" not in answer.raw.decode()


def test_rotating_the_webhook_signing_key_changes_it(app):
    before = app.get("/v1/settings/delivery").json["delivery"]["webhook_signing_key"]

    after = app.put("/v1/settings/delivery", {"rotate_webhook_signing_key": True})

    assert after.status == 200
    key = after.json["delivery"]["webhook_signing_key"]
    assert key != before
    assert app.get("/v1/settings/delivery").json["delivery"]["webhook_signing_key"] == key


# --- webhooks ---------------------------------------------------------------------------------------


def test_webhook_template_is_rendered_and_signed_with_the_workspaces_key(app, ws, ann, deliver, channels):
    template = app.post(
        "/v1/templates",
        {
            "name": "Hook",
            "channel": "webhook",
            "url": "https://hooks.example/{{ customer.id }}",
            "body": '{"id": "{{ customer.id }}"}',
        },
    ).json["template"]
    key = app.get("/v1/settings/delivery").json["delivery"]["webhook_signing_key"]
    delivery_id = campaign(ws, ann, "webhook", template_id=str(template["id"]))

    assert deliver(delivery_id).state == states.SENT

    [hook] = channels.webhook.sent
    assert hook.url == "https://hooks.example/ann"
    assert json.loads(hook.body) == {"id": "ann"}
    assert hook.signing_key == key
    assert hook.method == "POST"


def test_webhook_body_that_is_not_json_fails_the_delivery(app, ws, ann, deliver, channels):
    template = app.post(
        "/v1/templates",
        {
            "name": "Hook",
            "channel": "webhook",
            "url": "https://hooks.example/x",
            "body": "id={{ customer.id }}",
        },
    ).json["template"]
    delivery_id = campaign(ws, ann, "webhook", template_id=str(template["id"]))

    outcome = deliver(delivery_id)

    assert outcome.state == states.FAILED
    assert delivery(ws, delivery_id).reason.startswith("template:")
    assert channels.webhook.sent == []
