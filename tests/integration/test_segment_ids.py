"""A segment's id given as a number or as a string, everywhere a Customer.io client may name a segment:
segment conditions, campaign triggers, filters, branch conditions, goals and segment blocks, broadcast
recipients, people searches and segment previews. The API answers segment ids as numbers (as
Customer.io does), so a client that sends back what it read must be understood; ``{"segment": {"id": 3}}``
without an ``operator`` is membership, Customer.io's form. One reader does it
(``nudge.segments.conditions.identifier``); these tests go through the real handlers."""

from __future__ import annotations

from typing import Any

import pytest

from nudge import workspaces
from nudge.campaigns import broadcasts
from nudge.errors import InvalidRequest
from nudge.segments import definitions
from tests.support.track import AppClient

PRO = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
CITY = {"attribute": {"field": "city", "operator": "eq", "value": "Oslo"}}


def _ok(answer: Any) -> Any:
    assert answer.status == 200, answer.raw
    return answer.json


def _segment(app: AppClient, name: str, conditions: Any = None) -> int:
    body: dict[str, Any] = {"name": name} if conditions is None else {"name": name, "conditions": conditions}
    segment_id = _ok(app.post("/v1/segments", {"segment": body}))["segment"]["id"]
    assert isinstance(segment_id, int)  # answered as a number, as Customer.io does
    return int(segment_id)


def _members(app: AppClient, segment_id: int) -> list[str]:
    return sorted(_ok(app.get(f"/v1/segments/{segment_id}/membership"))["ids"])


def test_a_segment_condition_names_a_segment_by_number_without_an_operator(app, track, pump):
    pro = _segment(app, "Pro", PRO)
    by_number = _segment(app, "Pro in Oslo", {"and": [{"segment": {"id": pro}}, CITY]})
    by_string = _segment(
        app, "Pro in Oslo too", {"and": [{"segment": {"id": str(pro), "operator": "in"}}, CITY]}
    )

    track.put("/api/v1/customers/ann", {"plan": "pro", "city": "Oslo"})
    track.put("/api/v1/customers/bob", {"plan": "free", "city": "Oslo"})
    assert pump.wait_idle()

    assert _members(app, by_number) == _members(app, by_string) == ["ann"]
    stored = _ok(app.get(f"/v1/segments/{by_number}"))["segment"]["conditions"]
    assert stored == _ok(app.get(f"/v1/segments/{by_string}"))["segment"]["conditions"]
    assert stored["and"][0] == {"segment": {"id": str(pro), "operator": "in"}}  # one canonical form


def test_a_segment_condition_refuses_an_id_that_is_neither(app):
    for bad, rule in ((True, "must be a string or an integer"), (-3, "must be between 0 and")):
        answer = app.post("/v1/segments", {"segment": {"name": "x", "conditions": {"segment": {"id": bad}}}})
        assert answer.status == 400
        error = answer.json["errors"][0]
        assert error["source"]["pointer"] == "/conditions/segment/id"
        assert rule in error["detail"]


def _campaign(template_id: str, ids: dict[str, Any]) -> dict[str, Any]:
    """A definition naming segments in every place a definition can: trigger, filters, a branch's
    condition, a segment block and the goal."""
    return {
        "name": "Every segment reference",
        "trigger": {"type": "segment_entry", "segment_id": ids["pro"]},
        "filters": {"segment": {"id": ids["pro"]}},
        "workflow": {
            "start": "b1",
            "blocks": {
                "b1": {
                    "type": "branch",
                    "condition": {"not": {"segment": {"id": ids["beta"]}}},
                    "true": "b2",
                },
                "b2": {"type": "segment", "action": "add", "segment_id": ids["beta"], "next": "b3"},
                "b3": {"type": "send", "channel": "email", "template_id": template_id},
            },
        },
        "settings": {"goal": {"segment_id": ids["beta"]}, "exit": "on_goal"},
    }


def test_a_campaign_names_segments_by_number_or_string_alike(app):
    template_id = _ok(
        app.post("/v1/templates", {"name": "hi", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>"})
    )["template"]["id"]
    ids = {"pro": _segment(app, "Pro", PRO), "beta": _segment(app, "Beta")}

    by_number = _ok(app.post("/v1/campaigns", {"campaign": _campaign(template_id, ids)}))["campaign"]
    as_strings = {name: str(value) for name, value in ids.items()}
    by_string = _ok(app.post("/v1/campaigns", {"campaign": _campaign(template_id, as_strings)}))["campaign"]

    parts = ("trigger", "filters", "workflow", "settings")
    assert {p: by_number[p] for p in parts} == {p: by_string[p] for p in parts}
    assert by_number["trigger"]["segment_id"] == as_strings["pro"]
    assert by_number["filters"] == {"segment": {"id": as_strings["pro"], "operator": "in"}}
    assert by_number["workflow"]["blocks"]["b2"]["segment_id"] == as_strings["beta"]
    assert by_number["settings"]["goal"] == {"segment_id": as_strings["beta"]}


def test_a_campaign_naming_another_workspaces_segment_is_refused(app, account):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs = int(definitions.create_manual_segment(other.workspace_id, "Theirs"))
    definition = _campaign("1", {"pro": theirs, "beta": theirs})
    definition["workflow"]["blocks"]["b3"] = {"type": "exit"}

    answer = app.post("/v1/campaigns", {"campaign": definition})

    assert answer.status == 400
    assert answer.json["errors"][0]["source"]["pointer"] == "/campaign/trigger/segment_id"


@pytest.mark.parametrize("as_number", [True, False])
def test_a_broadcast_filter_and_a_preview_take_either(app, track, pump, as_number):
    vip = _segment(app, "VIP")
    track.put("/api/v1/customers/ann", {"plan": "pro"})
    track.put("/api/v1/customers/bob", {"plan": "pro"})
    track.post(f"/api/v1/segments/{vip}/add_customers", {"ids": ["ann"]})
    assert pump.wait_idle()
    named: Any = vip if as_number else str(vip)

    preview = _ok(
        app.post("/v1/segments/preview", {"conditions": {"and": [{"segment": {"id": named}}, PRO]}})
    )
    found = _ok(app.post("/v1/customers", {"filter": {"and": [{"segment": {"id": named}}, PRO]}}))

    assert (preview["count"], [p["id"] for p in preview["sample"]]) == (1, ["ann"])
    assert found["ids"] == ["ann"]


def test_a_broadcast_filter_naming_another_workspaces_segment_is_a_400(ws):
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs = int(definitions.create_manual_segment(other.workspace_id, "Theirs"))

    with pytest.raises(InvalidRequest) as refused:
        broadcasts.parse_request(ws, {"recipients": {"and": [{"segment": {"id": theirs}}, PRO]}})

    assert refused.value.field == "recipients.segment.id"
