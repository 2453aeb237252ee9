"""add_customers / remove_customers on manual segments."""

from nudge.model import Membership
from nudge.model.keys import member_sk, segment_pk
from nudge.segments import definitions
from nudge.tracking import segments
from tests.support.people import profile


def test_add_and_remove_by_id(track, ws):
    track.put("/api/v1/customers/u1", {})
    track.put("/api/v1/customers/u2", {})
    segment_id = definitions.create_manual_segment(ws, "Beta testers")
    answer = track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["u1", "u2", "unknown"]})
    assert (answer.status, answer.json) == (200, {})
    members = {profile(ws, "u1")["cio_id"], profile(ws, "u2")["cio_id"]}
    assert set(segments.members(ws, segment_id)) == members
    track.post(f"/api/v1/segments/{segment_id}/remove_customers", {"ids": ["u2"]})
    assert segments.members(ws, segment_id) == [profile(ws, "u1")["cio_id"]]


def test_id_type_email_and_cio_id(track, ws):
    track.put("/api/v1/customers/a@example.com", {})
    track.put("/api/v1/customers/u2", {})
    cio2 = profile(ws, "u2")["cio_id"]
    segment_id = definitions.create_manual_segment(ws, "S")
    # An entry no one can have (not an address) is skipped as an unknown person is, not a 400 for all.
    by_email = {"ids": ["not-an-address", "A@example.com"]}
    assert track.post(f"/api/v1/segments/{segment_id}/add_customers?id_type=email", by_email).status == 200
    track.post(f"/api/v1/segments/{segment_id}/add_customers?id_type=cio_id", {"ids": [cio2]})
    assert set(segments.members(ws, segment_id)) == {profile(ws, "a@example.com")["cio_id"], cio2}


def test_re_adding_keeps_the_original_entered_at(track, ws):
    track.put("/api/v1/customers/u1", {})
    segment_id = definitions.create_manual_segment(ws, "S")
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["u1"]})
    cio = profile(ws, "u1")["cio_id"]
    item = Membership.get(segment_pk(ws, segment_id), member_sk(cio))
    item.update(actions=[Membership.entered_at.set(1000)])
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["u1"]})
    assert Membership.get(segment_pk(ws, segment_id), member_sk(cio)).entered_at == 1000


def test_more_than_1000_ids_is_refused(track, ws):
    segment_id = definitions.create_manual_segment(ws, "S")
    answer = track.post(
        f"/api/v1/segments/{segment_id}/add_customers", {"ids": [str(i) for i in range(1001)]}
    )
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "cannot add or remove more than 1000 ids in one request"


def test_unknown_segment_is_404(track):
    answer = track.post("/api/v1/segments/999/add_customers", {"ids": ["u1"]})
    assert answer.status == 404
    assert answer.json["meta"]["error"] == "segment 999 not found"


def test_bad_id_type_is_refused(track, ws):
    segment_id = definitions.create_manual_segment(ws, "S")
    answer = track.post(f"/api/v1/segments/{segment_id}/add_customers?id_type=phone_number", {"ids": ["1"]})
    assert answer.status == 400


def test_segments_of_another_workspace_are_invisible(track, account):
    from nudge import workspaces

    other = workspaces.create_workspace("Other", "essentials")
    segment_id = definitions.create_manual_segment(other.workspace_id, "Theirs")
    assert track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["u1"]}).status == 404
