"""Campaign definitions through the App API: CRUD, the state machine of states, deployment (through a
fake Step Functions deploy), the trigger index, and workspace isolation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nudge import workspaces
from nudge.campaigns import lifecycle, store
from nudge.model.campaigns import TriggerIndex
from tests.support.track import AppClient

WELCOME_EMAIL = {"name": "Welcome", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>"}


class FakeDeploy:
    """Stands in for compile + Step Functions deploy (``store._deploy``): records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, dict[str, Any]]] = []
        self.during: Any = None  # run inside the deploy, to race the activation

    def __call__(
        self, ws: str, campaign_id: str, version: int, definition: dict[str, Any]
    ) -> tuple[str, str]:
        self.calls.append((ws, campaign_id, version, definition))
        if self.during is not None:
            self.during()
        machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:nudge-test-{ws}-{campaign_id}"
        return machine, f"{machine}:{version}"


@pytest.fixture
def deploys(monkeypatch) -> FakeDeploy:
    fake = FakeDeploy()
    monkeypatch.setattr(store, "_deploy", fake)
    return fake


@pytest.fixture
def entered(monkeypatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(lifecycle, "_enter_current_members", lambda ws, cid: calls.append((ws, cid)))
    return calls


@pytest.fixture
def template_id(app) -> str:
    answer = app.post("/v1/templates", WELCOME_EMAIL)
    assert answer.status == 200, answer.raw
    return str(answer.json["template"]["id"])


@pytest.fixture
def manual_segment(app) -> str:
    answer = app.post("/v1/segments", {"segment": {"name": "Beta"}})
    assert answer.status == 200, answer.raw
    return str(answer.json["segment"]["id"])


@pytest.fixture
def dynamic_segment(app) -> str:
    condition = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
    answer = app.post("/v1/segments", {"segment": {"name": "Pro", "conditions": condition}})
    assert answer.status == 200, answer.raw
    return str(answer.json["segment"]["id"])


def welcome(template_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "Welcome",
        "trigger": {"type": "event", "name": "signed_up"},
        "workflow": {
            "start": "b1",
            "blocks": {
                "b1": {"type": "delay", "seconds": 3600, "next": "b2"},
                "b2": {"type": "send", "channel": "email", "template_id": template_id},
            },
        },
        **fields,
    }


def create(app: AppClient, definition: dict[str, Any]) -> dict[str, Any]:
    answer = app.post("/v1/campaigns", {"campaign": definition})
    assert answer.status == 200, answer.raw
    return answer.json["campaign"]


def act(app: AppClient, campaign_id: str, action: str, status: int = 200) -> dict[str, Any]:
    answer = app.post(f"/v1/campaigns/{campaign_id}/{action}")
    assert answer.status == status, answer.raw
    return answer.json


def pointer(answer) -> str:
    return str(answer.json["errors"][0]["source"]["pointer"])


def indexed(ws: str, key: str) -> list[str]:
    found = TriggerIndex.query(store.triggers_pk(ws), TriggerIndex.sk.startswith(f"{key}#c#"))
    return [item.campaign_id for item in found]


# --- CRUD ---------------------------------------------------------------------------------------------


def test_a_created_campaign_is_a_normalized_draft(app, template_id):
    campaign = create(app, welcome(template_id))

    assert re.fullmatch(r"[0-9a-f]{12}", campaign["id"])
    assert campaign["state"] == "draft"
    assert campaign["version"] == 0
    assert campaign["activated_at"] is None
    assert campaign["created_at"] == campaign["updated_at"] > 0
    assert campaign["trigger"] == {"type": "event", "name": "signed_up", "filters": None}
    assert campaign["filters"] is None
    assert campaign["settings"]["frequency"] == {"type": "once"}
    assert campaign["workflow"]["blocks"]["b2"] == {
        "type": "send",
        "channel": "email",
        "template_id": template_id,
    }
    assert set(campaign) == {
        "id",
        "name",
        "state",
        "version",
        "trigger",
        "filters",
        "workflow",
        "settings",
        "created_at",
        "updated_at",
        "activated_at",
    }


def test_campaigns_are_read_back_and_listed(app, template_id):
    first = create(app, welcome(template_id))
    second = create(app, welcome(template_id, name="Second"))

    assert app.get(f"/v1/campaigns/{first['id']}").json["campaign"] == first
    listed = app.get("/v1/campaigns")
    assert listed.status == 200
    assert {c["id"] for c in listed.json["campaigns"]} == {first["id"], second["id"]}


def test_an_unknown_campaign_is_not_found(app):
    assert app.get("/v1/campaigns/0123456789ab").status == 404
    assert app.put("/v1/campaigns/0123456789ab", {"campaign": {"name": "x"}}).status == 404
    assert app.delete("/v1/campaigns/0123456789ab").status == 404
    assert app.post("/v1/campaigns/0123456789ab/activate").status == 404


def test_update_replaces_the_parts_given_and_keeps_the_rest(app, template_id):
    created = create(app, welcome(template_id))

    answer = app.put(
        f"/v1/campaigns/{created['id']}",
        {"campaign": {"name": "Renamed", "settings": {"exit": "when_unmatched"}}},
    )

    assert answer.status == 200, answer.raw
    updated = answer.json["campaign"]
    assert updated["name"] == "Renamed"
    assert updated["settings"]["exit"] == "when_unmatched"
    assert updated["workflow"] == created["workflow"]
    assert updated["updated_at"] > created["updated_at"]
    assert app.get(f"/v1/campaigns/{created['id']}").json["campaign"] == updated


def test_what_a_read_answers_can_be_sent_back(app, template_id):
    created = create(app, welcome(template_id))

    answer = app.put(f"/v1/campaigns/{created['id']}", {"campaign": {**created, "state": "active"}})

    assert answer.status == 200, answer.raw
    assert answer.json["campaign"] == created  # nothing changed, not even the state


def test_a_deleted_draft_is_gone(app, template_id):
    created = create(app, welcome(template_id))

    assert app.delete(f"/v1/campaigns/{created['id']}").status == 204

    assert app.get(f"/v1/campaigns/{created['id']}").status == 404
    assert app.get("/v1/campaigns").json["campaigns"] == []


# --- validation errors --------------------------------------------------------------------------------


def test_an_unknown_template_is_a_400_naming_the_block(app):
    answer = app.post("/v1/campaigns", {"campaign": welcome("999")})

    assert answer.status == 400
    assert pointer(answer) == "/campaign/workflow/blocks/b2/template_id"
    assert "unknown template 999" in answer.json["errors"][0]["detail"]


def test_a_template_of_another_channel_is_a_400(app, template_id):
    definition = welcome(template_id)
    definition["workflow"]["blocks"]["b2"]["channel"] = "sms"

    answer = app.post("/v1/campaigns", {"campaign": definition})

    assert answer.status == 400
    assert pointer(answer) == "/campaign/workflow/blocks/b2/channel"


def test_an_unknown_segment_is_a_400_naming_the_trigger(app, template_id):
    definition = welcome(template_id, trigger={"type": "segment_entry", "segment_id": "4242"})

    answer = app.post("/v1/campaigns", {"campaign": definition})

    assert answer.status == 400
    assert pointer(answer) == "/campaign/trigger/segment_id"


def test_a_segment_block_needs_a_manual_segment(app, template_id, dynamic_segment, manual_segment):
    definition = welcome(template_id)
    definition["workflow"]["blocks"]["b2"]["next"] = "b3"
    definition["workflow"]["blocks"]["b3"] = {
        "type": "segment",
        "action": "add",
        "segment_id": dynamic_segment,
    }

    refused = app.post("/v1/campaigns", {"campaign": definition})
    definition["workflow"]["blocks"]["b3"]["segment_id"] = int(manual_segment)
    accepted = app.post("/v1/campaigns", {"campaign": definition})

    assert refused.status == 400
    assert pointer(refused) == "/campaign/workflow/blocks/b3/segment_id"
    assert accepted.status == 200, accepted.raw
    assert accepted.json["campaign"]["workflow"]["blocks"]["b3"]["segment_id"] == manual_segment


def test_graph_and_condition_errors_point_into_the_definition(app, template_id):
    dangling = welcome(template_id)
    dangling["workflow"]["blocks"]["b2"]["next"] = "b9"
    bad_filter = welcome(template_id, filters={"and": [{"attribute": {"field": "plan", "operator": "near"}}]})

    first = app.post("/v1/campaigns", {"campaign": dangling})
    second = app.post("/v1/campaigns", {"campaign": bad_filter})

    assert (first.status, pointer(first)) == (400, "/campaign/workflow/blocks/b2/next")
    assert (second.status, pointer(second)) == (400, "/campaign/filters/and/0/attribute/operator")


def test_a_body_without_a_campaign_object_is_a_400(app):
    answer = app.post("/v1/campaigns", {"name": "Welcome"})

    assert answer.status == 400
    assert pointer(answer) == "/campaign"


def test_an_invalid_update_changes_nothing(app, template_id):
    created = create(app, welcome(template_id))

    answer = app.put(f"/v1/campaigns/{created['id']}", {"campaign": {"settings": {"exit": "never"}}})

    assert answer.status == 400
    assert pointer(answer) == "/campaign/settings/exit"
    assert app.get(f"/v1/campaigns/{created['id']}").json["campaign"] == created


# --- states, deployment, trigger index ----------------------------------------------------------------


def test_activation_deploys_and_indexes_the_trigger(app, ws, template_id, deploys):
    created = create(app, welcome(template_id))

    activated = act(app, created["id"], "activate")["campaign"]

    assert activated["state"] == "active"
    assert activated["version"] == 1
    assert activated["activated_at"] is not None
    assert len(deploys.calls) == 1
    deployed_ws, deployed_id, version, definition = deploys.calls[0]
    assert (deployed_ws, deployed_id, version) == (ws, created["id"], 1)
    assert definition == store.definition_of(store.get(ws, created["id"]))
    stored = store.get(ws, created["id"])
    assert stored["state_machine_arn"].endswith(f"nudge-test-{ws}-{created['id']}")
    assert stored["version_arn"] == stored["state_machine_arn"] + ":1"
    assert "version_arn" not in activated
    assert indexed(ws, "event#signed_up") == [created["id"]]
    assert [c["id"] for c in store.active_for(ws, "event#signed_up")] == [created["id"]]


def test_an_active_campaign_cannot_change_or_go(app, template_id, deploys):
    created = create(app, welcome(template_id))
    act(app, created["id"], "activate")

    update = app.put(f"/v1/campaigns/{created['id']}", {"campaign": {"name": "New"}})
    delete = app.delete(f"/v1/campaigns/{created['id']}")

    assert update.status == 409
    assert "pause it first" in update.json["errors"][0]["detail"]
    assert delete.status == 409
    act(app, created["id"], "activate", 409)
    act(app, created["id"], "resume", 409)


def test_pause_and_resume_take_the_trigger_out_and_back(app, ws, template_id, deploys):
    created = create(app, welcome(template_id))
    act(app, created["id"], "activate")

    paused = act(app, created["id"], "pause")["campaign"]

    assert paused["state"] == "paused"
    assert indexed(ws, "event#signed_up") == []
    assert store.active_for(ws, "event#signed_up") == []
    act(app, created["id"], "pause", 409)
    act(app, created["id"], "activate", 409)

    resumed = act(app, created["id"], "resume")["campaign"]

    assert resumed["state"] == "active"
    assert resumed["version"] == 1  # unchanged: the deployed version still serves
    assert len(deploys.calls) == 1
    assert indexed(ws, "event#signed_up") == [created["id"]]


def test_a_definition_changed_while_paused_is_deployed_on_resume(app, ws, template_id, deploys):
    created = create(app, welcome(template_id))
    act(app, created["id"], "activate")
    act(app, created["id"], "pause")

    answer = app.put(
        f"/v1/campaigns/{created['id']}",
        {"campaign": {"trigger": {"type": "attribute_change", "attribute": "plan", "to": "pro"}}},
    )
    assert answer.status == 200, answer.raw
    resumed = act(app, created["id"], "resume")["campaign"]

    assert resumed["version"] == 2
    assert [call[2] for call in deploys.calls] == [1, 2]
    assert deploys.calls[1][3]["trigger"]["type"] == "attribute_change"
    assert store.get(ws, created["id"])["version_arn"].endswith(":2")
    assert indexed(ws, "event#signed_up") == []
    assert indexed(ws, "attribute#plan") == [created["id"]]


def test_an_unchanged_update_while_paused_deploys_nothing_new(app, template_id, deploys):
    created = create(app, welcome(template_id))
    act(app, created["id"], "activate")
    act(app, created["id"], "pause")

    app.put(f"/v1/campaigns/{created['id']}", {"campaign": {"name": created["name"]}})
    resumed = act(app, created["id"], "resume")["campaign"]

    assert resumed["version"] == 1
    assert len(deploys.calls) == 1


def test_archiving_is_final(app, ws, template_id, deploys):
    created = create(app, welcome(template_id))
    act(app, created["id"], "activate")

    archived = act(app, created["id"], "archive")["campaign"]

    assert archived["state"] == "archived"
    assert indexed(ws, "event#signed_up") == []
    for action in ("archive", "activate", "resume", "pause"):
        act(app, created["id"], action, 409)
    assert app.put(f"/v1/campaigns/{created['id']}", {"campaign": {"name": "x"}}).status == 409
    assert app.delete(f"/v1/campaigns/{created['id']}").status == 204
    assert app.get(f"/v1/campaigns/{created['id']}").status == 404


@pytest.mark.parametrize("start", ["draft", "paused"])
def test_drafts_and_paused_campaigns_can_be_archived(app, ws, template_id, deploys, start):
    created = create(app, welcome(template_id))
    if start == "paused":
        act(app, created["id"], "activate")
        act(app, created["id"], "pause")

    assert act(app, created["id"], "archive")["campaign"]["state"] == "archived"
    assert indexed(ws, "event#signed_up") == []


def test_a_paused_campaign_cannot_be_deleted(app, template_id, deploys):
    created = create(app, welcome(template_id))
    act(app, created["id"], "activate")
    act(app, created["id"], "pause")

    assert app.delete(f"/v1/campaigns/{created['id']}").status == 409


def test_activation_validates_again(app, template_id, deploys):
    created = create(app, welcome(template_id))
    assert app.delete(f"/v1/templates/{template_id}").status == 204

    answer = app.post(f"/v1/campaigns/{created['id']}/activate")

    assert answer.status == 400
    assert pointer(answer) == "/campaign/workflow/blocks/b2/template_id"
    assert app.get(f"/v1/campaigns/{created['id']}").json["campaign"]["state"] == "draft"
    assert deploys.calls == []


def test_a_change_during_activation_wins_and_the_activation_is_a_conflict(app, ws, template_id, deploys):
    created = create(app, welcome(template_id))
    deploys.during = lambda: store.update(ws, created["id"], {"name": "Changed meanwhile"})

    answer = app.post(f"/v1/campaigns/{created['id']}/activate")

    assert answer.status == 409
    current = app.get(f"/v1/campaigns/{created['id']}").json["campaign"]
    assert (current["state"], current["name"]) == ("draft", "Changed meanwhile")
    assert indexed(ws, "event#signed_up") == []


def test_api_triggered_campaigns_are_not_indexed_and_fan_out_nothing(app, ws, template_id, deploys, entered):
    created = create(app, welcome(template_id, trigger={"type": "api"}))

    act(app, created["id"], "activate")

    assert store.get(ws, created["id"])["state"] == "active"
    assert list(TriggerIndex.scan()) == []
    assert entered == []


def test_a_one_time_broadcast_goes_out_on_activation_only(
    app, ws, template_id, dynamic_segment, deploys, entered
):
    trigger = {"type": "broadcast", "segment_id": dynamic_segment, "send_at": None}
    created = create(app, welcome(template_id, trigger=trigger))

    act(app, created["id"], "activate")
    act(app, created["id"], "pause")
    act(app, created["id"], "resume")

    assert list(TriggerIndex.scan()) == []
    assert entered == [(ws, created["id"])]


def test_date_triggers_are_scheduled_on_activation_and_again_on_resume(
    app, ws, template_id, deploys, entered
):
    trigger = {"type": "date_attribute", "attribute": "trial_end", "offset_seconds": -86400}
    created = create(app, welcome(template_id, trigger=trigger))

    act(app, created["id"], "activate")
    act(app, created["id"], "pause")
    act(app, created["id"], "resume")

    assert entered == [(ws, created["id"]), (ws, created["id"])]
    assert indexed(ws, "date#trial_end") == [created["id"]]


def test_current_members_enter_on_activation_when_the_audience_says_so(
    app, ws, template_id, dynamic_segment, deploys, entered
):
    trigger = {"type": "segment_entry", "segment_id": dynamic_segment}
    now_too = create(app, welcome(template_id, trigger=trigger, settings={"audience": "current_and_future"}))
    future_only = create(app, welcome(template_id, trigger=trigger))

    act(app, now_too["id"], "activate")
    act(app, future_only["id"], "activate")
    act(app, now_too["id"], "pause")
    act(app, now_too["id"], "resume")

    assert entered == [(ws, now_too["id"])]
    assert sorted(indexed(ws, f"segment#{dynamic_segment}")) == sorted([now_too["id"], future_only["id"]])
    assert {c["id"] for c in store.active_for(ws, f"segment#{dynamic_segment}")} == {
        now_too["id"],
        future_only["id"],
    }


def test_active_for_skips_campaigns_that_are_not_active(app, ws, template_id, deploys):
    created = create(app, welcome(template_id))
    # An index entry the state does not back (written by hand: the store never leaves one behind).
    TriggerIndex(
        store.triggers_pk(ws),
        store.trigger_sk("event#signed_up", created["id"]),
        workspace_id=ws,
        campaign_id=created["id"],
    ).save()

    assert store.active_for(ws, "event#signed_up") == []
    assert store.active_for(ws, "event#never_indexed") == []


def test_the_real_deploy_compiles_and_hands_the_asl_to_the_workflows_port(ws, template_id, monkeypatch):
    compiler = pytest.importorskip("nudge.campaigns.compiler")
    step_functions = pytest.importorskip("nudge.campaigns.step_functions")
    deployed: list[tuple[str, str, dict[str, Any]]] = []

    class Port:
        def deploy(self, workspace_id: str, campaign_id: str, asl: dict[str, Any]) -> tuple[str, str]:
            deployed.append((workspace_id, campaign_id, asl))
            return "arn:machine", "arn:machine:1"

    monkeypatch.setattr(step_functions, "get", lambda: Port())
    created = store.create(ws, welcome(template_id))

    activated = lifecycle.activate(ws, created["id"])

    assert (activated["state_machine_arn"], activated["version_arn"]) == ("arn:machine", "arn:machine:1")
    assert [(w, c) for w, c, _ in deployed] == [(ws, created["id"])]
    expected = compiler.compile_workflow(created["id"], 1, store.definition_of(created))
    assert deployed[0][2] == expected


# --- isolation and routing ----------------------------------------------------------------------------


def test_another_workspace_cannot_see_or_touch_a_campaign(app, template_id, deploys):
    created = create(app, welcome(template_id))
    other = AppClient(workspaces.create_workspace("Other", "essentials", "2026-01-01").app_api_key)

    assert other.get(f"/v1/campaigns/{created['id']}").status == 404
    assert other.put(f"/v1/campaigns/{created['id']}", {"campaign": {"name": "Mine"}}).status == 404
    assert other.delete(f"/v1/campaigns/{created['id']}").status == 404
    assert other.post(f"/v1/campaigns/{created['id']}/activate").status == 404
    assert other.get("/v1/campaigns").json["campaigns"] == []
    assert app.get(f"/v1/campaigns/{created['id']}").json["campaign"] == created


def test_the_schema_is_served_ahead_of_the_campaign_route(app):
    answer = app.get("/v1/campaigns/schema")

    assert answer.status == 200
    assert answer.json["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert answer.json["$defs"]["condition"]["$id"] == "urn:nudge:segment-condition"


def test_the_local_gateway_routes_the_schema_and_a_campaign_apart():
    from nudge.http.app_api.routes import ROUTES
    from nudge_tools.local.gateway import ApiRoute, Gateway

    gateway = Gateway(
        ("127.0.0.1", 0), [ApiRoute(r.method, r.path, lambda e, c: {}, "nudge-api") for r in ROUTES], {}
    )
    try:
        schema_route = gateway.match("GET", "/v1/campaigns/schema")
        campaign_route = gateway.match("GET", "/v1/campaigns/0123456789ab")
    finally:
        gateway.server_close()

    assert schema_route is not None and schema_route[0].path == "/v1/campaigns/schema"
    assert campaign_route is not None and campaign_route[1] == {"campaign_id": "0123456789ab"}
