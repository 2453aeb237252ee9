"""/api/v2/entity and /api/v2/batch."""

import json

from nudge.tracking import objects
from tests.support.people import by, devices_of, events_of, profile


def person(action, identifiers=None, **fields):
    return {"type": "person", "action": action, "identifiers": identifiers or {"id": "u1"}, **fields}


def obj(action, **fields):
    return {
        "type": "object",
        "action": action,
        "identifiers": fields.pop("identifiers", {"object_type_id": "1", "object_id": "acme"}),
        **fields,
    }


def test_entity_identify_and_event(track, ws):
    assert track.post("/api/v2/entity", person("identify", attributes={"plan": "pro"})).json == {}
    track.post("/api/v2/entity", person("event", name="purchase", attributes={"amount": 5}, id="e1"))
    track.post("/api/v2/entity", person("page", name="https://example.com/"))
    track.post("/api/v2/entity", person("screen", name="Settings"))
    assert profile(ws, "u1")["attributes"]["plan"] == "pro"
    events = {e["type"]: e for e in events_of(ws, "u1")}
    assert events["event"]["data"] == {"amount": 5}
    assert set(events) == {"event", "page", "screen"}


def test_entity_identify_by_phone(track, ws):
    track.post("/api/v2/entity", person("identify", {"phone": "+15551234567"}, attributes={"a": 1}))
    assert by(ws, "phone", "+15551234567")["attributes"]["a"] == 1


def test_entity_timestamp_orders_identifies(track, ws):
    track.post("/api/v2/entity", person("identify", attributes={"plan": "new"}, timestamp=2000))
    track.post("/api/v2/entity", person("identify", attributes={"plan": "old"}, timestamp=1000))
    assert profile(ws, "u1")["attributes"]["plan"] == "new"


def test_entity_devices(track, ws):
    track.post(
        "/api/v2/entity",
        person("add_device", device={"token": "t1", "platform": "ios", "attributes": {"v": "1"}}),
    )
    assert devices_of(ws, "u1")[0]["attributes"] == {"v": "1"}
    track.post("/api/v2/entity", person("delete_device", device={"token": "t1"}))
    assert devices_of(ws, "u1") == []


def test_entity_delete_suppress_unsuppress(track, ws):
    track.post("/api/v2/entity", person("identify"))
    track.post("/api/v2/entity", person("suppress"))
    track.post("/api/v2/entity", person("identify"))
    assert profile(ws, "u1") is None
    track.post("/api/v2/entity", person("unsuppress"))
    track.post("/api/v2/entity", person("identify"))
    assert profile(ws, "u1") is not None
    track.post("/api/v2/entity", person("delete"))
    assert profile(ws, "u1") is None


def test_entity_merge(track, ws):
    track.post("/api/v2/entity", person("identify", {"id": "a"}))
    track.post("/api/v2/entity", person("identify", {"id": "b"}, attributes={"k": 1}))
    op = {"type": "person", "action": "merge", "primary": {"id": "a"}, "secondary": {"id": "b"}}
    assert track.post("/api/v2/entity", op).status == 200
    assert profile(ws, "a")["attributes"]["k"] == 1
    assert profile(ws, "b") is None


def test_objects_identify_update_and_remove_attributes(track, ws):
    track.post("/api/v2/entity", obj("identify", attributes={"name": "Acme", "tier": "gold"}))
    track.post("/api/v2/entity", obj("identify", attributes={"tier": None, "seats": 10}))
    found = objects.get_object(ws, objects.ObjectRef("1", "acme"))
    assert found["attributes"] == {"name": "Acme", "seats": 10}
    by_cio = obj("identify", identifiers={"cio_object_id": found["cio_object_id"]}, attributes={"tier": ""})
    assert track.post("/api/v2/entity", by_cio).status == 200


