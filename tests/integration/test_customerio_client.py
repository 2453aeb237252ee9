"""Customer.io's official Python client (customerio 3.x), unmodified, pointed at Nudge.

Its requests travel through a ``requests`` transport into the real Track handler, so every byte the
client sends (paths, percent-encoding, auth header, JSON bodies) is what Nudge parses.
"""

from datetime import UTC, datetime

import pytest
from customerio import (
    APIClient,
    CustomerIO,
    CustomerIOException,
    SendEmailRequest,
    SendInAppRequest,
    SendPushRequest,
    SendSMSRequest,
)

from nudge.delivery import states
from nudge.segments import definitions
from nudge.tracking import segments
from tests.support.people import by, devices_of, events_of, profile
from tests.support.track import LambdaAdapter


@pytest.fixture
def cio(keys):
    client = CustomerIO(keys.site_id, keys.track_api_key, host="track.nudge.test", retries=0)
    client.http.mount("https://", LambdaAdapter())
    return client


def test_identify(cio, ws):
    cio.identify(id="u 1/x", email="Ann@example.com", plan="pro", created_at=datetime(2024, 1, 1, tzinfo=UTC))
    found = profile(ws, "u%201%2Fx")
    assert found["email"] == "Ann@example.com"
    assert found["attributes"]["plan"] == "pro"
    assert found["created_at"] == 1_704_067_200


def test_track_pageview_backfill(cio, ws):
    cio.track("u1", "purchase", {"amount": 10}, id="01J0000000000000000000000A", timestamp=1_700_000_000)
    cio.track("u1", "purchase", {"amount": 10}, id="01J0000000000000000000000A", timestamp=1_700_000_000)
    cio.pageview("u1", "https://example.com/pricing", referrer="ad")
    cio.backfill("u1", "legacy", 1_600_000_000, source="import")
    found = {e["name"]: e for e in events_of(ws, "u1")}
    assert found["purchase"]["data"] == {"amount": 10}
    assert found["https://example.com/pricing"]["type"] == "page"
    assert found["legacy"]["timestamp"] == 1_600_000_000
    assert len(events_of(ws, "u1")) == 3  # the resent purchase was deduplicated by id


def test_track_anonymous_then_identify_merges(cio, ws):
    cio.track_anonymous("anon-7", "viewed", {"page": "/"})
    cio.identify("u1", anonymous_id="anon-7")
    assert [e["name"] for e in events_of(ws, "u1")] == ["viewed"]


def test_devices(cio, ws):
    cio.add_device("u1", "tok-1", "ios", last_used=1_700_000_000, app_version="1.2")
    assert devices_of(ws, "u1") == [
        {"id": "tok-1", "platform": "ios", "last_used": 1_700_000_000, "attributes": {"app_version": "1.2"}}
    ]
    cio.delete_device("u1", "tok-1")
    assert devices_of(ws, "u1") == []


def test_suppress_unsuppress_delete(cio, ws):
    cio.identify("u1", email="a@example.com")
    cio.suppress("u1")
    cio.identify("u1")
    assert profile(ws, "u1") is None
    cio.unsuppress("u1")
    cio.identify("u1")
    cio.delete("u1")
    assert profile(ws, "u1") is None


def test_merge_customers(cio, ws):
    cio.identify("a", plan="pro")
    cio.identify("b@example.com", team="blue")
    cio.merge_customers("id", "a", "email", "b@example.com")
    assert profile(ws, "a")["attributes"]["team"] == "blue"
    assert by(ws, "email", "b@example.com")["id"] == "a"


def test_batch(cio, ws):
    cio.batch(
        [
            {"type": "person", "action": "identify", "identifiers": {"id": "u1"}, "attributes": {"a": 1}},
            {"type": "person", "action": "event", "identifiers": {"id": "u1"}, "name": "x"},
        ]
    )
    assert profile(ws, "u1")["attributes"]["a"] == 1


def test_errors_surface_as_client_exceptions(cio):
    with pytest.raises(CustomerIOException, match="event name must not be blank"):
        cio.track("u1", "")


def test_manual_segment_membership_via_raw_request(cio, ws, keys):
    cio.identify("u1")
    segment_id = definitions.create_manual_segment(ws, "S")
    response = cio.send_request(
        "POST", f"{cio.base_url}/segments/{segment_id}/add_customers", {"ids": ["u1"]}
    )
    assert response.status_code == 200
    assert segments.members(ws, segment_id) == [profile(ws, "u1")["cio_id"]]


def test_api_client_sends_on_every_channel_nudge_has(keys, track, app, ws, deliver, channels):
    """customerio 3.2's APIClient has six methods, all transactional sends; Nudge routes four of them
    (send_whatsapp and send_inbox_message have no channel here). Each one's answer names a delivery that
    the pipeline then sends, rendered, to the person the request named."""
    from functions.api import handler as api_handler

    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "phone": "+15550100", "plan": "pro"})
    track.put("/api/v1/customers/ann/devices", {"device": {"id": "tok-ios-1", "platform": "ios"}})
    client = APIClient(keys.app_api_key, url="https://api.nudge.test", retries=0)
    client.http.mount("https://", LambdaAdapter(api_handler.handler))

    def template(channel: str, body: str) -> str:
        return str(
            app.post("/v1/templates", {"name": channel, "channel": channel, "body": body}).json["template"][
                "id"
            ]
        )

    answers = {
        "email": client.send_email(
            SendEmailRequest(
                identifiers={"id": "ann"},
                _from="shop@example.com",
                subject="Hi",
                body="Plan {{ customer.plan }}",
            )
        ),
        "sms": client.send_sms(
            SendSMSRequest(
                identifiers={"id": "ann"},
                transactional_message_id=template("sms", "Code {{ trigger.code }}"),
                message_data={"code": 42},
            )
        ),
        "push": client.send_push(SendPushRequest(identifiers={"id": "ann"}, title="Hi", message="Shipped")),
        "in_app": client.send_in_app(
            SendInAppRequest(
                identifiers={"id": "ann"}, transactional_message_id=template("in_app", "Welcome")
            )
        ),
    }

    for answer in answers.values():
        assert deliver(answer["delivery_id"]).state == states.SENT
    assert "Plan pro" in channels.email.sent[0].html
    assert (channels.sms.sent[0].phone, channels.sms.sent[0].body) == ("+15550100", "Code 42")
    assert [d.token for d in channels.push.sent[0].devices] == ["tok-ios-1"]
    assert channels.push.sent[0].title == "Hi"
    inbox = app.get("/v1/customers/ann/messages").json["messages"]
    assert {m["id"]: m["channel"] for m in inbox} == {a["delivery_id"]: c for c, a in answers.items()}
