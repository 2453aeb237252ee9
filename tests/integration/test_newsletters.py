"""Newsletters through the App API (``/v1/newsletters``): an audience with exclusions sent now without an
execution per person, variants with metrics per variant, an A/B test that picks its winner by open rate
after its time, a send at each recipient's local time, a cancel before the start, test sends, and
refusals naming the field. The broadcast machine's pages are run by hand, as its Task would."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nudge import clock, composition
from nudge.campaigns import broadcast_machine, broadcasts, newsletters
from nudge.delivery import feedback, records, states
from nudge.model.deliveries import Delivery
from tests.support.deliveries import cio_id
from tests.support.workflows import fake_workflows

PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}


@pytest.fixture
def fake(account: None):
    composition.connect()  # delivery outcomes reach the campaign counters, as in the functions
    with fake_workflows() as recorded:
        yield recorded


def people(track, *names: str, **attributes: Any) -> None:
    for name in names:
        assert (
            track.put(f"/api/v1/customers/{name}", {"email": f"{name}@example.com", **attributes}).status
            == 200
        )


def created(app, body: dict[str, Any]) -> dict[str, Any]:
    answer = app.post("/v1/newsletters", {"name": "Weekly", **body})
    assert answer.status == 200, answer.json
    return dict(answer.json["newsletter"])


def run_broadcasts(ws: str, fake, newsletter: dict[str, Any]) -> None:
    """Every started broadcast of the newsletter, page after page, as the machine would."""
    campaign_id = newsletters.campaign_id(newsletter["id"])
    for started in fake.broadcasts():
        if started.payload["campaign_id"] != campaign_id:
            continue
        cursor = None
        for _ in range(100):
            result = broadcasts.page_step(
                {**started.payload, "action": broadcast_machine.ACTION, "cursor": cursor}
            )
            if result["done"] or result["wait_seconds"]:
                break
            cursor = result["cursor"]


def deliveries(ws: str, newsletter: dict[str, Any]) -> list[Delivery]:
    campaign_id = newsletters.campaign_id(newsletter["id"])
    return [d for d in Delivery.scan() if d.workspace_id == ws and d.campaign_id == campaign_id]


def send_all(ws: str, deliver, newsletter: dict[str, Any]) -> None:
    for found in deliveries(ws, newsletter):
        deliver(found.delivery_id)


def test_a_newsletter_to_a_segment_minus_exclusions_goes_out_now(ws, app, track, fake, deliver, channels):
    people(track, "ann", "bob", plan="pro")
    people(track, "cat", plan="free")
    people(track, "dan", plan="pro")
    segment = app.post("/v1/segments", {"segment": {"name": "Readers"}}).json["segment"]["id"]
    track.post(f"/api/v1/segments/{segment}/add_customers", {"ids": ["ann", "bob", "cat"]})
    recipients = {
        "and": [
            {"segment": {"id": segment}},
            {"not": {"attribute": {"field": "plan", "operator": "eq", "value": "free"}}},
        ]
    }

    newsletter = created(
        app,
        {
            "recipients": recipients,
            "subject": "Hello {{ customer.id }}",
            "body": "<p>news</p>",
            "send_now": True,
        },
    )
    run_broadcasts(ws, fake, newsletter)
    send_all(ws, deliver, newsletter)

    assert sorted(m.subject for m in channels.email.sent) == ["Hello ann", "Hello bob"]
    assert fake.journeys() == []  # the pages queued the messages: no execution per person
    found = app.get(f"/v1/newsletters/{newsletter['id']}").json["newsletter"]
    assert found["state"] == "sent" and found["recipient_segment_ids"] == [int(segment)]
    assert found["broadcasts"]["all"]["started"] == 2
    counts = app.get(f"/v1/newsletters/{newsletter['id']}/metrics").json
    assert counts["metric"]["sent"] == 2 and counts["variants"]["1"]["sent"] == 2
    assert [n["id"] for n in app.get("/v1/newsletters").json["newsletters"]] == [newsletter["id"]]


def test_variants_split_the_audience_and_are_measured_apart(ws, app, track, fake, deliver, channels):
    names = [f"p{n:02d}" for n in range(30)]
    people(track, *names)
    variants = [{"subject": "A", "body": "<p>a</p>"}, {"subject": "B", "body": "<p>b</p>"}]
    newsletter = created(app, {"variants": variants, "send_now": True})
    run_broadcasts(ws, fake, newsletter)
    send_all(ws, deliver, newsletter)
    sent = channels.email.sent
    assert len(sent) == 30 and {m.subject for m in sent} == {"A", "B"}
    for found in deliveries(ws, newsletter):
        if records_subject(found) == "A":
            feedback.opened(ws, found.delivery_id, clock.now())

    counts = app.get(f"/v1/newsletters/{newsletter['id']}/metrics").json
    a, b = counts["variants"]["1"], counts["variants"]["2"]
    assert a["sent"] + b["sent"] == 30 and a["sent"] == sum(m.subject == "A" for m in sent)
    assert a["opened"] == a["sent"] and b["opened"] == 0
    assert app.get(f"/v1/newsletters/{newsletter['id']}/contents/2/metrics").json["metric"] == b
    assert app.get(f"/v1/newsletters/{newsletter['id']}/contents/2").json["content"]["subject"] == "B"


def records_subject(found: Delivery) -> str:
    return str((records.content_of(found) or {}).get("subject"))


def test_an_ab_test_sends_the_winner_by_open_rate_to_the_rest(
    ws, app, track, fake, deliver, channels, monkeypatch
):
    names = [f"p{n:02d}" for n in range(40)]
    people(track, *names)
    variants = [{"subject": "A", "body": "<p>a</p>"}, {"subject": "B", "body": "<p>b</p>"}]
    test = {"test_percent": 50, "metric": "open", "wait_seconds": 3600}
    now = clock.now()
    newsletter = created(app, {"variants": variants, "ab_test": test, "send_now": True})

    run_broadcasts(ws, fake, newsletter)  # the test group; the rest waits for the test's hour
    send_all(ws, deliver, newsletter)
    test_group = {m.to: m.subject for m in channels.email.sent}
    assert 5 < len(test_group) < 35 and set(test_group.values()) == {"A", "B"}
    for found in deliveries(ws, newsletter):
        if records_subject(found) == "B":
            feedback.opened(ws, found.delivery_id, clock.now())  # B opens better
    assert app.get(f"/v1/newsletters/{newsletter['id']}").json["newsletter"]["winner_content_id"] is None

    monkeypatch.setattr(clock, "now", lambda: now + 3600)
    run_broadcasts(ws, fake, newsletter)
    send_all(ws, deliver, newsletter)

    everyone = [m.to for m in channels.email.sent]
    assert sorted(everyone) == sorted(f"{n}@example.com" for n in names)  # each person once
    rest = [m for m in channels.email.sent if m.to not in test_group]
    assert rest and {m.subject for m in rest} == {"B"}
    found = app.get(f"/v1/newsletters/{newsletter['id']}").json["newsletter"]
    assert found["winner_content_id"] == 2 and found["state"] == "sent"


def test_a_local_time_send_goes_at_that_hour_in_each_recipient_s_zone(ws, app, track, fake):
    people(track, "tokyo", timezone="Asia/Tokyo")
    people(track, "york", timezone="America/New_York")
    people(track, "nozone")
    people(track, "bad", timezone="Mars/Olympus")
    day = datetime.fromtimestamp(clock.now() + 2 * 86400, ZoneInfo("UTC")).strftime("%Y-%m-%d")
    newsletter = created(
        app,
        {
            "subject": "Morning",
            "body": "<p>hi</p>",
            "timezone": "Europe/Paris",
            "local_time": {"date": day, "time": "09:00"},
        },
    )
    run_broadcasts(ws, fake, newsletter)

    due = {d.cio_id: int(d.due_at) for d in deliveries(ws, newsletter)}
    for name, zone in (
        ("tokyo", "Asia/Tokyo"),
        ("york", "America/New_York"),
        ("nozone", "Europe/Paris"),
        ("bad", "Europe/Paris"),
    ):
        expected = datetime.strptime(f"{day} 09:00", "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))
        assert due[cio_id(ws, name)] == int(expected.timestamp()), name
    assert {d.state for d in deliveries(ws, newsletter)} == {states.SCHEDULED}


def test_a_scheduled_newsletter_is_canceled_before_it_starts_and_sends_nothing(ws, app, track, fake):
    people(track, "ann")
    later = clock.now() + 86400
    newsletter = created(app, {"subject": "Later", "body": "<p>x</p>", "scheduled_at": later})
    run_broadcasts(ws, fake, newsletter)  # waits for its time: nothing yet
    assert app.get(f"/v1/newsletters/{newsletter['id']}").json["newsletter"]["state"] == "sending"

    canceled = app.post(f"/v1/newsletters/{newsletter['id']}/cancel")
    assert canceled.status == 200 and canceled.json["newsletter"]["state"] == "canceled"
    run_broadcasts(ws, fake, newsletter)
    assert deliveries(ws, newsletter) == []
    assert app.post(f"/v1/newsletters/{newsletter['id']}/send").status == 409  # canceled stays canceled


def test_a_newsletter_that_started_cannot_be_canceled(ws, app, track, fake):
    people(track, "ann")
    newsletter = created(app, {"subject": "Now", "body": "<p>x</p>", "send_now": True})
    run_broadcasts(ws, fake, newsletter)
    answer = app.post(f"/v1/newsletters/{newsletter['id']}/cancel")
    assert answer.status == 409
    assert len(deliveries(ws, newsletter)) == 1


def test_a_test_send_goes_to_one_person_and_is_not_counted(ws, app, track, fake, deliver, channels):
    people(track, "ann", unsubscribed=True)
    variants = [{"subject": "A", "body": "<p>a</p>"}, {"subject": "B {{ customer.id }}", "body": "<p>b</p>"}]
    newsletter = created(app, {"variants": variants})
    answer = app.post(
        f"/v1/newsletters/{newsletter['id']}/test_send", {"identifiers": {"id": "ann"}, "content_id": 2}
    )
    assert answer.status == 200
    deliver(answer.json["delivery_id"])
    assert [m.subject for m in channels.email.sent] == ["B ann"]
    assert app.get(f"/v1/newsletters/{newsletter['id']}/metrics").json["metric"]["sent"] == 0
    assert app.get(f"/v1/newsletters/{newsletter['id']}").json["newsletter"]["state"] == "draft"


def test_a_newsletter_of_a_topic_skips_people_who_left_it(ws, app, track, fake, deliver, channels):
    topic = app.post("/v1/subscription_topics", {"name": "News"}).json["topic"]["identifier"]
    people(track, "ann", "bob")
    preferences = {"cio_subscription_preferences": {"topics": {topic: False}}}
    assert track.put("/api/v1/customers/bob", preferences).status == 200
    newsletter = created(
        app, {"subject": "News", "body": "<p>n</p>", "subscription_topic_id": topic, "send_now": True}
    )
    assert newsletter["subscription_topic_id"] == 1
    run_broadcasts(ws, fake, newsletter)
    send_all(ws, deliver, newsletter)

    assert [m.to for m in channels.email.sent] == ["ann@example.com"]
    stopped = next(d for d in deliveries(ws, newsletter) if d.state == states.UNDELIVERABLE)
    assert stopped.reason is not None and stopped.reason.startswith("topic_opt_out")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x"}, "body"),
        ({"type": "fax", "body": "x"}, "type"),
        ({"subject": "x", "body": "{% if %}"}, "body"),
        (
            {
                "variants": [{"subject": "a", "body": "b"}],
                "ab_test": {"test_percent": 20, "wait_seconds": 60},
            },
            "ab_test",
        ),
        (
            {
                "variants": [{"subject": "a", "body": "b"}] * 2,
                "ab_test": {"test_percent": 0, "wait_seconds": 60},
            },
            "ab_test.test_percent",
        ),
        ({"subject": "x", "body": "y", "recipients": {"segment": {"id": 404}}}, "recipients"),
        (
            {"subject": "x", "body": "y", "local_time": {"date": "tomorrow", "time": "09:00"}},
            "local_time.date",
        ),
        (
            # A day no calendar has: refused here, not left to stop the newsletter's first page.
            {"subject": "x", "body": "y", "local_time": {"date": "2026-13-40", "time": "09:00"}},
            "local_time.date",
        ),
        ({"subject": "x", "body": "y", "send_now": True, "scheduled_at": 5}, "scheduled_at"),
        ({"subject": "x", "body": "y", "timezone": "Nowhere/Land"}, "timezone"),
        ({"subject": "x", "body": "y", "subscription_topic_id": "topic_9"}, "subscription_topic_id"),
        ({"subject": "x", "body": "y", "subscription_topic_id": "news"}, "subscription_topic_id"),
        ({"type": "in_app", "body": "y", "subscription_topic_id": 1}, "subscription_topic_id"),
    ],
)
def test_invalid_newsletters_are_refused_naming_the_field(app, fake, body, field):
    answer = app.post("/v1/newsletters", {"name": "N", **body})
    assert answer.status == 400, answer.json
    assert answer.json["errors"][0]["source"]["pointer"] == "/" + field.replace(".", "/")


def test_a_draft_is_changed_and_shows_its_audience_then_refused_once_sent(ws, app, track, fake):
    segment = app.post("/v1/segments", {"segment": {"name": "Readers"}}).json["segment"]
    draft = created(app, {"subject": "Old", "body": "<p>x</p>"})
    assert draft["recipients"] is None and draft["timezone"] == "UTC"
    audience = {"and": [{"segment": {"id": segment["id"]}}, {"not": PRO}]}
    change = {
        "name": "Renamed",
        "recipients": audience,
        "timezone": "Europe/Paris",
        "variants": [{"subject": "A", "body": "<p>a</p>"}, {"subject": "B", "body": "<p>b</p>"}],
        "ab_test": {"test_percent": 50, "metric": "click", "wait_seconds": 600},
    }
    answer = app.put(f"/v1/newsletters/{draft['id']}", change)
    assert answer.status == 200, answer.json
    changed = answer.json["newsletter"]
    assert (changed["name"], changed["state"], changed["content_ids"]) == ("Renamed", "draft", [1, 2])
    # As the condition language writes it (the console's segment builder reads it back).
    stored = {"segment": {"id": str(segment["id"]), "operator": "in"}}
    assert changed["recipients"] == {"and": [stored, {"not": PRO}]}
    assert changed["recipient_segment_ids"] == [segment["id"]] and changed["timezone"] == "Europe/Paris"
    contents = app.get(f"/v1/newsletters/{draft['id']}/contents").json["contents"]
    assert [c["subject"] for c in contents] == ["A", "B"]

    refused = app.put(f"/v1/newsletters/{draft['id']}", {**change, "variants": [{"subject": "A"}]})
    assert refused.status == 400 and refused.json["errors"][0]["source"]["pointer"] == "/variants/0/body"
    scheduled = app.put(f"/v1/newsletters/{draft['id']}", {**change, "send_now": True})
    assert scheduled.status == 400 and scheduled.json["errors"][0]["source"]["pointer"] == "/send_now"
    assert app.get(f"/v1/newsletters/{draft['id']}/contents/1").json["content"]["subject"] == "A"

    assert app.post(f"/v1/newsletters/{draft['id']}/send", {"scheduled_at": clock.now() + 3600}).status == 200
    assert app.put(f"/v1/newsletters/{draft['id']}", change).status == 409
    assert app.put("/v1/newsletters/404", change).status == 404


def test_a_draft_and_a_canceled_newsletter_are_deleted_a_sending_one_is_not(ws, app, track, fake):
    people(track, "ann")
    draft = created(app, {"subject": "Draft", "body": "<p>x</p>"})
    later = created(app, {"subject": "Later", "body": "<p>x</p>", "scheduled_at": clock.now() + 86400})
    now = created(app, {"subject": "Now", "body": "<p>x</p>", "send_now": True})

    assert app.delete(f"/v1/newsletters/{draft['id']}").status == 204
    assert app.get(f"/v1/newsletters/{draft['id']}").status == 404
    assert app.delete(f"/v1/newsletters/{draft['id']}").status == 404
    assert app.delete(f"/v1/newsletters/{later['id']}").status == 409  # scheduled: cancel it first
    assert app.post(f"/v1/newsletters/{later['id']}/cancel").status == 200
    assert app.delete(f"/v1/newsletters/{later['id']}").status == 204
    run_broadcasts(ws, fake, later)  # its waiting broadcast finds nothing to send
    assert deliveries(ws, later) == []

    run_broadcasts(ws, fake, now)
    assert app.delete(f"/v1/newsletters/{now['id']}").status == 409
    assert [n["id"] for n in app.get("/v1/newsletters").json["newsletters"]] == [now["id"]]