def test_object_relationships_from_both_sides(track, ws):
    track.post(
        "/api/v2/entity",
        obj(
            "identify",
            attributes={"name": "Acme"},
            cio_relationships=[{"identifiers": {"id": "u1"}, "relationship_attributes": {"role": "admin"}}],
        ),
    )
    track.post(
        "/api/v2/entity",
        person(
            "add_relationships",
            {"id": "u2"},
            cio_relationships=[{"identifiers": {"object_type_id": "1", "object_id": "acme"}}],
        ),
    )
    u1, u2 = profile(ws, "u1")["cio_id"], profile(ws, "u2")["cio_id"]
    assert sorted(objects.get_object(ws, objects.ObjectRef("1", "acme"))["people"]) == sorted([u1, u2])
    track.post(
        "/api/v2/entity", obj("delete_relationships", cio_relationships=[{"identifiers": {"id": "u1"}}])
    )
    assert objects.get_object(ws, objects.ObjectRef("1", "acme"))["people"] == [u2]


def test_relating_to_a_new_object_creates_it(track, ws):
    track.put(
        "/api/v1/customers/u1",
        {
            "cio_relationships": {
                "action": "add_relationships",
                "relationships": [{"identifiers": {"object_type_id": "2", "object_id": "team-9"}}],
            }
        },
    )
    found = objects.get_object(ws, objects.ObjectRef("2", "team-9"))
    assert found["people"] == [profile(ws, "u1")["cio_id"]]
    track.put(
        "/api/v1/customers/u1",
        {
            "cio_relationships": {
                "action": "delete_relationships",
                "relationships": [{"identifiers": {"object_type_id": "2", "object_id": "team-9"}}],
            }
        },
    )
    assert objects.get_object(ws, objects.ObjectRef("2", "team-9"))["people"] == []


def test_object_delete_and_anonymous_object(track, ws):
    track.post("/api/v2/entity", obj("identify", attributes={"a": 1}))
    track.post("/api/v2/entity", obj("delete"))
    assert objects.get_object(ws, objects.ObjectRef("1", "acme")) is None
    anon = obj(
        "identify_anonymous",
        identifiers={"object_type_id": "cart", "anonymous_id": "c-1"},
        attributes={"items": 2},
    )
    assert track.post("/api/v2/entity", anon).status == 200
    assert objects.get_object(ws, objects.ObjectRef("cart", "c-1"))["attributes"] == {"items": 2}


def test_relationship_attributes_that_are_not_an_object_are_named_with_their_path(track):
    bad = [{"identifiers": {"id": "u1"}, "relationship_attributes": "x"}]
    answer = track.post("/api/v2/entity", obj("identify", cio_relationships=bad))
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "cio_relationships[0].relationship_attributes must be an object"


def test_unknown_action_and_type_are_400(track):
    answer = track.post("/api/v2/entity", person("explode"))
    assert answer.status == 400
    assert answer.json["meta"]["error"].startswith("unknown action 'explode' for type person")
    answer = track.post("/api/v2/entity", {"type": "person", "identifiers": {"id": "ann"}})
    assert answer.status == 400
    assert answer.json["meta"]["error"].startswith("no action for type person; expected one of ")
    answer = track.post("/api/v2/entity", {"type": "robot", "action": "identify"})
    assert answer.json["meta"]["error"] == "type must be one of person, object, delivery"


def test_identifiers_must_have_exactly_one_key(track):
    answer = track.post("/api/v2/entity", person("identify", {"id": "a", "email": "a@example.com"}))
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "identifiers must contain exactly one of id, email, cio_id, phone"


def test_an_email_identifier_must_be_an_address(track, ws, app):
    bad = person("identify", {"email": "not-an-address"}, attributes={"a": 1})
    answer = track.post("/api/v2/entity", bad)
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "identifiers.email must be an email address"
    assert by(ws, "email", "not-an-address") is None
    # Looked up by the App API with id_type=email: the same rule, not a 404 for nobody.
    lookup = app.get("/v1/customers/not-an-address/attributes?id_type=email")
    assert lookup.status == 400
    assert lookup.json["errors"][0]["detail"] == "customer_id must be an email address"


