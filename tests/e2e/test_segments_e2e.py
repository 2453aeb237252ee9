"""Segments in the local runtime, over real HTTP: real-time entry, leaving a time window with no new data,
and backfilling a new segment over people who already exist."""

from __future__ import annotations

import time
import uuid


def create_segment(local, conditions):
    answer = local.app(
        "POST", "/v1/segments", {"segment": {"name": uuid.uuid4().hex, "conditions": conditions}}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["segment"]["id"]


def member_ids(local, segment_id):
    answer = local.app("GET", f"/v1/segments/{segment_id}/membership")
    assert answer.status_code == 200, answer.text
    return sorted(i["id"] for i in answer.json()["identifiers"])


def test_a_person_tracked_over_http_enters_a_segment(local):
    tag = uuid.uuid4().hex[:8]
    segment_id = create_segment(local, {"attribute": {"field": "team", "operator": "eq", "value": tag}})
    began = time.monotonic()
    assert local.track("PUT", f"/api/v1/customers/e2e-{tag}", {"team": tag}).status_code == 200
    local.wait_until(lambda: member_ids(local, segment_id) == [f"e2e-{tag}"], timeout=10)
    # Typically well under a second (see bench/README.md for the measured latency).
    print(f"entered after {time.monotonic() - began:.3f} s")


def test_leaving_a_window_as_time_passes(local):
    # The session runtime runs at --time-scale 60: two local minutes pass in about two real seconds.
    tag = uuid.uuid4().hex[:8]
    segment_id = create_segment(
        local,
        {"event": {"name": f"login-{tag}", "timeframe": {"type": "within", "amount": 2, "unit": "minutes"}}},
    )
    person = f"window-{tag}"
    assert (
        local.track("POST", f"/api/v1/customers/{person}/events", {"name": f"login-{tag}"}).status_code == 200
    )
    local.wait_until(lambda: member_ids(local, segment_id) == [person], timeout=10)
    local.wait_until(lambda: member_ids(local, segment_id) == [], timeout=20)  # no new data was sent


def test_a_new_segment_backfills_people_who_already_exist(local):
    tag = uuid.uuid4().hex[:8]
    for i in range(5):
        local.track("PUT", f"/api/v1/customers/bf-{tag}-{i}", {"cohort": tag, "even": i % 2 == 0})
    segment_id = create_segment(
        local,
        {
            "and": [
                {"attribute": {"field": "cohort", "operator": "eq", "value": tag}},
                {"attribute": {"field": "even", "operator": "eq", "value": True}},
            ]
        },
    )
    # A backfill pages through every profile shard, one stream round trip each: on a loaded machine
    # sharing this runtime with the other tests that takes longer than the default wait.
    local.wait_until(
        lambda: local.app("GET", f"/v1/segments/{segment_id}").json()["segment"]["state"] == "finished",
        timeout=90,
    )
    assert member_ids(local, segment_id) == [f"bf-{tag}-0", f"bf-{tag}-2", f"bf-{tag}-4"]
