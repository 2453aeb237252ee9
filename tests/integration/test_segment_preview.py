"""Segment preview over the App API (``POST /v1/segments/preview``): count and sample for an unsaved
condition, exact when everyone was evaluated, estimated and flagged otherwise. Real handler under moto."""

from __future__ import annotations

import pytest

from nudge import workspaces
from nudge.http.app_api import segment_preview
from tests.support.track import AppClient, TrackClient

PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}


def refused(answer, field):
    assert answer.status == 400, answer.json
    [error] = answer.json["errors"]
    assert error["source"]["pointer"] == "/" + field.replace(".", "/"), error


def _people(track, count, pro_every=3):
    """``p00`` .. created in order (newer later); every ``pro_every``-th on the pro plan."""
    for i in range(count):
        plan = "pro" if i % pro_every == 0 else "free"
        track.put(
            f"/api/v1/customers/p{i:02d}",
            {"email": f"p{i:02d}@example.com", "plan": plan, "created_at": 1000 + i},
        )


def test_a_small_workspace_is_counted_exactly_with_a_newest_first_sample(app, track):
    _people(track, 9)

    answer = app.post("/v1/segments/preview?limit=2", {"conditions": PRO})

    assert answer.status == 200, answer.json
    body = answer.json
    assert body["count"] == 3 and body["matched"] == 3 and body["evaluated"] == 9
    assert body["approximate"] is False
    assert [s["id"] for s in body["sample"]] == ["p06", "p03"]
    assert set(body["sample"][0]) == {"id", "email", "cio_id"}


def test_nothing_is_saved(app, track):
    _people(track, 3)

    app.post("/v1/segments/preview", {"conditions": PRO})

    assert app.get("/v1/segments").json["segments"] == []


def test_a_saved_segment_may_be_referenced(app, track, pump):
    _people(track, 6)
    saved = app.post("/v1/segments", {"segment": {"name": "Pro", "conditions": PRO}}).json["segment"]
    assert pump.wait_idle()  # memberships are kept by the stream

    condition = {"not": {"segment": {"id": str(saved["id"]), "operator": "in"}}}
    answer = app.post("/v1/segments/preview", {"conditions": condition})

    assert answer.status == 200, answer.json
    assert (answer.json["count"], answer.json["approximate"]) == (4, False)


def test_a_large_workspace_is_estimated_from_a_bounded_read_and_says_so(app, track, pump, monkeypatch):
    monkeypatch.setattr(segment_preview, "EVALUATE_MAX", 10)  # the newest person of each of 10 shards
    _people(track, 30)
    assert pump.wait_idle()  # billing's people counters follow the stream

    body = app.post("/v1/segments/preview", {"conditions": PRO}).json

    assert body["approximate"] is True
    assert 0 < body["evaluated"] <= 10
    assert body["count"] == segment_preview.estimate(body["matched"], body["evaluated"], 30)
    assert len(body["sample"]) <= body["matched"]


def test_an_estimate_scales_the_share_seen_and_never_undercounts_what_was_seen():
    assert segment_preview.estimate(10, 100, 10_000) == 1_000
    assert segment_preview.estimate(10, 100, 50) == 10  # counters trailing the data
    assert segment_preview.estimate(0, 0, 10) == 0


def test_another_workspaces_people_and_segments_are_not_seen(app, track):
    _people(track, 2)
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    TrackClient(other.site_id, other.track_api_key).put("/api/v1/customers/theirs", {"plan": "pro"})
    theirs = AppClient(other.app_api_key)
    their_segment = theirs.post("/v1/segments", {"segment": {"name": "T", "conditions": PRO}}).json["segment"]

    mine = app.post("/v1/segments/preview", {"conditions": PRO}).json
    referencing = app.post("/v1/segments/preview", {"conditions": {"segment": {"id": their_segment["id"]}}})

    assert mine["evaluated"] == 2 and [s["id"] for s in mine["sample"]] == ["p00"]
    assert referencing.status == 400  # an unknown segment here, as when saving a segment
    assert theirs.post("/v1/segments/preview", {"conditions": PRO}).json["evaluated"] == 1


@pytest.mark.parametrize(
    ("body", "query", "field"),
    [
        ({}, "", "conditions"),
        ({"conditions": {"attribute": {"field": "plan", "operator": "nope", "value": 1}}}, "", "conditions"),
        ({"conditions": "plan"}, "", "conditions"),
        ({"conditions": PRO}, "limit=0", "limit"),
        ({"conditions": PRO}, "limit=101", "limit"),
    ],
)
def test_bad_input_names_the_field(app, body, query, field):
    answer = app.post(f"/v1/segments/preview?{query}", body)
    assert answer.status == 400, answer.json
    [error] = answer.json["errors"]
    assert error["source"]["pointer"].startswith("/" + field), error


def test_page_views_between_two_dates_are_counted(app, track):
    """What the console's builder writes for an event's kind and a between-two-dates timeframe."""
    for who, at in (("ann", 1_700_000_000), ("bob", 1_700_100_000), ("cy", 1_700_000_000)):
        track.put(f"/api/v1/customers/{who}", {"email": f"{who}@example.com"})
        kind = "page" if who != "cy" else "event"
        track.post(
            f"/api/v1/customers/{who}/events",
            {"name": "https://acme.test/pricing", "type": kind, "timestamp": at},
        )
    condition = {
        "event": {
            "name": "https://acme.test/pricing",
            "type": "page",
            "count": {"operator": "at_least", "value": 1},
            "timeframe": {"type": "between", "start": 1_699_999_000, "end": 1_700_050_000},
        }
    }

    answer = app.post("/v1/segments/preview", {"conditions": condition})

    assert answer.status == 200, answer.json
    assert [s["id"] for s in answer.json["sample"]] == ["ann"]
