"""Events: per person, idempotent by id, anonymous, and merged into a person on identify."""

import time

from nudge.model import EventItem
from tests.support.people import events_of, profile


def test_event_is_stored_for_the_person(track, ws):
    track.put("/api/v1/customers/u1", {})
    answer = track.post(
        "/api/v1/customers/u1/events",
        {"name": "  purchase ", "data": {"amount": 10}, "timestamp": 1_700_000_000},
    )
    assert (answer.status, answer.json) == (200, {})
    [event] = events_of(ws, "u1")
    assert event["name"] == "purchase"  # trimmed
    assert event["data"] == {"amount": 10}
    assert event["timestamp"] == 1_700_000_000
    assert event["type"] == "event"


def test_event_without_timestamp_is_stamped_now(track, ws):
    before = int(time.time())
    track.post("/api/v1/customers/u1/events", {"name": "login"})
    [event] = events_of(ws, "u1")
    assert before <= event["timestamp"] <= int(time.time())


def test_same_event_id_twice_stores_one_event(track, ws):
    body = {"name": "purchase", "id": "01HZXYZABCDEFGHJKMNPQRSTVW", "data": {"amount": 10}}
    assert track.post("/api/v1/customers/u1/events", body).status == 200
    assert track.post("/api/v1/customers/u1/events", body).status == 200  # a client retry
    assert len(events_of(ws, "u1")) == 1


def test_events_come_back_newest_first(track, ws):
    for ts in (1000, 3000, 2000):
        track.post("/api/v1/customers/u1/events", {"name": f"e{ts}", "timestamp": ts})
    assert [e["timestamp"] for e in events_of(ws, "u1")] == [3000, 2000, 1000]


def test_event_for_an_unknown_person_creates_them(track, ws):
    track.post("/api/v1/customers/new@example.com/events", {"name": "signup"})
    assert profile(ws, "new@example.com") is not None
    assert len(events_of(ws, "new@example.com")) == 1


def test_page_views_are_events_of_type_page(track, ws):
    track.post("/api/v1/customers/u1/events", {"name": "https://example.com/pricing", "type": "page"})
    [event] = events_of(ws, "u1")
    assert event["type"] == "page"


def test_unknown_event_type_is_refused(track):
    answer = track.post("/api/v1/customers/u1/events", {"name": "x", "type": "click"})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "type must be one of event, page, screen"


def test_anonymous_events_merge_into_the_person_on_identify(track, ws):
    track.post(
        "/api/v1/events", {"name": "viewed_pricing", "anonymous_id": "anon-1", "data": {"plan": "pro"}}
    )
    track.post("/api/v1/events", {"name": "started_trial", "anonymous_id": "anon-1"})
    track.post("/api/v1/events", {"name": "someone_else", "anonymous_id": "anon-2"})
    track.put("/api/v1/customers/u1", {"anonymous_id": "anon-1"})
    assert sorted(e["name"] for e in events_of(ws, "u1")) == ["started_trial", "viewed_pricing"]
    assert profile(ws, "u1")["anonymous_ids"] == ["anon-1"]
    # Nothing is left behind under the anonymous id, and the other anonymous visitor is untouched.
    assert list(EventItem.query(f"{ws}#a#anon-1")) == []
    assert len(list(EventItem.query(f"{ws}#a#anon-2"))) == 1


def test_anonymous_events_after_the_merge_go_to_the_person(track, ws):
    track.put("/api/v1/customers/u1", {"anonymous_id": "anon-1"})
    track.post("/api/v1/events", {"name": "later", "anonymous_id": "anon-1"})
    assert [e["name"] for e in events_of(ws, "u1")] == ["later"]


def test_anonymous_events_older_than_30_days_are_not_merged(track, ws):
    old = int(time.time()) - 31 * 24 * 3600
    track.post("/api/v1/events", {"name": "ancient", "anonymous_id": "anon-1", "timestamp": old})
    track.post("/api/v1/events", {"name": "recent", "anonymous_id": "anon-1"})
    track.put("/api/v1/customers/u1", {"anonymous_id": "anon-1"})
    assert [e["name"] for e in events_of(ws, "u1")] == ["recent"]


def test_anonymous_events_expire_after_the_look_back(track, ws):
    track.post("/api/v1/events", {"name": "visit", "anonymous_id": "anon-1"})
    [item] = EventItem.query(f"{ws}#a#anon-1")
    assert item.expires_at is not None
    assert 29 * 86400 < item.expires_at.timestamp() - time.time() <= 30 * 86400


def test_an_event_with_no_anonymous_id_is_accepted(track):
    assert track.post("/api/v1/events", {"name": "broadcast_ping", "data": {"x": 1}}).status == 200


def test_an_anonymous_id_belongs_to_the_first_person_it_merged_into(track, ws):
    track.put("/api/v1/customers/u1", {"anonymous_id": "anon-1"})
    track.put("/api/v1/customers/u2", {"anonymous_id": "anon-1"})
    track.post("/api/v1/events", {"name": "later", "anonymous_id": "anon-1"})
    assert [e["name"] for e in events_of(ws, "u1")] == ["later"]
    assert events_of(ws, "u2") == []
