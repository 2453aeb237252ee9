"""The send gate and subscription topics: each topic's default (opt-out, opt-in), a person's choice, the
topic a campaign's send block or a template names, and transactional messages, exempt unless their
template says otherwise. Real pipeline with fake channels."""

from __future__ import annotations

import pytest

from nudge.delivery import states
from nudge.model.deliveries import Delivery
from tests.support.deliveries import campaign, cio_id, delivery


@pytest.fixture
def ann(track):
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com"}).status == 200
    return "ann"


@pytest.fixture
def news(app):
    """topic_1, opt-out: everybody gets it until they leave it."""
    return app.post("/v1/subscription_topics", {"name": "News"}).json["topic"]["identifier"]


@pytest.fixture
def offers(app):
    """topic_2, opt-in: nobody gets it until they choose it."""
    body = {"name": "Offers", "subscribed_by_default": False}
    return app.post("/v1/subscription_topics", body).json["topic"]["identifier"]


def _choose(track, **choices: bool) -> None:
    _choose_for(track, "ann", **choices)


def _choose_for(track, person: str, **choices: bool) -> None:
    body = {"cio_subscription_preferences": {"topics": choices}}
    assert track.put(f"/api/v1/customers/{person}", body).status == 200


def _template(app, **fields) -> str:
    body = {"name": "Deal", "channel": "email", "subject": "Deal", "body": "<p>Deal</p>", **fields}
    answer = app.post("/v1/templates", body)
    assert answer.status == 200, answer.raw
    return str(answer.json["template"]["id"])


def test_an_opt_out_topic_reaches_people_until_they_leave_it(ws, track, ann, news, offers, deliver):
    assert deliver(campaign(ws, ann, topic=news)).state == states.SENT

    _choose(track, **{news: False})

    stopped = deliver(campaign(ws, ann, topic=news))
    assert stopped.state == states.UNDELIVERABLE
    assert stopped.reason is not None and stopped.reason.startswith("topic_opt_out")


def test_an_opt_in_topic_reaches_only_people_who_chose_it(ws, track, ann, offers, deliver, channels):
    first = deliver(campaign(ws, ann, topic=offers))
    assert first.state == states.UNDELIVERABLE
    assert first.reason is not None and first.reason.startswith("topic_not_opted_in")

    _choose(track, **{offers: True})

    assert deliver(campaign(ws, ann, topic=offers)).state == states.SENT
    assert len(channels.email.sent) == 1


def test_a_changed_default_reaches_people_who_never_chose(app, ws, ann, news, deliver):
    assert app.put(f"/v1/subscription_topics/{news}", {"subscribed_by_default": False}).status == 200

    # The very next send reads the new default: the API's change clears this process's cache.
    assert deliver(campaign(ws, ann, topic=news)).state == states.UNDELIVERABLE


def test_a_templates_topic_gates_a_campaign_message(app, ws, track, ann, news, deliver):
    template_id = _template(app, topic_id=news)
    assert app.get(f"/v1/templates/{template_id}").json["template"]["topic_id"] == 1
    _choose(track, **{news: False})

    outcome = deliver(campaign(ws, ann, template_id=template_id))

    assert outcome.state == states.UNDELIVERABLE
    assert delivery(ws, outcome.delivery_id).reason.startswith("topic_opt_out")


def test_a_transactional_message_ignores_topics_and_unsubscribing_by_default(app, track, ann, news, deliver):
    template_id = _template(app, topic_id=news)
    _choose(track, **{news: False})
    track.put("/api/v1/customers/ann", {"unsubscribed": True})

    answer = app.post("/v1/send/email", {"transactional_message_id": template_id, "identifiers": {"id": ann}})

    assert deliver(answer.json["delivery_id"]).state == states.SENT


