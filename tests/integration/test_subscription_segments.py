"""Segments built on subscription state: attribute conditions on ``unsubscribed`` and on
``cio_subscription_preferences.topics.topic_<id>`` (the person's choice, else the topic's default), kept
up to date by the profile stream as choices change. Real evaluate handler fed by the stream pump."""

from __future__ import annotations

from tests.integration.test_segments import create, members


def _topic(field: str, value: bool) -> dict:
    return {
        "attribute": {
            "field": f"cio_subscription_preferences.topics.{field}",
            "operator": "eq",
            "value": value,
        }
    }


def test_a_segment_of_people_subscribed_to_a_topic_follows_their_choices(app, track, pump):
    app.post("/v1/subscription_topics", {"name": "News"})  # topic_1, opt-out
    app.post("/v1/subscription_topics", {"name": "Offers", "subscribed_by_default": False})  # topic_2
    news, offers = (
        create(app, "News readers", _topic("topic_1", True)),
        create(app, "Offer takers", _topic("topic_2", True)),
    )
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    track.put("/api/v1/customers/bob", {"cio_subscription_preferences": {"topics": {"topic_2": True}}})
    assert pump.wait_idle()
    # Opt-out News holds everybody who never left it; opt-in Offers only those who chose it.
    assert members(app, news) == ["ann", "bob"]
    assert members(app, offers) == ["bob"]

    track.put("/api/v1/customers/ann", {"cio_subscription_preferences.topics.topic_1": False})
    track.put("/api/v1/customers/ann", {"cio_subscription_preferences": {"topics": {"topic_2": True}}})
    assert pump.wait_idle()

    assert members(app, news) == ["bob"]
    assert members(app, offers) == ["ann", "bob"]


def test_a_segment_of_unsubscribed_people(app, track, pump):
    gone = create(
        app, "Unsubscribed", {"attribute": {"field": "unsubscribed", "operator": "eq", "value": True}}
    )
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    assert pump.wait_idle()
    assert members(app, gone) == []

    track.put("/api/v1/customers/ann", {"unsubscribed": True})
    assert pump.wait_idle()

    assert members(app, gone) == ["ann"]


def test_only_a_condition_on_topics_reads_the_workspaces_topics(ws, track, monkeypatch):
    # The minutely sweep's re-checks evaluate segments with no grant on the table topics are kept in.
    from nudge.segments.conditions import evaluate, parse
    from nudge.segments.context import StoredPerson
    from nudge.subscriptions import topics
    from tests.support.deliveries import cio_id

    track.put("/api/v1/customers/ann", {"plan": "pro", "unsubscribed": True})
    reads: list[str] = []
    monkeypatch.setattr(topics, "cached", lambda workspace_id: reads.append(workspace_id) or ())
    person = StoredPerson.load(ws, cio_id(ws, "ann"))
    assert person is not None

    plan = {"and": [{"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}]}
    gone = {"attribute": {"field": "unsubscribed", "operator": "eq", "value": True}}
    assert evaluate(parse(plan), person).matched and evaluate(parse(gone), person).matched
    assert reads == []

    assert not evaluate(parse(_topic("topic_9", True)), person).matched  # no such topic, no choice
    assert reads == [ws]
