"""PUT /api/v1/customers/{identifier}: creation, updates, identifier rules and reserved fields."""

from unittest import mock

from nudge.tracking import people
from tests.support.people import by, profile


def test_identify_creates_a_person_with_attributes(track, ws):
    answer = track.put("/api/v1/customers/u1", {"email": "Ann@Example.com", "plan": "pro", "seats": 3})
    assert (answer.status, answer.json) == (200, {})
    found = profile(ws, "u1")
    assert found["id"] == "u1"
    assert found["email"] == "Ann@Example.com"
    assert found["attributes"]["plan"] == "pro"
    assert found["attributes"]["seats"] == 3
    assert found["cio_id"]
    assert found["created_at"] > 0 and found["updated_at"] >= found["created_at"]


def test_identify_again_updates_the_same_person(track, ws):
    track.put("/api/v1/customers/u1", {"plan": "free", "city": "Oslo"})
    first = profile(ws, "u1")
    track.put("/api/v1/customers/u1", {"plan": "pro"})
    second = profile(ws, "u1")
    assert second["cio_id"] == first["cio_id"]
    assert second["attributes"] == {"id": "u1", "plan": "pro", "city": "Oslo"}


def test_email_path_matches_case_insensitively(track, ws):
    track.put("/api/v1/customers/Ann@Example.com", {"plan": "free"})
    track.put("/api/v1/customers/ann@EXAMPLE.com", {"plan": "pro"})
    found = by(ws, "email", "ANN@example.com")
    assert found["attributes"]["plan"] == "pro"
    assert found["email"] == "ann@EXAMPLE.com"  # the latest capitalisation is kept for sending


def test_percent_encoded_path_identifier_is_decoded(track, ws):
    assert track.put("/api/v1/customers/u%201%2Fx", {"a": 1}).status == 200
    assert by(ws, "id", "u 1/x") is not None


def test_cio_path_addresses_the_internal_id(track, ws):
    track.put("/api/v1/customers/u1", {"plan": "free"})
    cio = profile(ws, "u1")["cio_id"]
    assert track.put(f"/api/v1/customers/cio_{cio}", {"plan": "pro"}).status == 200
    assert profile(ws, "u1")["attributes"]["plan"] == "pro"


def test_unknown_cio_id_is_404(track):
    answer = track.put("/api/v1/customers/cio_nosuch", {"plan": "pro"})
    assert answer.status == 404
    assert "not found" in answer.json["meta"]["error"]


def test_changing_id_through_cio_path_moves_the_lookup(track, ws):
    track.put("/api/v1/customers/old", {})
    cio = profile(ws, "old")["cio_id"]
    track.put(f"/api/v1/customers/cio_{cio}", {"id": "new"})
    assert profile(ws, "old") is None
    assert profile(ws, "new")["cio_id"] == cio


def test_unknown_path_id_with_known_body_email_updates_that_person(track, ws):
    track.put("/api/v1/customers/ann@example.com", {"plan": "free"})
    cio = by(ws, "email", "ann@example.com")["cio_id"]
    track.put("/api/v1/customers/u42", {"email": "ANN@example.com", "plan": "pro"})
    found = profile(ws, "u42")
    assert found["cio_id"] == cio
    assert found["attributes"]["plan"] == "pro"


def test_changing_email_frees_the_old_address(track, ws):
    track.put("/api/v1/customers/u1", {"email": "old@example.com"})
    track.put("/api/v1/customers/u1", {"email": "new@example.com"})
    assert by(ws, "email", "old@example.com") is None
    assert by(ws, "email", "new@example.com")["id"] == "u1"


def test_taking_another_persons_email_is_a_conflict(track, ws):
    track.put("/api/v1/customers/u1", {"email": "a@example.com"})
    track.put("/api/v1/customers/u2", {"email": "b@example.com"})
    answer = track.put("/api/v1/customers/u2", {"email": "A@example.com"})
    assert answer.status == 409
    assert "already belongs" in answer.json["meta"]["error"]
    assert by(ws, "email", "b@example.com")["id"] == "u2"


def test_changing_id_while_addressing_by_id_is_refused(track):
    answer = track.put("/api/v1/customers/u1", {"id": "u2"})
    assert answer.status == 400
    assert "cio_" in answer.json["meta"]["error"]


def test_update_only_never_creates(track, ws):
    assert track.put("/api/v1/customers/ghost", {"_update": True, "plan": "pro"}).status == 200
    assert profile(ws, "ghost") is None
    track.put("/api/v1/customers/ghost", {})
    track.put("/api/v1/customers/ghost", {"_update": True, "plan": "pro"})
    assert profile(ws, "ghost")["attributes"]["plan"] == "pro"