def test_a_transactional_template_can_honour_its_topic(app, track, ann, news, deliver):
    template_id = _template(app, topic_id=news, send_to_unsubscribed=False)
    send = {"transactional_message_id": template_id, "identifiers": {"id": ann}}
    assert deliver(app.post("/v1/send/email", send).json["delivery_id"]).state == states.SENT

    _choose(track, **{news: False})

    stopped = deliver(app.post("/v1/send/email", send).json["delivery_id"])
    assert stopped.state == states.UNDELIVERABLE
    assert stopped.reason is not None and stopped.reason.startswith("topic_opt_out")
    # The request still has the last word, as Customer.io's send_to_unsubscribed does.
    forced = app.post("/v1/send/email", {**send, "send_to_unsubscribed": True})
    assert deliver(forced.json["delivery_id"]).state == states.SENT


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"topic_id": 9}, "/topic_id"),
        ({"topic_id": "news"}, "/topic_id"),
        ({"send_to_unsubscribed": "no"}, "/send_to_unsubscribed"),
    ],
)
def test_a_templates_bad_topic_is_a_400_naming_the_field(app, news, fields, pointer):
    body = {"name": "Deal", "channel": "email", "subject": "Deal", "body": "<p>Deal</p>", **fields}
    answer = app.post("/v1/templates", body)
    assert answer.status == 400, answer.raw
    assert answer.json["errors"][0]["source"]["pointer"] == pointer


def test_an_in_app_template_has_no_topic(app, news):
    answer = app.post("/v1/templates", {"name": "Hi", "channel": "in_app", "body": "Hi", "topic_id": news})
    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == "/topic_id"


def _campaign(topic_id, channel="email", template_id="1"):
    return {
        "campaign": {
            "name": "Deals",
            "trigger": {"type": "event", "name": "browsed"},
            "workflow": {
                "start": "b1",
                "blocks": {
                    "b1": {
                        "type": "send",
                        "channel": channel,
                        "template_id": template_id,
                        "topic_id": topic_id,
                    }
                },
            },
        }
    }


def test_a_send_block_names_a_topic_of_the_workspace(app, news):
    template_id = _template(app)

    saved = app.post("/v1/campaigns", _campaign(news, template_id=template_id))
    unknown = app.post("/v1/campaigns", _campaign(7, template_id=template_id))
    malformed = app.post("/v1/campaigns", _campaign("news", template_id=template_id))

    assert saved.status == 200, saved.raw
    assert saved.json["campaign"]["workflow"]["blocks"]["b1"]["topic_id"] == 1
    for answer in (unknown, malformed):
        assert answer.status == 400, answer.raw
        assert answer.json["errors"][0]["source"]["pointer"] == "/campaign/workflow/blocks/b1/topic_id"


def test_a_one_send_broadcast_that_queues_its_own_messages_honours_the_blocks_topic(
    app, ws, track, news, deliver, channels
):
    # A one-send campaign's broadcast page queues its messages without executions (direct_sends): the
    # block's topic must reach them as the compiled send step's does.
    from tests.integration.test_campaign_broadcasts import run_pages, trigger
    from tests.support.workflows import fake_workflows

    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    track.put("/api/v1/customers/bob", {"email": "bob@example.com"})
    _choose_for(track, "bob", **{news: False})
    block = {"type": "send", "channel": "email", "template_id": _template(app), "topic_id": news}
    body = {"name": "News", "trigger": {"type": "api"}, "workflow": {"start": "b1", "blocks": {"b1": block}}}
    with fake_workflows():
        campaign_id = app.post("/v1/campaigns", {"campaign": body}).json["campaign"]["id"]
        assert app.post(f"/v1/campaigns/{campaign_id}/activate", {}).status == 200
        run_pages(ws, campaign_id, trigger(ws, campaign_id, {"ids": ["ann", "bob"]}))

    outcomes = {
        found.cio_id: deliver(found.delivery_id)
        for found in Delivery.scan()
        if found.workspace_id == ws and found.campaign_id == campaign_id
    }

    assert {cio: o.state for cio, o in outcomes.items()} == {
        cio_id(ws, "ann"): states.SENT,
        cio_id(ws, "bob"): states.UNDELIVERABLE,
    }
    assert [email.to for email in channels.email.sent] == ["ann@example.com"]
