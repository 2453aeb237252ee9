"""Liquid through the App API: a new workspace writes Liquid, an older one keeps Jinja, save-time errors
name the tag or filter, and templates, layouts, snippets and inline content render in their languages."""

from __future__ import annotations

import json

import pytest

from nudge.delivery import settings as delivery_settings
from nudge.delivery import states
from nudge.delivery.template_store import templates_pk
from nudge.model.deliveries import Template
from nudge_tools import cli
from tests.support.deliveries import campaign, delivery
from tests.support.track import AppClient

ORDER = {
    "name": "Receipt",
    "channel": "email",
    "subject": "{{ customer.first_name | capitalize }}, order {{ event.order_id }}",
    "body": (
        "{% assign total = 0 %}<ul>{% for item in event.items %}"
        "{% assign line = item.price | times: item.quantity %}{% assign total = total | plus: line %}"
        "<li>{{ item.quantity }} x {{ item.name }}: ${{ line }}</li>{% endfor %}</ul>"
        "<p>Total ${{ total }}</p>{{ snippets.footer }}"
    ),
}
EVENT = {
    "name": "order_completed",
    "order_id": "A-77",
    "items": [{"name": "Socks", "price": 12.25, "quantity": 3}, {"name": "Hat", "price": 20, "quantity": 1}],
}


def _error(answer) -> tuple[str, str]:
    [error] = answer.json["errors"]
    return str(error["source"]["pointer"]), json.dumps(error)


@pytest.fixture
def new_ws(ws: str) -> str:
    """A workspace as ``nudge workspace create`` and the local runtime make one today."""
    delivery_settings.start_new_workspace(ws)
    return ws


@pytest.fixture
def ann(track):
    answer = track.put(
        "/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "ann", "plan": "pro"}
    )
    assert answer.status == 200
    return "ann"


