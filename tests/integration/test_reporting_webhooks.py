"""Reporting webhooks (``/v1/reporting_webhooks``): Customer.io's App API shape, admin only, per
workspace; events queued by the delivery outcomes and subscription changes, then built, signed and POSTed
by the real reporting handler to a receiver on loopback, retried with backoff and the same event_id,
and dead-lettered at the end. Real handlers under moto."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from functions.links import handler as links_handler
from functions.reporting import handler as reporting_handler
from nudge import ids, workspaces
from nudge.console_auth import members
from nudge.delivery import feedback, states
from nudge.delivery.messages import PermanentSendError, TransientSendError
from nudge.reporting import queue as reporting_queue
from nudge.reporting import store, worker
from nudge_tools.local.apigw import LocalContext
from tests.support.console import ConsoleClient, user_pool
from tests.support.reporting import Receiver, RecordingQueue, receiver, sqs_event
from tests.support.track import AppClient, invoke

LINK = '<p><a href="https://shop.example/deal">Deal</a></p>'


@pytest.fixture
def queued(account: None) -> Iterator[RecordingQueue]:
    fake = RecordingQueue()
    reporting_queue.install(fake)
    worker.install(worker.HttpPoster(allow_private=True))  # the receiver is on loopback
    store.forget()
    yield fake
    reporting_queue.install(None)
    worker.install(None)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as found:
        yield found


def run(queue: RecordingQueue, receive_count: int = 1) -> dict:
    """Hand what waits in the queue to the reporting handler, as the SQS mapping would."""
    bodies, queue.waiting[:] = list(queue.waiting), []
    return dict(reporting_handler.handler(sqs_event(bodies, receive_count), LocalContext()))


def create(app: AppClient, url: str, events: list[str], **fields) -> dict:
    answer = app.post(
        "/v1/reporting_webhooks", {"name": "warehouse", "endpoint": url, "events": events, **fields}
    )
    assert answer.status == 200, answer.raw
    return answer.json


@pytest.fixture
def send_email(app, track, deliver):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})

    def send() -> str:
        answer = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "Deal", "body": LINK})
        assert answer.status == 200, answer.raw
        delivery_id = answer.json["delivery_id"]
        assert deliver(delivery_id).state == states.SENT
        return str(delivery_id)

    return send


# -- the API ---------------------------------------------------------------------------------------------


def test_create_answers_customer_ios_shape_with_the_signing_key_once(app, queued):
    created = create(app, "https://hooks.example/cio", ["email_sent", "email_opened"], full_resolution=True)

    assert set(created) == {
        "id",
        "type",
        "name",
        "endpoint",
        "events",
        "disabled",
        "full_resolution",
        "with_content",
        "signing_key",
    }
    assert created["type"] == "webhook" and created["events"] == ["email_sent", "email_opened"]
    assert (created["disabled"], created["full_resolution"], created["with_content"]) == (False, True, False)
    assert re.fullmatch(r"[0-9a-f]{64}", created["signing_key"])
    shown = app.get(f"/v1/reporting_webhooks/{created['id']}").json
    assert "signing_key" not in shown and shown == {k: v for k, v in created.items() if k != "signing_key"}
    assert app.get("/v1/reporting_webhooks").json == {"reporting_webhooks": [shown]}


def test_update_changes_the_fields_given_and_delete_removes_it(app, queued):
    created = create(app, "https://hooks.example/cio", ["email_sent"])
    path = f"/v1/reporting_webhooks/{created['id']}"

    updated = app.put(path, {"events": ["sms_sent", "email_bounced"], "disabled": True})

    assert updated.status == 200, updated.raw
    assert updated.json["events"] == ["email_bounced", "sms_sent"] and updated.json["disabled"] is True
    assert updated.json["endpoint"] == "https://hooks.example/cio"
    assert app.delete(path).status == 204
    assert app.get(path).status == 404
    assert app.put(path, {"disabled": False}).status == 404
    assert app.get("/v1/reporting_webhooks").json == {"reporting_webhooks": []}


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"endpoint": "ftp://hooks.example/x"}, "/endpoint"),
        ({"endpoint": "https://user:pw@hooks.example/x"}, "/endpoint"),
        ({"endpoint": "http://169.254.169.254/latest/meta-data"}, "/endpoint"),
        ({"endpoint": "https://hooks.example/a b"}, "/endpoint"),
        ({"events": []}, "/events"),
        ({"events": ["email_sent", "email_exploded"]}, "/events/1"),
        ({"full_resolution": "yes"}, "/full_resolution"),
    ],
)
def test_invalid_webhooks_are_refused_naming_the_field(app, queued, fields, pointer):
    body = {"name": "warehouse", "endpoint": "https://hooks.example/cio", "events": ["email_sent"], **fields}

    answer = app.post("/v1/reporting_webhooks", body)

    assert answer.status == 400, answer.raw
    assert [error["source"]["pointer"] for error in answer.json["errors"]] == [pointer]
    assert app.get("/v1/reporting_webhooks").json == {"reporting_webhooks": []}


def test_a_missing_required_field_is_a_400(app, queued):
    answer = app.post("/v1/reporting_webhooks", {"name": "warehouse", "events": ["email_sent"]})

    assert answer.status == 400 and "endpoint" in answer.raw.decode()


@pytest.fixture
def author(account: None, ws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsoleClient]:
    with user_pool(monkeypatch):
        added = members.add(ws, "writer@acme.test", "author")
        assert added.password is not None
        client = ConsoleClient(workspace=ws)
        assert client.first_sign_in("writer@acme.test", added.password).status == 200
        yield client


def test_only_admins_manage_reporting_webhooks(app, author, queued):
    created = create(app, "https://hooks.example/cio", ["email_sent"])
    path = f"/v1/reporting_webhooks/{created['id']}"

    assert author.get("/v1/reporting_webhooks").status == 403
    assert author.get(path).status == 403
    assert (
        author.post(
            "/v1/reporting_webhooks", {"name": "x", "endpoint": "https://a.example", "events": ["email_sent"]}
        ).status
        == 403
    )
    assert author.put(path, {"disabled": True}).status == 403
    assert author.delete(path).status == 403
    assert app.get(path).json["disabled"] is False


def test_a_workspace_never_sees_anothers_webhooks(app, queued):
    created = create(app, "https://hooks.example/cio", ["email_sent"])
    other = AppClient(workspaces.create_workspace("Other", "essentials", "2026-01-01").app_api_key)
    path = f"/v1/reporting_webhooks/{created['id']}"

    assert other.get("/v1/reporting_webhooks").json == {"reporting_webhooks": []}
    assert other.get(path).status == 404
    assert other.put(path, {"disabled": True}).status == 404
    assert other.delete(path).status == 404
    assert app.get(path).json["disabled"] is False


# -- events -----------------------------------------------------------------------------------------------


def test_sent_opened_and_clicked_reach_the_receiver_signed_in_customer_ios_shape(
    app, ws, queued, hook, send_email, channels
):
    created = create(app, hook.url, ["email_sent", "email_opened", "email_clicked"])
    delivery_id = send_email()
    [click] = re.findall(r'href="([^"]*/t/c/[^"]+)"', channels.email.sent[-1].html)
    feedback.opened(ws, delivery_id, 1_700_000_100)
    assert invoke("GET", click, handler=links_handler.handler).status == 302

    assert run(queued) == {"batchItemFailures": []}

    sent, opened, clicked = hook.events(created["signing_key"])
    assert [(e["object_type"], e["metric"]) for e in (sent, opened, clicked)] == [
        ("email", "sent"),
        ("email", "opened"),
        ("email", "clicked"),
    ]
    person = app.get("/v1/customers/ann/attributes").json["customer"]["identifiers"]
    for event in (sent, opened, clicked):
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", event["event_id"])
        assert isinstance(event["timestamp"], int)
        assert event["data"]["delivery_id"] == delivery_id
        assert event["data"]["identifiers"] == person
        assert event["data"]["recipient"] == "ann@example.com"
        assert event["data"]["subject"] == "Deal"
    assert opened["timestamp"] == 1_700_000_100
    assert clicked["data"]["href"] == "https://shop.example/deal" and clicked["data"]["link_id"] == 1
    assert "content" not in sent["data"]
    assert hook.received[0].headers["content-type"] == "application/json"


def test_a_campaign_message_names_its_campaign_and_action(app, ws, queued, hook, track, deliver):
    from tests.support.deliveries import campaign

    created = create(app, hook.url, ["email_sent"], with_content=True)
    track.put("/api/v1/customers/bob", {"email": "bob@example.com"})
    delivery_id = campaign(ws, "bob", campaign={"id": "1", "block": "welcome"})
    deliver(delivery_id)

    run(queued)

    [sent] = hook.events(created["signing_key"])
    assert sent["data"]["campaign_id"] == 1 and sent["data"]["action_id"] == "welcome"
    assert sent["data"]["content"].startswith("<")


def test_only_subscribed_events_of_enabled_webhooks_are_queued(app, ws, queued, hook, send_email):
    create(app, hook.url, ["email_opened"])
    create(app, hook.url, ["email_sent"], disabled=True)

    delivery_id = send_email()

    assert queued.waiting == []
    feedback.opened(ws, delivery_id, 1_700_000_100)
    [event] = [json.loads(body) for body in queued.waiting]
    assert (event["object_type"], event["metric"]) == ("email", "opened")


def test_repeated_opens_reach_only_full_resolution_webhooks(app, ws, queued, hook, send_email):
    every = create(app, hook.url, ["email_opened"], full_resolution=True)
    create(app, hook.url, ["email_opened"])
    delivery_id = send_email()

    feedback.opened(ws, delivery_id, 1_700_000_100)
    feedback.opened(ws, delivery_id, 1_700_000_200)

    assert [json.loads(body)["webhook_id"] for body in queued.waiting] == [
        every["id"],
        every["id"] + 1,
        every["id"],
    ]


def test_sending_only_queues_events_so_a_slow_endpoint_never_holds_a_message(app, queued, hook, send_email):
    create(app, hook.url, ["email_sent"])

    send_email()  # the message went out (the fixture checks it) ...

    assert hook.received == []  # ... and nothing was called: the event waits for the worker
    assert len(queued.waiting) == 1


def test_a_failed_post_is_retried_later_with_the_same_event_id(app, queued, hook, send_email):
    created = create(app, hook.url, ["email_sent"])
    send_email()
    [body] = queued.waiting
    hook.statuses[:] = [500]

    first = run(queued)
    queued.waiting.append(body)  # the queue hands it over again once its visibility timeout ends
    second = run(queued, receive_count=2)

    assert first == {
        "batchItemFailures": [{"itemIdentifier": first["batchItemFailures"][0]["itemIdentifier"]}]
    }
    assert queued.retried == [("handle-0", worker.FIRST_DELAY_SECONDS)]
    assert second == {"batchItemFailures": []}
    tried, delivered = hook.events(created["signing_key"])
    assert tried["event_id"] == delivered["event_id"] and tried == delivered


@pytest.mark.parametrize("status", [302, 404, 429])
def test_a_redirect_or_a_refusal_is_tried_again_not_followed(app, queued, hook, send_email, status):
    create(app, hook.url, ["email_sent"])
    send_email()
    hook.statuses[:] = [status]

    answer = run(queued)

    assert len(answer["batchItemFailures"]) == 1  # retried later, as Customer.io retries any non-2xx
    assert queued.retried == [("handle-0", worker.FIRST_DELAY_SECONDS)] and queued.dead == []
    assert len(hook.received) == 1  # a redirect's Location is never requested


def test_one_failing_event_does_not_hold_back_the_rest_of_its_batch(app, ws, queued, hook, send_email):
    create(app, hook.url, ["email_sent", "email_opened"])
    delivery_id = send_email()
    feedback.opened(ws, delivery_id, 1_700_000_100)
    hook.statuses[:] = [503]

    answer = run(queued)

    assert len(answer["batchItemFailures"]) == 1
    assert len(hook.received) == 2


def test_backoff_doubles_from_a_minute_to_twelve_hours_for_about_a_week():
    waits = [worker.backoff(attempt) for attempt in range(1, worker.MAX_ATTEMPTS)]

    assert waits[:4] == [60, 120, 240, 480]
    assert max(waits) == 12 * 3600 == waits[-1]
    assert 6.5 * 86400 < sum(waits) < 7.5 * 86400


def test_the_last_try_dead_letters_the_event_with_its_reason(app, queued, hook, send_email):
    create(app, hook.url, ["email_sent"])
    send_email()
    [body] = queued.waiting
    hook.statuses[:] = [500]

    answer = run(queued, receive_count=worker.MAX_ATTEMPTS)

    assert answer == {"batchItemFailures": []}  # deleted from the queue: it is in the dead-letter queue
    assert queued.dead == [(body, f"{worker.MAX_ATTEMPTS} tries failed; the last: HTTP 500")]
    assert queued.retried == []


def test_a_private_endpoint_is_refused_by_the_ssrf_guard_and_dead_lettered(app, queued, hook, send_email):
    create(app, hook.url, ["email_sent"])  # loopback: allowed by the local runtime only
    send_email()
    worker.install(worker.HttpPoster())  # as deployed

    answer = run(queued)

    assert answer == {"batchItemFailures": []}
    assert hook.received == []
    [(_, reason)] = queued.dead
    assert "private or loopback" in reason


def test_a_webhook_disabled_after_queueing_drops_its_events(app, queued, hook, send_email):
    created = create(app, hook.url, ["email_sent"])
    send_email()
    app.put(f"/v1/reporting_webhooks/{created['id']}", {"disabled": True})

    assert run(queued) == {"batchItemFailures": []}

    assert hook.received == [] and queued.dead == []


def test_unsubscribing_and_subscribing_again_are_customer_events(app, ws, queued, hook, track, pump):
    created = create(app, hook.url, ["customer_unsubscribed", "customer_subscribed"])
    track.put("/api/v1/customers/cat", {"email": "cat@example.com"})

    track.put("/api/v1/customers/cat", {"unsubscribed": True})
    assert pump.wait_idle()
    track.put("/api/v1/customers/cat", {"unsubscribed": False})
    assert pump.wait_idle()
    run(queued)

    unsubscribed, subscribed = hook.events(created["signing_key"])
    assert (unsubscribed["object_type"], unsubscribed["metric"]) == ("customer", "unsubscribed")
    assert subscribed["metric"] == "subscribed"
    assert unsubscribed["data"]["identifiers"]["id"] == "cat"
    assert unsubscribed["data"]["email_address"] == "cat@example.com"
    assert unsubscribed["data"]["customer_id"] == "cat"


def test_a_change_of_topic_choices_is_a_customer_event_carrying_the_preferences(
    app, ws, queued, hook, track, pump
):
    created = create(app, hook.url, ["customer_subscription_preferences_changed"])
    track.put("/api/v1/customers/cat", {"email": "cat@example.com"})
    assert pump.wait_idle()

    track.put("/api/v1/customers/cat", {"cio_subscription_preferences": {"topics": {"topic_1": False}}})
    track.put("/api/v1/customers/cat", {"first_name": "Cat"})  # no change of choices: no event
    assert pump.wait_idle()
    run(queued)

    [changed] = hook.events(created["signing_key"])
    assert (changed["object_type"], changed["metric"]) == ("customer", "cio_subscription_preferences_changed")
    assert json.loads(changed["data"]["content"]) == {"topics": {"topic_1": False}}
    assert changed["data"]["email_address"] == "cat@example.com"


def test_what_the_send_decides_for_a_message_that_did_not_go_out_is_reported(
    app, ws, queued, hook, track, deliver, channels
):

    created = create(app, hook.url, ["email_attempted", "email_failed", "email_undeliverable"])
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    track.put("/api/v1/customers/nomail", {"first_name": "No"})

    def send(person: str) -> str:
        answer = app.post(
            "/v1/send/email", {"identifiers": {"id": person}, "subject": "Hi", "body": "<p>Hi</p>"}
        )
        return str(answer.json["delivery_id"])

    channels.email.failures[:] = [TransientSendError("SES throttled"), PermanentSendError("address rejected")]
    retried = send("ann")
    assert deliver(retried).state == states.SCHEDULED
    failed = send("ann")
    assert deliver(failed).state == states.FAILED  # the second failure, permanent
    undeliverable = send("nomail")
    assert deliver(undeliverable).state == states.UNDELIVERABLE

    run(queued)

    received = {(e["data"]["delivery_id"], e["metric"]): e for e in hook.events(created["signing_key"])}
    assert set(received) == {(retried, "attempted"), (failed, "failed"), (undeliverable, "undeliverable")}
    assert "SES throttled" in received[(retried, "attempted")]["data"]["failure_message"]
    assert received[(failed, "failed")]["data"]["failure_message"] == "address rejected"
    assert received[(undeliverable, "undeliverable")]["data"]["identifiers"]["id"] == "nomail"


def test_a_redelivered_stream_record_queues_the_same_event_id(app, ws, queued, hook):
    from nudge.model.keys import PROFILE, person_pk
    from nudge.model.people import Person
    from nudge.reporting import subscriber
    from nudge.stream_changes.changes import Change

    create(app, hook.url, ["customer_unsubscribed"])

    def person(unsubscribed: bool) -> Person:
        key = person_pk(ws, "c1")
        return Person(
            key, PROFILE, workspace_id=ws, cio_id="c1", created_at=1, updated_at=2, unsubscribed=unsubscribed
        )

    change = Change("people", "MODIFY", "4900000000001", ws, person(False), person(True))
    subscriber.on_change(change)
    subscriber.on_change(change)  # Lambda's mapping delivers the record again

    first, again = (json.loads(body) for body in queued.waiting)
    assert first["event_id"] == again["event_id"] and first["metric"] == "unsubscribed"
    assert first["event_id"][:10] == ids.ulid(2000)[:10]  # its time is the change's


def test_a_sent_event_the_queue_refused_is_queued_by_the_records_retry(app, ws, queued, hook, track, deliver):
    create(app, hook.url, ["email_sent"])
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    answer = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "Deal", "body": LINK})
    delivery_id = answer.json["delivery_id"]
    queued.refusals = 1

    with pytest.raises(RuntimeError, match="not queued"):
        deliver(delivery_id)  # sent and recorded; its record fails, so Lambda delivers it again
    assert queued.waiting == []
    assert deliver(delivery_id).state == states.SENT  # the retry: not sent again, reported again
    deliver(delivery_id)  # a later delivery of the same record queues nothing more

    [event] = [json.loads(body) for body in queued.waiting]
    assert (event["metric"], event["delivery_id"]) == ("sent", delivery_id)


@pytest.mark.parametrize(
    "case",
    [
        (TransientSendError("SES throttled"), "attempted", states.SCHEDULED),  # another try is scheduled
        (PermanentSendError("address rejected"), "failed", states.FAILED),
        (None, "undeliverable", states.UNDELIVERABLE),  # the person has no address
    ],
    ids=lambda case: case[1],
)
def test_an_outcome_of_the_send_the_queue_refused_is_queued_by_the_records_retry(
    app, queued, hook, track, deliver, channels, case
):
    failure, metric, state = case
    create(app, hook.url, [f"email_{metric}"])
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"} if failure else {})
    answer = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "Deal", "body": LINK})
    delivery_id = answer.json["delivery_id"]
    if failure:
        channels.email.failures.append(failure)
    queued.refusals = 1

    with pytest.raises(RuntimeError, match="not queued"):
        deliver(delivery_id)  # decided; reporting it fails, so Lambda delivers the record again
    assert queued.waiting == []
    assert deliver(delivery_id).state == state  # the retry: not tried again, reported again
    deliver(delivery_id)  # a later delivery of the same record queues nothing more

    [event] = [json.loads(body) for body in queued.waiting]
    assert (event["metric"], event["delivery_id"]) == (metric, delivery_id)


def test_an_open_the_queue_refused_reaches_its_webhook_once_with_one_event_id(
    app, ws, queued, hook, send_email
):
    created = create(app, hook.url, ["email_opened"])
    delivery_id = send_email()
    queued.refusals = 1

    with pytest.raises(RuntimeError, match="not queued"):
        feedback.opened(ws, delivery_id, 1_700_000_100)
    feedback.opened(ws, delivery_id, 1_700_000_100)  # the same event, delivered again
    feedback.opened(ws, delivery_id, 1_700_000_200)  # a later open: not this webhook's (no full resolution)

    assert run(queued) == {"batchItemFailures": []}
    [opened] = hook.events(created["signing_key"])
    assert (opened["metric"], opened["timestamp"]) == ("opened", 1_700_000_100)


def test_nudges_own_mail_and_template_tests_are_not_reported(app, ws, queued, hook, send_email):
    from dataclasses import replace

    from nudge.delivery import outcomes
    from nudge.reporting import subscriber

    create(app, hook.url, ["email_sent"])
    send_email()
    [queued_body] = queued.waiting
    sent = json.loads(queued_body)
    outcome = outcomes.Outcome(
        workspace_id=ws,
        delivery_id=sent["delivery_id"],
        channel="email",
        state=states.SENT,
        at=sent["timestamp"],
        first=True,
        billable=True,
        own_smtp=False,
        campaign_id=None,
        block=None,
        cio_id=sent["cio_id"],
    )

    subscriber.on_delivery_outcome(replace(outcome, billable=False))  # an invoice email, a test send

    assert queued.waiting == [queued_body]
