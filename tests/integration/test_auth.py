"""Every Track request is authenticated per workspace, and a key never reaches another workspace."""

from nudge import workspaces
from tests.support.people import profile
from tests.support.track import TrackClient, basic


def test_missing_credentials_get_401(track):
    answer = track.put("/api/v1/customers/u1", {}, auth="")
    assert answer.status == 401
    assert "error" in answer.json["meta"]


def test_wrong_key_gets_401(track, keys):
    answer = track.put("/api/v1/customers/u1", {}, auth=basic(keys.site_id, "not-the-key"))
    assert answer.status == 401


def test_unknown_site_gets_401(track, keys):
    answer = track.put("/api/v1/customers/u1", {}, auth=basic("nosuchsite", keys.track_api_key))
    assert answer.status == 401


def test_bearer_scheme_is_not_track_auth(track, keys):
    answer = track.put("/api/v1/customers/u1", {}, auth=f"Bearer {keys.app_api_key}")
    assert answer.status == 401


def test_garbage_base64_gets_401(track):
    assert track.put("/api/v1/customers/u1", {}, auth="Basic !!!not-base64!!!").status == 401


def test_url_safe_base64_is_accepted(track, keys):
    answer = track.put("/api/v1/customers/u1", {}, auth=basic(keys.site_id, keys.track_api_key, urlsafe=True))
    assert answer.status == 200


def test_one_workspace_cannot_see_or_change_anothers_people(account):
    a = workspaces.create_workspace("A", "essentials")
    b = workspaces.create_workspace("B", "essentials")
    TrackClient(a.site_id, a.track_api_key).put("/api/v1/customers/same-id", {"owner": "a"})
    TrackClient(b.site_id, b.track_api_key).put("/api/v1/customers/same-id", {"owner": "b"})
    TrackClient(b.site_id, b.track_api_key).delete("/api/v1/customers/same-id")
    seen_by_a = profile(a.workspace_id, "same-id")
    assert seen_by_a is not None and seen_by_a["attributes"]["owner"] == "a"
    assert profile(b.workspace_id, "same-id") is None


def test_a_key_only_works_with_its_own_site_id(account):
    a = workspaces.create_workspace("A", "essentials")
    b = workspaces.create_workspace("B", "essentials")
    answer = TrackClient(a.site_id, b.track_api_key).put("/api/v1/customers/x", {})
    assert answer.status == 401


def test_rotated_keys_replace_the_old_ones(track, keys, ws):
    new = workspaces.rotate_keys(ws)
    assert track.put("/api/v1/customers/u1", {}).status == 401
    assert TrackClient(new.site_id, new.track_api_key).put("/api/v1/customers/u1", {}).status == 200
    assert workspaces.authenticate_app(new.app_api_key) == ws


def test_keys_are_stored_hashed(keys):
    from nudge.model import TrackCredential

    stored = TrackCredential.get(f"site#{keys.site_id}", "track")
    assert keys.track_api_key not in stored.key_hash
    assert stored.key_hash == workspaces.hash_key(keys.track_api_key)
