"""A workspace's messages over the App API: ``GET /v1/messages`` (newest first, filters, paging),
``GET /v1/messages/{id}`` and ``GET /v1/messages/{id}/archived_message``. Real handler under moto."""

from __future__ import annotations

import pytest

from nudge import clock, workspaces
from nudge.delivery import records, states
from nudge.model.deliveries import DeliveriesItem, Delivery, DeliveryListing, workspace_shard
from tests.integration.test_people_api import refused
from tests.support.deliveries import cio_id


@pytest.fixture
def at(monkeypatch):
    """The clock, set by the test: deliveries queued at chosen seconds (ties included)."""
    now = {"t": 1_700_000_000}
    monkeypatch.setattr(clock, "now", lambda: now["t"])
    return now


def _queue(ws, cio, delivery_id, *, channel="email", campaign_id=None):
    records.queue(
        ws,
        records.NewDelivery(
            delivery_id,
            cio,
            channel,
            "campaign" if campaign_id else "transactional",
            {},
            campaign_id=campaign_id,
        ),
    )


def _went_out(ws, delivery_id, t):
    """As if the sender had sent it (the pipeline's own path is tested with the channels)."""
    records.load(ws, delivery_id).update(
        actions=[Delivery.state.set(states.SENT), Delivery.metrics["sent"].set(t)]
    )


def _walk(app, query="", limit=None):
    pages, start = [], ""
    while True:
        params = [query] if query else []
        params += [f"limit={limit}"] if limit else []
        params += [f"start={start}"] if start else []
        answer = app.get("/v1/messages?" + "&".join(params))
        assert answer.status == 200, answer.json
        pages.append(answer.json["messages"])
        start = answer.json["next"]
        if not start:
            return pages, [m["id"] for p in pages for m in p]


@pytest.fixture
def ann(track, ws):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    return cio_id(ws, "ann")


def test_listing_is_newest_first_and_pages_lose_nothing_at_ties(app, ws, ann, at):
    for i in range(15):
        at["t"] = 1_700_000_000 + i // 4  # four a second: ties within and across shards
        _queue(ws, ann, f"m{i:02d}")

    pages, ids = _walk(app, limit=4)

    assert sorted(ids) == [f"m{i:02d}" for i in range(15)]
    assert len(ids) == 15
    created = [records.load(ws, i).created_at for i in ids]
    assert created == sorted(created, reverse=True)
    assert [len(p) for p in pages] == [4, 4, 4, 3]
    assert pages[0][0]["state"] == states.QUEUED
    assert pages[0][0] == records.to_api(records.load(ws, pages[0][0]["id"]))


def test_filters_by_channel_metric_and_campaign(app, ws, ann, at):
    for i, (channel, campaign) in enumerate(
        [("email", "7"), ("sms", "7"), ("email", "8"), ("push", None), ("email", None), ("sms", "8")]
    ):
        at["t"] += 1
        _queue(ws, ann, f"m{i}", channel=channel, campaign_id=campaign)
    for opened in ("m0", "m4"):
        _went_out(ws, opened, at["t"])
        assert records.record_metric(records.load(ws, opened), states.OPENED, at["t"])

    assert _walk(app, "type=email", limit=1)[1] == ["m4", "m2", "m0"]
    assert _walk(app, "type=twilio")[1] == ["m5", "m1"]  # Customer.io's name for SMS
    assert _walk(app, "campaign_id=7")[1] == ["m1", "m0"]
    assert _walk(app, "metric=opened")[1] == ["m4", "m0"]
    assert _walk(app, "type=email&metric=opened&campaign_id=7")[1] == ["m0"]
    assert _walk(app, "type=webhook")[1] == []


def test_listing_shows_only_this_workspace(app, ws, ann):
    _queue(ws, ann, "ours")
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    _queue(other.workspace_id, "c0ffee", "theirs")

    assert _walk(app)[1] == ["ours"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("type=fax", "type"),
        ("metric=read", "metric"),
        ("campaign_id=" + "1" * 151, "campaign_id"),
        ("start=nope", "start"),
        ("start=eyIwIjoiMTIzIn0", "start"),  # {"0":"123"}: a position no page wrote
    ],
)
def test_bad_input_is_a_400_naming_the_field(app, query, field):
    refused(app.get(f"/v1/messages?{query}"), field)