def test_older_timestamp_never_overwrites_a_newer_value(track, ws):
    track.put("/api/v1/customers/u1", {"plan": "pro", "_timestamp": 2000})
    track.put("/api/v1/customers/u1", {"plan": "free", "city": "Oslo", "_timestamp": 1000})
    found = profile(ws, "u1")
    assert found["attributes"]["plan"] == "pro"  # the older update lost for this attribute
    assert found["attributes"]["city"] == "Oslo"  # but it still set what nothing newer had set


def test_older_timestamp_cannot_resurrect_a_removed_attribute(track, ws):
    track.put("/api/v1/customers/u1", {"plan": "pro", "_timestamp": 1000})
    track.put("/api/v1/customers/u1", {"plan": None, "_timestamp": 3000})
    track.put("/api/v1/customers/u1", {"plan": "free", "_timestamp": 2000})
    assert "plan" not in profile(ws, "u1")["attributes"]


def test_null_and_empty_string_remove_an_attribute(track, ws):
    track.put("/api/v1/customers/u1", {"a": 1, "b": 2, "c": 3})
    track.put("/api/v1/customers/u1", {"a": None, "b": ""})
    assert profile(ws, "u1")["attributes"] == {"id": "u1", "c": 3}


def test_created_at_is_taken_from_the_body(track, ws):
    track.put("/api/v1/customers/u1", {"created_at": 1_600_000_000})
    assert profile(ws, "u1")["created_at"] == 1_600_000_000


def test_unsubscribed_accepts_true_one_and_string_one(track, ws):
    for value, expected in ((True, True), (0, False), ("1", True), ("false", False), (1, True)):
        track.put("/api/v1/customers/u1", {"unsubscribed": value})
        assert profile(ws, "u1")["unsubscribed"] is expected


def test_unsubscribed_rejects_other_values(track):
    answer = track.put("/api/v1/customers/u1", {"unsubscribed": "maybe"})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "unsubscribed must be true or false"


def test_subscription_preferences_nested_and_dot_notation(track, ws):
    track.put("/api/v1/customers/u1", {"cio_subscription_preferences": {"topics": {"topic_1": True}}})
    track.put("/api/v1/customers/u1", {"cio_subscription_preferences.topics.topic_2": False})
    found = profile(ws, "u1")
    assert found["subscription_preferences"] == {"topics.topic_1": True, "topics.topic_2": False}
    assert "cio_subscription_preferences.topics.topic_2" not in found["attributes"]


def test_a_lost_race_on_creation_retries_as_an_update(track, ws):
    track.put("/api/v1/customers/u1", {"plan": "free"})
    real_load = people.load
    calls = {"n": 0}

    def stale_first_read(workspace_id, ref):
        calls["n"] += 1
        return None if calls["n"] == 1 else real_load(workspace_id, ref)

    # The first read misses the person (as a concurrent creator would); the create transaction's
    # uniqueness condition fails, and the retry updates the one person instead of making a second.
    with mock.patch.object(people, "load", side_effect=stale_first_read):
        assert track.put("/api/v1/customers/u1", {"plan": "pro"}).status == 200
    assert profile(ws, "u1")["attributes"]["plan"] == "pro"
    assert calls["n"] >= 2


def test_a_concurrent_update_is_not_lost(track, ws):
    track.put("/api/v1/customers/u1", {"a": 1})
    real_save = people.save_if_unchanged
    interfered = {"done": False}

    def interfere_once(person):
        if not interfered["done"]:
            interfered["done"] = True
            track.put("/api/v1/customers/u1", {"b": 2})  # lands between our read and our write
        return real_save(person)

    with mock.patch.object(people, "save_if_unchanged", side_effect=interfere_once):
        assert track.put("/api/v1/customers/u1", {"c": 3}).status == 200
    assert profile(ws, "u1")["attributes"] == {"id": "u1", "a": 1, "b": 2, "c": 3}


def test_delete_removes_the_person_and_their_identifiers(track, ws):
    track.put("/api/v1/customers/u1", {"email": "a@example.com"})
    track.post("/api/v1/customers/u1/events", {"name": "signup"})
    assert track.delete("/api/v1/customers/u1", {}).status == 200
    assert profile(ws, "u1") is None
    assert by(ws, "email", "a@example.com") is None
    track.put("/api/v1/customers/u1", {})
    assert profile(ws, "u1") is not None  # a new person, with none of the old data


def test_deleting_nobody_succeeds(track):
    assert track.delete("/api/v1/customers/nobody", {}).status == 200


def test_delete_without_a_body_like_the_go_client(track, ws):
    track.put("/api/v1/customers/u1", {})
    assert track.request("DELETE", "/api/v1/customers/u1").status == 200
    assert profile(ws, "u1") is None
