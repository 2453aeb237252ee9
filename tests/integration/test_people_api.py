"""People over the App API: ``GET /v1/people`` (newest first, text search on id and email) and
``POST /v1/customers`` (Customer.io's filter search). Real handler under moto."""

from __future__ import annotations

import re

import pytest

from nudge import workspaces
from nudge.segments import definitions
from tests.support.people import profile
from tests.support.track import TrackClient


def _people(track, count, *, created=lambda i: 1_000 + i // 3, **attributes):
    """``p00`` .. with emails, created in groups of three (ties), the later ones newer."""
    for i in range(count):
        track.put(
            f"/api/v1/customers/p{i:02d}",
            {"email": f"Person{i:02d}@Example.com", "created_at": created(i), **attributes},
        )


def _walk(app, path, body=None, limit=None):
    """Every page of a listing or search: the pages, then all ids in the order given."""
    pages, start = [], ""
    while True:
        params = [f"limit={limit}"] if limit else []
        params += [f"start={start}"] if start else []
        url = path + ("&" if "?" in path else "?") + "&".join(params)
        answer = app.post(url, body) if body is not None else app.get(url)
        assert answer.status == 200, answer.json
        pages.append(answer.json)
        start = answer.json["next"]
        if not start:
            return pages, [i["id"] for p in pages for i in p["identifiers"]]


def refused(answer, field):
    """A 400 whose error points at ``field`` (the App API's error shape)."""
    assert answer.status == 400, answer.json
    [error] = answer.json["errors"]
    assert error["source"]["pointer"] == "/" + re.sub(r"\[(\d+)\]", r".\1", field).replace(".", "/"), error


def _newest_first(ids, ws):
    return sorted(ids, key=lambda i: -profile(ws, i)["created_at"])


# --- GET /v1/people ----------------------------------------------------------------------------------


def test_listing_is_newest_first_and_pages_lose_nothing_at_ties(app, track, ws):
    _people(track, 14)

    pages, ids = _walk(app, "/v1/people", limit=4)

    assert sorted(ids) == [f"p{i:02d}" for i in range(14)]
    assert len(ids) == len(set(ids))
    created = [profile(ws, i)["created_at"] for i in ids]
    assert created == sorted(created, reverse=True)
    assert [len(p["identifiers"]) for p in pages] == [4, 4, 4, 2]
    first = pages[0]["identifiers"][0]
    assert set(first) == {"id", "email", "cio_id", "created_at"}
    assert first["cio_id"] == profile(ws, first["id"])["cio_id"]
    assert pages[0]["ids"] == [i["id"] for i in pages[0]["identifiers"]]


def test_listing_follows_a_changed_created_at(app, track):
    _people(track, 3)
    track.put("/api/v1/customers/p00", {"created_at": 5_000})

    assert app.get("/v1/people?limit=1").json["ids"] == ["p00"]


def test_search_matches_id_or_email_case_insensitively(app, track, ws):
    _people(track, 12)
    track.put("/api/v1/customers/someone", {"email": "nobody@example.com", "created_at": 1})

    _, by_email = _walk(app, "/v1/people?search=PERSON1", limit=2)
    _, by_id = _walk(app, "/v1/people?search=p0", limit=3)
    _, by_domain = _walk(app, "/v1/people?search=nobody%40")

    assert sorted(by_email) == ["p10", "p11"]  # Person10@ and Person11@
    assert sorted(by_id) == [f"p0{i}" for i in range(10)]
    assert by_id == _newest_first(by_id, ws)
    assert by_domain == ["someone"]
    assert app.get("/v1/people?search=zzz").json == {"identifiers": [], "ids": [], "next": ""}


def test_listing_shows_only_this_workspace(app, track, ws):
    _people(track, 2)
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    TrackClient(other.site_id, other.track_api_key).put("/api/v1/customers/theirs", {"email": "p@x.io"})

    _, ids = _walk(app, "/v1/people")

    assert sorted(ids) == ["p00", "p01"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
        ("start=bogus", "start"),
        ("start=eyIwIjpbMSwiYSNiIl19", "start"),  # {"0":[1,"a#b"]}: a position no page wrote
        ("start=eyIwIjpbSW5maW5pdHksImFiIl19", "start"),  # {"0":[Infinity,"ab"]}
        ("start=eyIwIjpbMWU0MCwiYWIiXX0", "start"),  # {"0":[1e40,"ab"]}: more digits than DynamoDB holds
        ("search=" + "x" * 151, "search"),
    ],
)
def test_listing_bad_input_is_a_400_naming_the_field(app, query, field):
    refused(app.get(f"/v1/people?{query}"), field)