def test_one_message_and_another_workspaces_is_404(app, ws, ann):
    _queue(ws, ann, "ours")
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    _queue(other.workspace_id, "c0ffee", "theirs")

    assert app.get("/v1/messages/ours").json["message"]["id"] == "ours"
    for path in (
        "/v1/messages/theirs",
        "/v1/messages/theirs/archived_message",
        "/v1/messages/nope/archived_message",
    ):
        answer = app.get(path)
        assert answer.status == 404, path
        assert answer.json["errors"][0]["detail"].startswith("message ")


def test_archived_message_is_the_email_as_sent(app, track, ws, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "first_name": "Ann"})
    sent = app.post(
        "/v1/send/email",
        {"identifiers": {"id": "ann"}, "subject": "Hi {{ customer.first_name }}", "body": "<p>Hello Ann</p>"},
    )
    delivery_id = sent.json["delivery_id"]
    before = app.get(f"/v1/messages/{delivery_id}/archived_message").json["archived_message"]
    deliver(delivery_id)

    archived = app.get(f"/v1/messages/{delivery_id}/archived_message").json["archived_message"]

    assert before["forgotten"] is True and "body" not in before  # queued: nothing sent, nothing kept
    [email] = channels.email.sent
    assert archived["id"] == delivery_id
    assert archived["type"] == "email"
    assert archived["recipient"] == "ann@example.com"
    assert archived["subject"] == email.subject == "Hi Ann"
    assert archived["body"] == "<p>Hello Ann</p>"
    assert archived["body_plain"] == "Hello Ann"
    assert archived["forgotten"] is False


def test_content_kept_before_the_send_is_recorded_is_not_shown_yet(app, track, ws):
    """The sender keeps the content just before it records the send (so "view in browser" works at
    once); in that window the message has no recipient yet and the archive says it is not sent."""
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    sent = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "<p>b</p>"})
    delivery = records.load(ws, sent.json["delivery_id"])
    assert delivery is not None
    records.claim(delivery)
    records.keep_content(delivery, '{"subject":"s","html":"<p>b</p>"}')

    archived = app.get(f"/v1/messages/{delivery.delivery_id}/archived_message").json["archived_message"]

    assert archived["forgotten"] is True and "body" not in archived


def test_retained_content_is_kept_beside_the_delivery_not_on_it(app, track, ws, deliver):
    """DynamoDB bills each update of the delivery (delivered, opened, clicked) on the whole item: a 20 KB
    email's content on it made each cost 40-odd write units (bench/README.md)."""
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    body = "<p>" + "news " * 4000 + "</p>"
    template = {"name": "long", "channel": "email", "subject": "s", "body": body}
    template_id = app.post("/v1/templates", template).json["template"]["id"]
    sent = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "transactional_message_id": template_id})
    delivery_id = sent.json["delivery_id"]
    deliver(delivery_id)

    delivery = records.load(ws, delivery_id)
    archived = app.get(f"/v1/messages/{delivery_id}/archived_message").json["archived_message"]

    assert delivery is not None and delivery.state == states.SENT
    assert delivery.content_json is None
    assert len(repr(delivery.serialize())) < 2000  # the item later updates are billed on (20 KB before)
    assert archived["body"] == body and archived["forgotten"] is False


def test_content_retained_on_the_delivery_by_an_older_version_is_still_shown(app, track, ws, deliver):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    sent = app.post("/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "s", "body": "<p>b</p>"})
    delivery_id = sent.json["delivery_id"]
    deliver(delivery_id)
    delivery = records.load(ws, delivery_id)
    assert delivery is not None
    delivery.update(actions=[Delivery.content_json.set('{"subject":"old","html":"<p>old</p>"}')])

    archived = app.get(f"/v1/messages/{delivery_id}/archived_message").json["archived_message"]

    assert archived["subject"] == "old" and archived["body"] == "<p>old</p>"


def test_archived_message_without_retention_is_forgotten(app, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})
    sent = app.post(
        "/v1/send/email",
        {"identifiers": {"id": "ann"}, "subject": "s", "body": "b", "disable_message_retention": True},
    )
    deliver(sent.json["delivery_id"])

    archived = app.get(f"/v1/messages/{sent.json['delivery_id']}/archived_message").json["archived_message"]

    assert archived["forgotten"] is True
    assert "body" not in archived and "subject" not in archived
    assert archived["recipient"] == "ann@example.com"


