"""Suppress deletes the person and blocks the identifier; unsuppress lifts the block only."""

from tests.support.people import by, profile


def test_suppress_deletes_and_blocks_every_identifier(track, ws):
    track.put("/api/v1/customers/u1", {"email": "a@example.com", "plan": "pro"})
    assert track.post("/api/v1/customers/u1/suppress", {}).status == 200
    assert profile(ws, "u1") is None
    assert track.put("/api/v1/customers/u1", {"plan": "x"}).status == 200
    assert track.put("/api/v1/customers/a@example.com", {"plan": "x"}).status == 200
    track.post("/api/v1/customers/u1/events", {"name": "ignored"})
    assert profile(ws, "u1") is None
    assert by(ws, "email", "a@example.com") is None


def test_unsuppress_allows_recreation_but_does_not_restore(track, ws):
    track.put("/api/v1/customers/u1", {"email": "a@example.com", "plan": "pro"})
    track.post("/api/v1/customers/u1/suppress", {})
    assert track.post("/api/v1/customers/a@example.com/unsuppress", {}).status == 200
    assert profile(ws, "u1") is None
    track.put("/api/v1/customers/u1", {})
    assert profile(ws, "u1")["attributes"] == {"id": "u1"}


def test_suppressing_an_unknown_identifier_blocks_it(track, ws):
    track.post("/api/v1/customers/never-seen/suppress", {})
    track.put("/api/v1/customers/never-seen", {})
    assert profile(ws, "never-seen") is None


def test_an_existing_person_cannot_take_a_suppressed_email(track, ws):
    track.post("/api/v1/customers/blocked@example.com/suppress", {})
    track.put("/api/v1/customers/u1", {})
    answer = track.put("/api/v1/customers/u1", {"email": "blocked@example.com"})
    assert answer.status == 400
    assert "suppressed" in answer.json["meta"]["error"]
