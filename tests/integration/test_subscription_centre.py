"""The hosted subscription centre through the real links handler: reached by the signed link in a
message, it shows each topic's state, saves changes as Customer.io writes them, unsubscribes from all and
resubscribes; the very next send honours it; tampered, foreign and form-less requests change nothing."""

from __future__ import annotations

import os
import re
from urllib.parse import urlencode, urlsplit

import pytest

from functions.links import handler as links_handler
from nudge import workspaces
from nudge.delivery import centre_links, links, states, subscription_centre
from tests.support.deliveries import campaign, cio_id, delivery, metrics
from tests.support.people import profile
from tests.support.track import Answer, TrackClient, invoke

SECRET = os.environ["NUDGE_LINK_SECRET"].encode()
BODY = '<p>Deals</p><p><a href="{{ subscription_center_url }}">Manage preferences</a></p>'


def _get(path: str) -> Answer:
    return invoke("GET", path, handler=links_handler.handler)


def _post(path: str, form: dict[str, str] | str) -> Answer:
    body = form if isinstance(form, str) else urlencode(form)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return invoke("POST", path, headers=headers, body=body, handler=links_handler.handler)


def _form_token(page: Answer) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', page.raw.decode())
    assert match, page.raw
    return match.group(1)


def _checked(page: Answer) -> dict[str, bool]:
    boxes = re.findall(r'<input type="checkbox" id="(topic_\d+)"([^>]*)>', page.raw.decode())
    return {name: " checked" in rest for name, rest in boxes}


@pytest.fixture
def topics(app):
    app.post("/v1/subscription_topics", {"name": "News", "description": "What is new, monthly"})
    app.post("/v1/subscription_topics", {"name": "Offers", "subscribed_by_default": False})
    return "topic_1", "topic_2"


@pytest.fixture
def centre(ws, track, topics, deliver, channels) -> str:
    """The centre's path, from the link in an email ann was sent."""
    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "Ann"})
    delivery_id = campaign(ws, "ann", content={"subject": "Deals", "body": BODY})
    assert deliver(delivery_id).state == states.SENT
    [link] = re.findall(r'href="([^"]*/t/s/[^"]+)"', channels.email.sent[-1].html)
    return urlsplit(link).path


def test_the_link_in_a_message_opens_the_persons_centre(centre, topics):
    page = _get(centre)

    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "form-action 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store, private"
    text = page.raw.decode()
    assert "<fieldset><legend>" in text and '<label for="topic_1">' in text
    assert "What is new, monthly" in text
    assert 'name="viewport"' in text
    # Opt-out News is on by default; opt-in Offers off until chosen.
    assert _checked(page) == {"topic_1": True, "topic_2": False}


def test_saving_writes_only_what_changed_as_customerio_does(ws, centre, deliver):
    page = _get(centre)

    answer = _post(centre, {"form_token": _form_token(page), "action": "save", "topic_2": "on"})

    assert answer.status == 200, answer.raw
    assert "Your preferences are saved." in answer.raw.decode()
    assert _checked(answer) == {"topic_1": False, "topic_2": True}
    # News unticked, Offers ticked: both written as choices, the Customer.io way.
    assert profile(ws, "ann")["subscription_preferences"] == {"topics.topic_1": False, "topics.topic_2": True}
    # The very next sends honour it.
    assert deliver(campaign(ws, "ann", topic="topic_1")).state == states.UNDELIVERABLE
    assert deliver(campaign(ws, "ann", topic="topic_2")).state == states.SENT


def test_a_topic_left_at_its_default_keeps_following_it(app, ws, centre):
    page = _get(centre)
    _post(centre, {"form_token": _form_token(page), "action": "save", "topic_1": "on", "topic_2": "on"})

    assert profile(ws, "ann")["subscription_preferences"] == {"topics.topic_2": True}


def test_unsubscribing_from_all_and_resubscribing(ws, centre, deliver):
    page = _get(centre)
    token = _form_token(page)
    delivery_id = centre_links.read(centre.rsplit("/", 1)[1]).delivery_id

    gone = _post(centre, {"form_token": token, "action": "unsubscribe_all"})

    assert gone.status == 200
    assert "You are unsubscribed from all our messages" in gone.raw.decode()
    assert profile(ws, "ann")["unsubscribed"] is True
    # Recorded on the message it came in, as the one-click unsubscribe records it.
    assert delivery_id is not None and states.UNSUBSCRIBED in metrics(ws, delivery_id)
    assert deliver(campaign(ws, "ann")).state == states.UNDELIVERABLE

    back = _post(centre, {"form_token": token, "action": "resubscribe"})

    assert "You are subscribed again." in back.raw.decode()
    assert profile(ws, "ann")["unsubscribed"] is False
    assert deliver(campaign(ws, "ann")).state == states.SENT


def test_a_post_without_the_pages_form_token_changes_nothing(ws, centre, app):
    app.post("/v1/subscription_topics", {"name": "Other"})
    other_page = _get(centre.replace("/t/s/", "/t/s/"))  # the same page: its form token is valid
    forged = subscription_centre.form_token("some-other-page-token")

    for form in (
        {"action": "unsubscribe_all"},
        "List-Unsubscribe=One-Click",
        {"form_token": forged, "action": "unsubscribe_all"},
        {"form_token": _form_token(other_page)[:-3] + "AAA", "action": "unsubscribe_all"},
    ):
        answer = _post(centre, form)
        assert answer.status == 400, (form, answer.raw)

    assert profile(ws, "ann")["unsubscribed"] is False


