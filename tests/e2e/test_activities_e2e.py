"""Against ``nudge local`` over HTTP: what a person does through the Track API shows up among their
activities and the workspace's in the App API."""

from __future__ import annotations

import time
import uuid


def test_identify_then_event_show_up_among_the_activities(local):
    person = f"act-{uuid.uuid4().hex[:8]}"
    assert local.track("PUT", f"/api/v1/customers/{person}", {"plan": "free"}).status_code == 200
    assert local.track("POST", f"/api/v1/customers/{person}/events", {"name": "purchase"}).status_code == 200
    time.sleep(0.1)  # six seconds of the runtime's clock (60x): the change comes a second after the event
    assert local.track("PUT", f"/api/v1/customers/{person}", {"plan": "pro"}).status_code == 200

    def theirs():
        answer = local.app("GET", f"/v1/customers/{person}/activities")
        assert answer.status_code == 200, answer.text
        found = answer.json()["activities"]
        return found if len(found) == 2 else None

    found = local.wait_until(theirs, timeout=10)

    assert [(a["type"], a["name"]) for a in found] == [("attribute_change", "plan"), ("event", "purchase")]
    assert found[0]["data"] == {"attribute": "plan", "from": "free", "to": "pro"}
    listed = local.app("GET", "/v1/activities?type=event&name=purchase&limit=100").json()["activities"]
    assert found[1] in listed
