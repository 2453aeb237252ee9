"""POST /api/v1/merge_customers."""

from nudge.segments import definitions
from nudge.tracking import segments
from tests.support.people import by, devices_of, events_of, profile


def test_merge_folds_the_secondary_into_the_primary(track, ws):
    track.put("/api/v1/customers/primary", {"plan": "pro", "city": "Oslo"})
    track.put("/api/v1/customers/secondary", {"email": "s@example.com", "plan": "free", "team": "blue"})
    track.post("/api/v1/customers/secondary/events", {"name": "signup", "id": "ev-1"})
    track.put("/api/v1/customers/secondary/devices", {"device": {"id": "tok", "platform": "ios"}})
    segment_id = definitions.create_manual_segment(ws, "VIP")
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["secondary"]})

    answer = track.post(
        "/api/v1/merge_customers", {"primary": {"id": "primary"}, "secondary": {"id": "secondary"}}
    )

    assert (answer.status, answer.json) == (200, {})
    merged = profile(ws, "primary")
    assert merged["attributes"]["plan"] == "pro"  # the primary keeps its own values
    assert merged["attributes"]["team"] == "blue"  # and gains what it lacked
    assert merged["email"] == "s@example.com"  # including an identifier of a kind it had none of
    assert by(ws, "email", "s@example.com")["cio_id"] == merged["cio_id"]
    assert profile(ws, "secondary") is None
    assert [e["name"] for e in events_of(ws, "primary")] == ["signup"]
    assert [d["id"] for d in devices_of(ws, "primary")] == ["tok"]
    assert segments.members(ws, segment_id) == [merged["cio_id"]]


def test_merge_by_email_and_cio_id(track, ws):
    track.put("/api/v1/customers/p@example.com", {})
    track.put("/api/v1/customers/u2", {"x": 1})
    cio = profile(ws, "u2")["cio_id"]
    answer = track.post(
        "/api/v1/merge_customers", {"primary": {"email": "P@example.com"}, "secondary": {"cio_id": cio}}
    )
    assert answer.status == 200
    assert profile(ws, "p@example.com")["attributes"]["x"] == 1


def test_merging_twice_is_harmless(track, ws):
    track.put("/api/v1/customers/a", {})
    track.put("/api/v1/customers/b", {"k": "v"})
    body = {"primary": {"id": "a"}, "secondary": {"id": "b"}}
    assert track.post("/api/v1/merge_customers", body).status == 200
    assert track.post("/api/v1/merge_customers", body).status == 200
    assert profile(ws, "a")["attributes"]["k"] == "v"


def test_each_side_needs_exactly_one_identifier(track):
    answer = track.post(
        "/api/v1/merge_customers",
        {"primary": {"id": "a", "email": "a@example.com"}, "secondary": {"id": "b"}},
    )
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "primary must contain exactly one of id, email, cio_id"


def test_missing_primary_is_404(track):
    track.put("/api/v1/customers/b", {})
    answer = track.post("/api/v1/merge_customers", {"primary": {"id": "nobody"}, "secondary": {"id": "b"}})
    assert answer.status == 404
