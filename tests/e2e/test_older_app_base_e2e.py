"""Against ``nudge local`` as a user runs it: the App API under Customer.io's older ``/v1/api`` base, and
the OpenAPI document it serves."""

from __future__ import annotations


def test_the_older_base_answers_as_the_newer_one(local):
    created = local.app("POST", "/v1/api/segments", {"segment": {"name": "e2e older base"}})
    segment_id = created.json()["segment"]["id"]

    assert created.status_code == 200
    assert (
        local.app("GET", f"/v1/api/segments/{segment_id}").json()
        == local.app("GET", f"/v1/segments/{segment_id}").json()
    )
    assert local.app("DELETE", f"/v1/api/segments/{segment_id}").status_code == 204


def test_openapi_json_describes_both_apis(local):
    document = local.get("/openapi.json").json()

    assert document["paths"]["/v1/segments"]["get"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/customers/{identifier}"]["put"]["security"] == [{"basic": []}]