def test_a_tampered_token_is_a_404_and_changes_nothing(ws, centre):
    page = _get(centre)
    token = centre.rsplit("/", 1)[1]
    payload, _, signature = token.partition(".")
    altered = f"/t/s/{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"

    assert _get(altered).status == 404
    assert _post(altered, {"form_token": _form_token(page), "action": "unsubscribe_all"}).status == 404
    assert _get("/t/s/not-a-token").status == 404
    assert profile(ws, "ann")["unsubscribed"] is False


def test_a_token_made_for_another_purpose_is_refused(ws, track):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    unsubscribe = links.sign(SECRET, links.UNSUBSCRIBE, {"w": ws, "p": cio_id(ws, "ann")})

    assert _get(f"/t/s/{unsubscribe}").status == 404


def test_another_workspaces_person_cannot_be_reached(ws, centre, account):
    keys = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    TrackClient(keys.site_id, keys.track_api_key).put("/api/v1/customers/bob", {"email": "b@example.com"})
    bob = cio_id(keys.workspace_id, "bob")
    # Our signature over a payload rewritten to name bob's workspace: refused.
    payload = centre_links.token(SECRET, keys.workspace_id, bob, None).partition(".")[0]
    forged = payload + "." + centre.rsplit("/", 1)[1].partition(".")[2]
    # A valid token of ann's workspace naming bob's id finds nobody there.
    crossed = centre_links.token(SECRET, ws, bob, None)

    assert _get(f"/t/s/{forged}").status == 404
    assert _get(f"/t/s/{crossed}").status == 404


def test_a_deleted_persons_link_is_a_404(ws, track, centre):
    track.delete("/api/v1/customers/ann")

    assert _get(centre).status == 404


def test_the_centre_wears_the_workspaces_name_and_colours(app, centre):
    look = {"name": "Acme <Shop>", "accent_color": "#aa3300", "background_color": "#fafafa"}
    assert app.put("/v1/settings/subscription_center", look).status == 200

    text = _get(centre).raw.decode()

    assert "Acme &lt;Shop&gt;: your preferences" in text
    assert "--accent:#aa3300" in text and "--bg:#fafafa" in text


def test_a_form_that_is_not_text_is_a_400(centre):
    answer = invoke("POST", centre, body=b"\xff\xfe", handler=links_handler.handler)
    assert answer.status == 400


def test_each_change_is_an_activity(app, ws, centre, pump):
    page = _get(centre)
    token = _form_token(page)
    _post(centre, {"form_token": token, "action": "save"})
    _post(centre, {"form_token": token, "action": "unsubscribe_all"})
    _post(centre, {"form_token": token, "action": "resubscribe"})
    assert pump.wait_idle(timeout=20)

    found = app.get("/v1/customers/ann/activities?limit=50").json["activities"]

    kinds = [a["type"] for a in found if not a["type"].endswith("_email") and a["type"] != "attribute_change"]
    # All in one second: listed newest first, in no set order among themselves.
    assert sorted(kinds) == [
        "cio_subscription_preferences_changed",
        "customer_subscribed",
        "customer_unsubscribed",
    ]
    [changed] = [a for a in found if a["type"] == "cio_subscription_preferences_changed"]
    assert changed["data"] == {"topics": {"topic_1": False}}
    assert delivery(ws, centre_links.read(centre.rsplit("/", 1)[1]).delivery_id or "").state == (
        states.UNSUBSCRIBED
    )


def test_a_centre_link_is_minted_for_a_person_as_customerios_api_does(app, ws, track, topics):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})

    answer = app.get("/v1/subscription_center/ann@example.com/token?id_type=email")

    assert answer.status == 200, answer.raw
    token, url = answer.json["token"], answer.json["url"]
    assert url.endswith(f"/t/s/{token}")
    assert centre_links.read(token) == centre_links.Target(ws, cio_id(ws, "ann"), None)
    page = _get(urlsplit(url).path)
    assert page.status == 200
    # Unsubscribing from a link that came in no message still unsubscribes the person.
    _post(urlsplit(url).path, {"form_token": _form_token(page), "action": "unsubscribe_all"})
    assert profile(ws, "ann")["unsubscribed"] is True


def test_a_centre_link_for_nobody_is_a_400_naming_the_customer(app, track):
    answer = app.get("/v1/subscription_center/bob/token")

    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == "/customer_id"


def test_a_templates_test_sent_to_its_author_links_nobodys_centre(app, ws, track, deliver, channels):
    from nudge.delivery import template_tests

    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    template = app.post(
        "/v1/templates", {"name": "News", "channel": "email", "subject": "News", "body": BODY}
    ).json["template"]
    queued = template_tests.queue_test(
        ws, str(template["id"]), to="author@acme.test", identifiers={"id": "ann"}, message_data=None
    )
    assert deliver(queued["delivery_id"]).state == states.SENT

    [link] = re.findall(r'href="([^"]*/t/s/[^"]+)"', channels.email.sent[-1].html)

    assert _get(urlsplit(link).path).status == 404  # the author cannot change ann's preferences


def test_a_profile_that_keeps_changing_under_a_save_is_a_409_to_try_again(centre, monkeypatch):
    from nudge.errors import Conflict
    from nudge.subscriptions import preferences

    page = _get(centre)

    def busy(*_args, **_kwargs):
        raise Conflict("person is being changed concurrently; retry")

    monkeypatch.setattr(preferences, "change", busy)
    answer = _post(centre, {"form_token": _form_token(page), "action": "save"})

    assert answer.status == 409
    assert "try again" in answer.raw.decode()