def test_a_workspace_created_by_the_cli_writes_liquid(account, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # away from any running local runtime's .nudge/local.json
    assert cli.main(["workspace", "create", "--name", "Acme", "--plan", "essentials", "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)
    app = AppClient(keys["app_api_key"])

    assert app.get("/v1/settings/delivery").json["delivery"]["template_language"] == "liquid"
    created = app.post("/v1/templates", {**ORDER}).json["template"]
    assert created["language"] == "liquid"


def test_new_content_takes_the_workspace_default(app, new_ws):
    template = app.post("/v1/templates", ORDER).json["template"]
    layout = app.post("/v1/layouts", {"name": "L", "body": "<main>{{ content }}</main>"}).json["layout"]
    snippet = app.put("/v1/snippets", {"name": "footer", "value": "<footer>{{ 'x' | upcase }}</footer>"})

    assert template["language"] == layout["language"] == snippet.json["snippet"]["language"] == "liquid"
    assert app.get(f"/v1/templates/{template['id']}").json["template"]["language"] == "liquid"


def test_a_workspace_from_before_languages_keeps_jinja(app, ws):
    template = app.post("/v1/templates", {**ORDER, "subject": "{{ customer.first_name|title }}", "body": "x"})

    assert app.get("/v1/settings/delivery").json["delivery"]["template_language"] == "jinja"
    assert template.status == 200 and template.json["template"]["language"] == "jinja"
    refused = app.post("/v1/templates", ORDER)  # Liquid's assign is not Jinja
    assert (
        refused.status == 400
        and _error(refused)[0] == "/body"
        and "unknown tag 'assign'" in _error(refused)[1]
    )


def test_a_template_stored_before_languages_renders_as_jinja(app, new_ws, ann, deliver, channels):
    # Written as the previous release wrote it: no language attribute at all.
    Template(
        templates_pk(new_ws),
        "t#900",
        workspace_id=new_ws,
        template_id="900",
        name="Old",
        channel="email",
        body_json=json.dumps(
            {"subject": "Hi {{ customer.first_name|title }}", "body": "<p>{{ 2 ** 3 }}</p>"}
        ),
        created_at=1,
        updated_at=1,
    ).save()

    assert app.get("/v1/templates/900").json["template"]["language"] == "jinja"
    assert deliver(campaign(new_ws, ann, template_id="900")).state == states.SENT
    [email] = channels.email.sent
    assert email.subject == "Hi Ann" and "<p>8</p>" in email.html


@pytest.mark.parametrize(
    ("fields", "pointer", "named"),
    [
        ({"body": "<p>{% include 'footer' %}</p>"}, "/body", "unexpected tag 'include'"),
        ({"body": "<p>{% frobnicate %}</p>"}, "/body", "unexpected tag 'frobnicate'"),
        ({"subject": "Hi\n{{ customer.first_name | shout }}"}, "/subject", "line 2: unknown filter 'shout'"),
        ({"subject": "{{ customer.first_name|title }}"}, "/subject", "unknown filter 'title'"),
        ({"body": "{% if customer.vip %}VIP"}, "/body", "endif"),
        ({"language": "handlebars"}, "/language", "language must be one of liquid, jinja"),
    ],
)
def test_a_bad_liquid_template_is_a_400_naming_it_when_saved(app, new_ws, fields, pointer, named):
    answer = app.post("/v1/templates", {**ORDER, **fields})

    assert answer.status == 400
    where, error = _error(answer)
    assert where == pointer and named in error
    assert app.get("/v1/templates").json["templates"] == []


def test_layouts_and_snippets_are_checked_in_their_language(app, new_ws):
    layout = app.post("/v1/layouts", {"name": "L", "body": "{{ content }}{{ year | frob }}"})
    snippet = app.put("/v1/snippets", {"name": "s", "value": "{% render 'x' %}"})
    jinja_snippet = app.put("/v1/snippets", {"name": "j", "value": "{{ a|title }}", "language": "jinja"})

    assert layout.status == 400 and "unknown filter 'frob'" in _error(layout)[1]
    assert snippet.status == 400 and "unexpected tag 'render'" in _error(snippet)[1]
    assert jinja_snippet.status == 200 and jinja_snippet.json["snippet"]["language"] == "jinja"


def test_an_update_keeps_the_stored_language_unless_told(app, new_ws):
    created = app.post(
        "/v1/templates", {**ORDER, "language": "jinja", "subject": "{{ a|title }}", "body": "x"}
    ).json
    template_id = created["template"]["id"]

    kept = app.put(f"/v1/templates/{template_id}", {"subject": "{{ b|upper }}", "body": "x"})
    moved = app.put(
        f"/v1/templates/{template_id}", {"subject": "{{ b | upcase }}", "body": "x", "language": "liquid"}
    )

    assert kept.status == 200 and kept.json["template"]["language"] == "jinja"
    assert moved.status == 200 and moved.json["template"]["language"] == "liquid"


def test_a_campaign_renders_liquid_with_event_items_a_liquid_layout_and_a_jinja_snippet(
    app, new_ws, ann, deliver, channels
):
    app.put(
        "/v1/snippets",
        {"name": "footer", "value": "<footer>{{ customer.plan|upper }}</footer>", "language": "jinja"},
    )
    layout = app.post(
        "/v1/layouts",
        {"name": "Brand", "body": "<html><body>{{ content }}<p>{{ 'bye' | capitalize }}</p></body></html>"},
    ).json["layout"]
    template = app.post("/v1/templates", {**ORDER, "layout_id": layout["id"]}).json["template"]

    outcome = deliver(campaign(new_ws, ann, template_id=str(template["id"]), event=EVENT))

    assert outcome.state == states.SENT
    [email] = channels.email.sent
    assert email.subject == "Ann, order A-77"
    assert "<ul><li>3 x Socks: $36.75</li><li>1 x Hat: $20</li></ul><p>Total $56.75</p>" in email.html
    assert "<footer>PRO</footer><p>Bye</p>" in email.html and email.html.startswith("<html><body><ul>")


def test_a_snippet_saved_with_a_new_template_renders_though_the_snippets_were_just_read(
    app, new_ws, ann, deliver, channels
):
    # The README's order: a send reads the workspace's snippets (none yet); then a snippet and a template
    # naming it are saved and sent at once. The template is newer than that read, so it is read again.
    first = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "<p>1</p>"})
    assert deliver(first.json["delivery_id"]).state == states.SENT
    app.put("/v1/snippets", {"name": "help", "value": "<p>Questions? Just reply.</p>"})
    receipt = {"name": "R", "channel": "email", "trigger_name": "receipt", "subject": "s"}
    app.post("/v1/templates", {**receipt, "body": "<p>2</p>{{ snippets.help }}"})
    send = app.post("/v1/send/email", {"transactional_message_id": "receipt", "identifiers": {"id": "ann"}})

    assert deliver(send.json["delivery_id"]).state == states.SENT
    assert "<p>2</p><p>Questions? Just reply.</p>" in channels.email.sent[-1].html


def test_inline_transactional_content_is_in_the_workspace_default(app, new_ws, ann, deliver, channels):
    send = app.post(
        "/v1/send/email",
        {
            "identifiers": {"id": "ann"},
            "subject": "{{ customer.nickname | default: customer.first_name | upcase }}",
            "body": "<p>{{ trigger.code | default: 'none' }}</p>",
            "message_data": {"code": "WINTER25"},
        },
    )
    assert send.status == 200, send.raw
    # The default changing after the message was queued does not change how it renders.
    assert app.put("/v1/settings/delivery", {"template_language": "jinja"}).status == 200

    assert deliver(send.json["delivery_id"]).state == states.SENT
    [email] = channels.email.sent
    assert email.subject == "ANN" and "<p>WINTER25</p>" in email.html


def test_inline_content_in_the_wrong_language_is_a_400_naming_it(app, new_ws, ann):
    answer = app.post(
        "/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "{{ x|title }}", "body": "b"}
    )

    assert answer.status == 400
    where, error = _error(answer)
    assert where == "/subject" and "unknown filter 'title'" in error


def test_a_template_in_either_language_fills_in_inline_overrides_in_the_workspace_default(
    app, new_ws, ann, deliver, channels
):
    template = app.post(
        "/v1/templates",
        {**ORDER, "language": "jinja", "subject": "{{ customer.first_name|title }}", "body": "x"},
    )
    send = app.post(
        "/v1/send/email",
        {
            "identifiers": {"id": "ann"},
            "transactional_message_id": template.json["template"]["id"],
            "body": "<p>{{ customer.first_name | upcase }}</p>",
        },
    )

    deliver(send.json["delivery_id"])
    [email] = channels.email.sent
    assert email.subject == "Ann" and "<p>ANN</p>" in email.html
    assert json.loads(delivery(new_ws, send.json["delivery_id"]).request_json)["language"] == "liquid"


def test_the_default_language_is_a_setting_checked_by_name(app, new_ws):
    refused = app.put("/v1/settings/delivery", {"template_language": "mustache"})
    changed = app.put("/v1/settings/delivery", {"template_language": "jinja"})

    assert refused.status == 400 and _error(refused)[0] == "/template_language"
    assert changed.json["delivery"]["template_language"] == "jinja"
    assert (
        app.post("/v1/templates", {**ORDER, "subject": "x", "body": "{{ a|e }}"}).json["template"]["language"]
        == "jinja"
    )


def test_preview_renders_liquid(app, new_ws, ann, channels):
    template = app.post("/v1/templates", {**ORDER, "body": "<p>{{ trigger.code | downcase }}</p>"}).json[
        "template"
    ]

    answer = app.post(
        f"/v1/templates/{template['id']}/preview",
        {"identifiers": {"id": "ann"}, "message_data": {"code": "ABC"}},
    )

    assert answer.status == 200, answer.raw
    assert "<p>abc</p>" in answer.json["preview"]["html"]
    assert channels.email.sent == []