def test_entity_over_32kb_is_refused(track):
    op = person("identify", attributes={f"a{i}": "x" * 900 for i in range(40)})
    answer = track.post("/api/v2/entity", op)
    assert answer.status == 400
    assert "cannot be longer than" in answer.json["meta"]["error"]


def test_a_delivery_op_without_a_metric_names_the_field(track):
    answer = track.post("/api/v2/entity", {"type": "delivery", "action": "event", "identifiers": {"id": "d"}})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "metric must be present"


def test_batch_all_good_is_200(track, ws):
    batch = [person("identify", {"id": f"u{i}"}, attributes={"n": i}) for i in range(5)]
    answer = track.post("/api/v2/batch", {"batch": batch})
    assert (answer.status, answer.json) == (200, {})
    assert profile(ws, "u4")["attributes"]["n"] == 4


def test_batch_partial_failure_is_207_and_the_rest_still_lands(track, ws):
    batch = [
        person("identify", {"id": "good-1"}),
        person("event", {"id": "good-1"}, name=""),
        {"type": "person", "action": "teleport", "identifiers": {"id": "x"}},
        person("identify", {"id": "good-2"}, attributes={"bio": "x" * 1001}),
        "not an object",
        person("event", {"id": "good-3"}, name="ok"),
    ]
    answer = track.post("/api/v2/batch", {"batch": batch})
    assert answer.status == 207
    errors = answer.json["errors"]
    assert [e["batch_index"] for e in errors] == [1, 2, 3, 4]
    assert errors[0] == {
        "batch_index": 1,
        "reason": "required",
        "field": "name",
        "message": "event name must not be blank",
    }
    assert errors[2]["field"] == "attributes.bio"
    assert profile(ws, "good-1") is not None
    assert [e["name"] for e in events_of(ws, "good-3")] == ["ok"]
    assert profile(ws, "good-2") is None


def test_batch_over_500kb_is_refused_whole(track):
    raw = json.dumps({"batch": [person("identify", attributes={"a": "x" * 900})] * 600})
    answer = track.post("/api/v2/batch", raw=raw)
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "batch cannot be longer than 500000 bytes"


def test_batch_must_be_a_list(track):
    answer = track.post("/api/v2/batch", {"batch": {"type": "person"}})
    assert answer.status == 400
    assert answer.json["meta"]["error"] == "batch must be a list of operations"


def test_region(track, keys):
    answer = track.get("/api/v1/accounts/region")
    assert answer.status == 200
    assert answer.json["environment_id"] == keys.workspace_id
    assert answer.json["region"] == "us"
    assert answer.json["url"].startswith("http")


def test_bad_relationships_are_refused_before_anything_is_written(track, ws):
    answer = track.put(
        "/api/v1/customers/u1",
        {
            "plan": "pro",
            "cio_relationships": {"action": "add_relationships", "relationships": [{"identifiers": {}}]},
        },
    )
    assert answer.status == 400
    assert (
        answer.json["meta"]["error"]
        == "cio_relationships.relationships[0].identifiers.object_type_id must be present"
    )
    assert profile(ws, "u1") is None
    bad = obj(
        "identify", attributes={"name": "Acme"}, cio_relationships=[{"identifiers": {"id": 1, "email": "x"}}]
    )
    assert track.post("/api/v2/entity", bad).status == 400
    assert objects.get_object(ws, objects.ObjectRef("1", "acme")) is None


def test_unstorable_numbers_are_a_400_not_a_500(track, ws):
    answer = track.put("/api/v1/customers/u1", {"huge": 10**130})
    assert answer.status == 400
    assert answer.json["meta"]["error"].startswith(
        "value for attribute 'huge' must be a number DynamoDB can store"
    )