# --- POST /v1/customers ------------------------------------------------------------------------------


def test_search_by_attribute_eq_and_exists_pages_through_every_match(app, track):
    _people(track, 9, created=lambda i: 1_000 + i)
    for i in (1, 4, 5, 8):
        track.put(f"/api/v1/customers/p{i:02d}", {"plan": "pro"})
    track.put("/api/v1/customers/p02", {"plan": "free"})

    _, pro = _walk(
        app,
        "/v1/customers",
        {"filter": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}},
        limit=3,
    )
    _, with_plan = _walk(
        app, "/v1/customers", {"filter": {"attribute": {"field": "plan", "operator": "exists"}}}
    )

    assert pro == ["p08", "p05", "p04", "p01"]
    assert with_plan == ["p08", "p05", "p04", "p02", "p01"]


def test_search_answers_customerio_identifiers(app, track, ws):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com", "plan": "pro"})

    answer = app.post(
        "/v1/customers", {"filter": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}}
    )

    assert answer.status == 200
    cio = profile(ws, "ann")["cio_id"]
    assert answer.json["identifiers"] == [
        {
            "id": "ann",
            "email": "ann@example.com",
            "cio_id": cio,
            "created_at": profile(ws, "ann")["created_at"],
        }
    ]
    assert answer.json["ids"] == ["ann"]
    assert answer.json["next"] == ""


def test_search_by_segment_given_as_a_number_with_and_or_not(app, track, ws):
    _people(track, 6, created=lambda i: 1_000 + i)
    segment_id = definitions.create_manual_segment(ws, "Beta")
    track.post(f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["p00", "p02", "p04"]})
    track.put("/api/v1/customers/p02", {"vip": True})
    track.put("/api/v1/customers/p05", {"vip": True})
    in_segment = {"segment": {"id": int(segment_id)}}
    vip = {"attribute": {"field": "vip", "operator": "eq", "value": True}}

    def found(condition):
        return _walk(app, "/v1/customers", {"filter": condition}, limit=2)[1]

    assert found(in_segment) == ["p04", "p02", "p00"]
    assert found({"segment": {"id": segment_id}}) == ["p04", "p02", "p00"]
    assert found({"and": [in_segment, {"not": vip}]}) == ["p04", "p00"]
    assert found({"or": [in_segment, vip]}) == ["p05", "p04", "p02", "p00"]


def test_another_workspaces_segment_is_a_404(app, track):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs = definitions.create_manual_segment(other.workspace_id, "Theirs")

    answer = app.post("/v1/customers", {"filter": {"segment": {"id": theirs}}})

    assert answer.status == 404
    assert answer.json["errors"][0]["detail"] == f"segment {theirs} not found"


def test_search_finds_nobody_from_another_workspace(app, track):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    TrackClient(other.site_id, other.track_api_key).put("/api/v1/customers/theirs", {"plan": "pro"})

    answer = app.post(
        "/v1/customers", {"filter": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}}
    )

    assert answer.json["identifiers"] == []


@pytest.mark.parametrize(
    ("body", "query", "field"),
    [
        ({}, "", "filter"),
        ({"filter": "plan"}, "", "filter"),
        ({"filter": {"event": {"name": "x"}}}, "", "filter.event"),
        (
            {"filter": {"and": [{"device": {"attribute": {"field": "x", "operator": "exists"}}}]}},
            "",
            "filter.and[0].device",
        ),
        ({"filter": {"and": []}}, "", "filter.and"),
        (
            {"filter": {"attribute": {"field": "plan", "operator": "like", "value": "x"}}},
            "",
            "filter.attribute.operator",
        ),
        ({"filter": {"segment": {"id": 1.5}}}, "", "filter.segment.id"),
        ({"filter": {"segment": {}}}, "", "filter.segment.id"),
        ({"filter": {"attribute": {"field": "plan", "operator": "exists"}}}, "?limit=1001", "limit"),
        ({"filter": {"attribute": {"field": "plan", "operator": "exists"}}}, "?start=nope", "start"),
    ],
)
def test_search_bad_input_is_a_400_naming_the_field(app, body, query, field):
    refused(app.post(f"/v1/customers{query}", body), field)
