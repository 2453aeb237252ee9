"""Devices in both body shapes, updates, deletion, and a token moving between people."""

from tests.support.people import devices_of


def test_device_with_attributes_inline_like_python_and_ruby(track, ws):
    body = {"device": {"id": "tok1", "platform": "ios", "last_used": 1_700_000_000, "app_version": "2.1"}}
    assert track.put("/api/v1/customers/u1/devices", body).status == 200
    assert devices_of(ws, "u1") == [
        {"id": "tok1", "platform": "ios", "last_used": 1_700_000_000, "attributes": {"app_version": "2.1"}}
    ]


def test_device_with_nested_attributes_like_node(track, ws):
    body = {"device": {"id": "tok1", "platform": "android", "attributes": {"app_version": "3.0"}}}
    track.put("/api/v1/customers/u1/devices", body)
    [device] = devices_of(ws, "u1")
    assert device["attributes"] == {"app_version": "3.0"}


def test_device_update_replaces_the_record(track, ws):
    track.put("/api/v1/customers/u1/devices", {"device": {"id": "tok1", "platform": "ios"}})
    track.put("/api/v1/customers/u1/devices", {"device": {"id": "tok1", "platform": "ios", "last_used": 5}})
    assert [d["last_used"] for d in devices_of(ws, "u1")] == [5]


def test_delete_device(track, ws):
    track.put("/api/v1/customers/u1/devices", {"device": {"id": "tok/1", "platform": "ios"}})
    assert track.delete("/api/v1/customers/u1/devices/tok%2F1", {}).status == 200
    assert devices_of(ws, "u1") == []


def test_a_token_registered_by_another_person_moves_to_them(track, ws):
    track.put("/api/v1/customers/u1/devices", {"device": {"id": "shared", "platform": "ios"}})
    track.put("/api/v1/customers/u2/devices", {"device": {"id": "shared", "platform": "ios"}})
    assert devices_of(ws, "u1") == []
    assert [d["id"] for d in devices_of(ws, "u2")] == ["shared"]


def test_bad_platform_is_refused(track):
    answer = track.put("/api/v1/customers/u1/devices", {"device": {"id": "t", "platform": "windows"}})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "device platform must be one of ios, android"


def test_missing_device_is_refused(track):
    answer = track.put("/api/v1/customers/u1/devices", {"id": "t"})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "device must be present"


def test_a_device_id_that_is_not_a_string_says_so(track):
    answer = track.put("/api/v1/customers/u1/devices", {"device": {"id": 5, "platform": "ios"}})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "device id must be a string"


def test_fcm_sized_tokens_are_accepted(track, ws):
    token = "f" * 163
    assert (
        track.put("/api/v1/customers/u1/devices", {"device": {"id": token, "platform": "android"}}).status
        == 200
    )
    assert devices_of(ws, "u1")[0]["id"] == token


def test_deleting_a_person_releases_their_tokens(track, ws):
    from nudge.model import IdentifierLookup

    track.put("/api/v1/customers/u1/devices", {"device": {"id": "tok", "platform": "ios"}})
    track.delete("/api/v1/customers/u1")
    assert IdentifierLookup.count(f"{ws}#device#tok") == 0


def test_merged_devices_stay_owned_by_the_primary(track, ws):
    track.put("/api/v1/customers/a", {})
    track.put("/api/v1/customers/b/devices", {"device": {"id": "tok", "platform": "ios"}})
    track.post("/api/v1/merge_customers", {"primary": {"id": "a"}, "secondary": {"id": "b"}})
    track.put("/api/v1/customers/c/devices", {"device": {"id": "tok", "platform": "ios"}})
    assert devices_of(ws, "a") == []  # the token moved on from the primary, who owned it after the merge
    assert [d["id"] for d in devices_of(ws, "c")] == ["tok"]
