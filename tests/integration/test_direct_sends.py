"""One-send broadcasts without an execution per person (``nudge.campaigns.direct_sends``): each page
queues its messages itself, with the delivery ids the per-person executions would have given; a page run
again, a fan-out restarted and two Task runs racing queue nothing twice and send nothing twice; the
entry rules and the send pipeline's gates still apply, and the metrics read as executions leave them.
Journeys with a wait keep their executions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import TransactWriteError

from nudge import clock
from nudge.campaigns import broadcasts, direct_sends, executions, metrics, triggers
from nudge.delivery import records, states, template_store
from nudge.model.deliveries import Delivery
from tests.integration.test_campaign_broadcasts import run_pages, status_of, trigger
from tests.support.deliveries import cio_id, messages_metered
from tests.support.workflows import fake_workflows


@pytest.fixture
def fake(account: None):
    with fake_workflows() as recorded:
        yield recorded


def activated(app, body: dict[str, Any]) -> dict[str, Any]:
    campaign_id = app.post("/v1/campaigns", {"campaign": body}).json["campaign"]["id"]
    answer = app.post(f"/v1/campaigns/{campaign_id}/activate", {})
    assert answer.status == 200, answer.json
    return dict(answer.json["campaign"])


def one_send(ws: str, app, **extra: Any) -> dict[str, Any]:
    template = template_store.create(
        ws, {"name": "News", "channel": "email", "subject": "News {{ trigger.n }}", "body": "<p>hi</p>"}
    )
    send: dict[str, Any] = {"type": "send", "channel": "email", "template_id": template.id}
    body = {
        "name": "News",
        "trigger": {"type": "api"},
        "workflow": {"start": "b1", "blocks": {"b1": send}},
        **extra,
    }
    return activated(app, body)


def people(track, *names: str, **attributes: Any) -> None:
    for name in names:
        assert (
            track.put(f"/api/v1/customers/{name}", {"email": f"{name}@example.com", **attributes}).status
            == 200
        )


def campaign_deliveries(ws: str, campaign_id: str) -> list[Delivery]:
    return [d for d in Delivery.scan() if d.workspace_id == ws and d.campaign_id == campaign_id]


def expected_id(ws: str, campaign_id: str, person: str, trigger_id: str) -> str:
    execution = executions.execution_name(campaign_id, cio_id(ws, person), trigger_id)
    return records.stable_id(ws, campaign_id, execution, "b1")


def send_all(ws: str, deliver, campaign_id: str) -> None:
    for found in campaign_deliveries(ws, campaign_id):
        deliver(found.delivery_id)


def test_a_one_send_broadcast_queues_its_messages_without_executions(ws, track, app, fake, deliver, channels):
    people(track, "ann", "bob")
    news = one_send(ws, app)
    assert direct_sends.single_send(news) == "b1"
    trigger_id = trigger(ws, news["id"], {"ids": ["ann", "bob"], "data": {"n": 7}})

    [page] = run_pages(ws, news["id"], trigger_id)

    assert page["started"] == 2
    assert fake.journeys() == []  # only the broadcast machine ran
    found = {d.delivery_id: d for d in campaign_deliveries(ws, news["id"])}
    # The ids the per-person executions' send step would have given.
    assert set(found) == {expected_id(ws, news["id"], p, trigger_id) for p in ("ann", "bob")}
    assert {d.state for d in found.values()} == {states.QUEUED}
    assert all(records.request_of(d)["message_data"] == {"n": 7} for d in found.values())
    counts = metrics.read(ws, news["id"])
    assert counts["campaign"] | {"waiting": 0} == {
        "entered": 2, "sent": 2, "completed": 2, "exited": 0, "converted": 0,
        "failed": 0, "waiting": 0, "in_progress": 0,
    }  # fmt: skip
    assert counts["blocks"] == {"b1": {"sent": 2}}
    assert status_of(ws, news["id"], trigger_id)["started"] == 2

    send_all(ws, deliver, news["id"])
    assert sorted(m.subject for m in channels.email.sent) == ["News 7", "News 7"]


def test_a_journey_with_a_wait_keeps_its_executions(ws, track, app, fake):
    people(track, "ann")
    template = template_store.create(ws, {"name": "t", "channel": "email", "subject": "s", "body": "b"})
    blocks = {
        "b1": {"type": "send", "channel": "email", "template_id": template.id, "next": "b2"},
        "b2": {"type": "delay", "seconds": 60},
    }
    body = {"name": "Two", "trigger": {"type": "api"}, "workflow": {"start": "b1", "blocks": blocks}}
    campaign = activated(app, body)
    assert direct_sends.single_send(campaign) is None
    run_pages(ws, campaign["id"], trigger(ws, campaign["id"], {"ids": ["ann"]}))
    assert fake.people() == [cio_id(ws, "ann")]
    assert campaign_deliveries(ws, campaign["id"]) == []  # its send step queues it, in the execution


def _lost_commit(monkeypatch) -> None:
    """The page's commit (cursor and counts) fails once, after its messages were queued: the Task fails
    and Step Functions runs it again."""
    real = broadcasts._commit
    calls = {"n": 0}

    def once(*args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransactWriteError("throttled", cause=ClientError({"Error": {"Code": "Throttling"}}, "x"))
        return real(*args, **kwargs)

    monkeypatch.setattr(broadcasts, "_commit", once)


def test_a_page_run_again_after_its_messages_went_out_sends_nothing_twice(
    ws, track, app, fake, deliver, channels, monkeypatch
):
    people(track, "ann", "bob", "cat")
    news = one_send(ws, app)
    trigger_id = trigger(ws, news["id"], {"ids": ["ann", "bob", "cat"]})
    _lost_commit(monkeypatch)
    with pytest.raises(TransactWriteError):
        broadcasts.page(ws, news["id"], trigger_id, None)
    send_all(ws, deliver, news["id"])  # the send function took them before the retry
    assert len(channels.email.sent) == 3

    again = broadcasts.page(ws, news["id"], trigger_id, None)  # the Task's Retry

    assert again["done"] is True and again["started"] == 0
    assert {d.state for d in campaign_deliveries(ws, news["id"])} == {states.SENT}  # not queued again
    send_all(ws, deliver, news["id"])
    assert len(channels.email.sent) == 3
    assert messages_metered(ws)["email"] == 3
    assert metrics.read(ws, news["id"])["campaign"]["sent"] == 3
    assert metrics.read(ws, news["id"])["campaign"]["entered"] == 3


def test_a_fan_out_restarted_from_the_start_queues_nothing_twice(ws, track, app, fake, deliver, channels):
    people(track, "ann", "bob")
    news = one_send(ws, app)
    trigger_id = trigger(ws, news["id"], {"ids": ["ann", "bob"]})
    run_pages(ws, news["id"], trigger_id)
    send_all(ws, deliver, news["id"])
    entries = [(cio_id(ws, p), {"type": "api", "trigger_id": trigger_id}, trigger_id) for p in ("ann", "bob")]

    # The same page's people through the fan-out again (a new execution of the machine from its start).
    chosen = direct_sends.plan(news)
    assert chosen is not None
    again = direct_sends.queue_page(ws, news, chosen, entries, {}, clock.now())

    assert [e.started for e in again] == [False, False]
    assert [e.skipped for e in again] == [None, None]  # queued before: not a skip
    send_all(ws, deliver, news["id"])
    assert len(channels.email.sent) == 2
    assert metrics.read(ws, news["id"])["campaign"]["sent"] == 2


@pytest.mark.direct_moto  # two threads on one in-process moto
def test_two_runs_of_one_page_racing_queue_each_message_once(ws, track, app, fake, deliver, channels):
    names = [f"p{n:02d}" for n in range(30)]
    people(track, *names)
    news = one_send(ws, app)
    trigger_id = trigger(ws, news["id"], {"ids": names})

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: broadcasts.page(ws, news["id"], trigger_id, None), range(2)))

    found = campaign_deliveries(ws, news["id"])
    assert len(found) == 30
    send_all(ws, deliver, news["id"])
    send_all(ws, deliver, news["id"])
    assert len(channels.email.sent) == 30
    assert metrics.read(ws, news["id"])["campaign"]["sent"] == 30
    assert metrics.read(ws, news["id"])["campaign"]["entered"] == 30


def test_entry_rules_and_delivery_gates_still_apply(ws, track, app, fake, deliver, channels):
    people(track, "ann", "bob", plan="pro")
    people(track, "cat", plan="free")
    people(track, "dan", plan="pro", unsubscribed=True)
    news = one_send(ws, app, filters={"attribute": {"field": "plan", "operator": "eq", "value": "pro"}})
    # bob is still on a journey of the campaign started per person (an earlier version's execution)
    journey = executions.journey_pk(ws, news["id"], cio_id(ws, "bob"))
    from nudge.model.campaigns import Journey

    Journey(journey, "journey", workspace_id=ws, campaign_id=news["id"], cio_id=cio_id(ws, "bob"),
            execution="earlier", running=True, entries=1).save()  # fmt: skip
    trigger_id = trigger(
        ws, news["id"], {"ids": ["ann", "bob", "cat", "dan", "gone"], "id_ignore_missing": True}
    )

    run_pages(ws, news["id"], trigger_id)
    send_all(ws, deliver, news["id"])

    assert [m.to for m in channels.email.sent] == ["ann@example.com"]
    blocked = {d.cio_id: d for d in campaign_deliveries(ws, news["id"]) if d.state == states.UNDELIVERABLE}
    assert set(blocked) == {cio_id(ws, "dan")}  # unsubscribed: the pipeline's gate
    status = status_of(ws, news["id"], trigger_id)
    assert status["skipped"] == {"filters": 1, "journey_running": 1}
    assert metrics.read(ws, news["id"])["not_entered"] == {"filters": 1, "journey_running": 1}
    assert metrics.read(ws, news["id"])["campaign"]["entered"] == 2


@pytest.mark.direct_moto  # hundreds of people paged: volume, not the AWS wire
def test_a_one_send_page_takes_a_second_s_worth_at_the_sending_rate(ws, track, app, fake):
    from nudge.delivery import settings as delivery_settings

    delivery_settings.update(ws, {"sending_rate": 250})
    news = one_send(ws, app)
    trigger_id = trigger(ws, news["id"], {"ids": [f"r{n:03d}" for n in range(600)]})

    pages = run_pages(ws, news["id"], trigger_id)

    assert [(p["started"], p["pause_seconds"]) for p in pages] == [(250, 1), (250, 1), (100, 1)]
    assert len(campaign_deliveries(ws, news["id"])) == 600


def event_campaign(ws: str, app, template_id: str, frequency: str) -> dict[str, Any]:
    body = {
        "name": "Welcome",
        "trigger": {"type": "event", "name": "signed_up"},
        "workflow": {"start": "b1", "blocks": {"b1": {"type": "send", "channel": "email",
                                                      "template_id": template_id}}},
        "settings": {"frequency": {"type": frequency}},
    }  # fmt: skip
    found = triggers.load_campaign(ws, activated(app, body)["id"])  # as the trigger consumer reads it
    assert found is not None
    return found


def test_an_event_triggered_one_send_campaign_sends_without_an_execution_once_per_trigger(
    ws, track, app, fake, deliver, channels
):
    people(track, "ann")
    template = template_store.create(ws, {"name": "t", "channel": "email", "subject": "Hi", "body": "b"})
    welcome = event_campaign(ws, app, template.id, "once")
    ann = cio_id(ws, "ann")
    trigger = {"type": "event", "name": "signed_up", "data": {}}
    now = clock.now()

    first = executions.enter(ws, welcome, ann, trigger, "event-1", now)
    replay = executions.enter(ws, welcome, ann, trigger, "event-1", now)  # the same stream record again
    second = executions.enter(ws, welcome, ann, trigger, "event-2", now)  # a new event: once means once

    assert (first.started, replay.started, replay.skipped) == (True, False, None)
    assert (second.started, second.skipped) == (False, executions.SKIP_ONCE)
    assert fake.journeys() == []
    [found] = campaign_deliveries(ws, welcome["id"])
    execution = executions.execution_name(welcome["id"], ann, "event-1")
    assert found.delivery_id == records.stable_id(ws, welcome["id"], execution, "b1")
    send_all(ws, deliver, welcome["id"])
    assert [m.subject for m in channels.email.sent] == ["Hi"]
    counts = metrics.read(ws, welcome["id"])
    assert {k: counts["campaign"][k] for k in ("entered", "sent", "completed", "in_progress")} == {
        "entered": 1, "sent": 1, "completed": 1, "in_progress": 0,
    }  # fmt: skip
    assert counts["not_entered"] == {"frequency_once": 1}


def test_every_match_sends_once_per_event(ws, track, app, fake):
    people(track, "ann")
    template = template_store.create(ws, {"name": "t", "channel": "email", "subject": "Hi", "body": "b"})
    orders = event_campaign(ws, app, template.id, "every_match")
    trigger = {"type": "event", "name": "signed_up", "data": {}}
    for event_id in ("e1", "e2", "e2"):
        executions.enter(ws, orders, cio_id(ws, "ann"), trigger, event_id, clock.now())
    assert len(campaign_deliveries(ws, orders["id"])) == 2
    assert metrics.read(ws, orders["id"])["campaign"]["entered"] == 2
