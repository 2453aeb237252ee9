"""Against ``nudge local`` over HTTP: an export started through the App API runs in the local runtime's
exports worker, and its CSV downloads through the presigned URL (from moto's server, where a download
link of the local runtime points)."""

from __future__ import annotations

import csv
import io
import uuid

import requests


def test_start_an_export_poll_it_and_download_the_csv(local):
    plan = f"plan-{uuid.uuid4().hex[:8]}"  # only this test's people have it
    people = [f"exp-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for person in people:
        answer = local.track(
            "PUT", f"/api/v1/customers/{person}", {"email": f"{person}@example.com", "plan": plan}
        )
        assert answer.status_code == 200, answer.text

    started = local.app(
        "POST",
        "/v1/exports/customers",
        {
            "filters": {"attribute": {"field": "plan", "operator": "eq", "value": plan}},
            "attributes": ["plan"],
        },
    )
    assert started.status_code == 200, started.text
    export_id = started.json()["export"]["id"]

    def done():
        export = local.app("GET", f"/v1/exports/{export_id}").json()["export"]
        assert export["status"] in ("pending", "running", "done"), export
        return export if export["status"] == "done" else None

    export = local.wait_until(done, timeout=20)
    link = local.app("GET", f"/v1/exports/{export_id}/download")
    assert link.status_code == 200, link.text
    assert link.json()["url"].startswith(local.contract["aws_endpoint_url"])
    download = requests.get(link.json()["url"], timeout=10)

    assert download.status_code == 200, download.text
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert export["total"] == 3
    assert sorted((r["id"], r["email"], r["plan"]) for r in rows) == [
        (p, f"{p}@example.com", plan) for p in sorted(people)
    ]