def test_archived_sms_body(app, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"phone": "+15555550100"})
    sent = app.post("/v1/send/sms", {"identifiers": {"id": "ann"}, "body": "Code 1234", "to": "+15555550100"})
    deliver(sent.json["delivery_id"])

    archived = app.get(f"/v1/messages/{sent.json['delivery_id']}/archived_message").json["archived_message"]

    assert archived["type"] == "sms"
    assert archived["body"] == "Code 1234"


def _index_entries(index, key):
    return list(index.query(key))


def test_a_state_change_rewrites_no_listing_index_entry(app, ws, ann, at):
    """Both listing indexes project what a listing shows: their keys sit on the delivery's listing item
    (written once), not on the delivery, so the claim, the outcome and every metric write one item
    instead of three (bench/README.md)."""
    _queue(ws, ann, "m1", campaign_id="c1")
    by_person = _index_entries(DeliveriesItem.by_person, records.person_key(ws, ann))
    by_workspace = _index_entries(DeliveriesItem.by_workspace, workspace_shard(ws, "m1"))

    at["t"] += 5
    _went_out(ws, "m1", at["t"])

    assert [type(e) for e in by_person] == [DeliveryListing] and len(by_workspace) == 1
    delivery = records.load(ws, "m1")
    assert delivery.person_key is None and delivery.workspace_shard is None
    after = _index_entries(DeliveriesItem.by_person, records.person_key(ws, ann))
    assert after[0].serialize(null_check=False) == by_person[0].serialize(null_check=False)
    listed = app.get("/v1/messages").json["messages"]
    person = app.get("/v1/customers/ann/messages").json["messages"]
    assert listed == person == [records.to_api(delivery)]
    assert listed[0]["state"] == states.SENT and listed[0]["metrics"]["sent"] == at["t"]
    assert listed[0]["campaign_id"] == "c1"


def test_a_delivery_listed_by_its_own_entry_before_listing_items_is_still_listed(app, ws, ann, at):
    """A delivery queued by an older version carries the index keys itself (no listing item)."""
    _queue(ws, ann, "new")
    at["t"] -= 10
    old = Delivery(
        records.delivery_pk(ws, "old"),
        records.SK,
        workspace_id=ws,
        delivery_id="old",
        cio_id=ann,
        channel="email",
        source="transactional",
        state=states.SENT,
        request_json="{}",
        metrics={"sent": at["t"]},
        created_at=at["t"],
        queued_at=at["t"],
        updated_at=at["t"],
        person_key=records.person_key(ws, ann),
        created_key=f"{at['t']:012d}#old",
        workspace_shard=workspace_shard(ws, "old"),
    )
    old.save()

    _, ids = _walk(app, limit=1)
    person = app.get("/v1/customers/ann/messages?limit=1").json
    rest = app.get(f"/v1/customers/ann/messages?limit=1&start={person['next']}").json

    assert ids == ["new", "old"]
    assert [m["id"] for m in person["messages"] + rest["messages"]] == ["new", "old"]
    assert rest["messages"][0]["state"] == states.SENT


def test_a_listing_whose_delivery_was_never_written_is_passed_over(app, ws, ann, at, monkeypatch):
    """Queueing writes the listing item first: dying before the delivery leaves a listing that shows
    nothing, and the retry writes the delivery under it, listed once."""
    monkeypatch.setattr(Delivery, "save", _fail)
    with pytest.raises(RuntimeError):
        _queue(ws, ann, "m1")
    monkeypatch.undo()
    assert len(_index_entries(DeliveriesItem.by_person, records.person_key(ws, ann))) == 1  # the listing

    assert app.get("/v1/messages").json["messages"] == []
    assert app.get("/v1/customers/ann/messages").json["messages"] == []

    _queue(ws, ann, "m1")

    assert [m["id"] for m in app.get("/v1/messages").json["messages"]] == ["m1"]
    assert [m["id"] for m in app.get("/v1/customers/ann/messages").json["messages"]] == ["m1"]


def _fail(*_args, **_kwargs):
    raise RuntimeError("the function died here")
