"""The App API's subscription routes: topics (Customer.io's ``GET /v1/subscription_topics``, and Nudge's
own create, change and delete for authors), a person's preferences in Customer.io's shape, and the
subscription centre's look (an admin's setting, as the other workspace settings are)."""

from __future__ import annotations

from urllib.parse import unquote

from nudge.errors import NotFound
from nudge.http.routing import Request, Response, Route
from nudge.roles import Role
from nudge.subscriptions import look, preferences, topics
from nudge.tracking import people
from nudge.tracking.identifiers import from_typed
from nudge.tracking.limits import parse_json_object

BODY_LIMIT = 10_000


def _topic_id(req: Request) -> int:
    return topics.parse_id(unquote(req.params["topic_id"]), "topic_id")


def _list(req: Request) -> Response:
    return 200, {"topics": [topic.to_api() for topic in topics.list_topics(req.workspace_id)]}


def _create(req: Request) -> Response:
    created = topics.create(req.workspace_id, parse_json_object(req.body, limit=BODY_LIMIT))
    return 200, {"topic": created.to_api()}


def _get(req: Request) -> Response:
    return 200, {"topic": topics.load(req.workspace_id, _topic_id(req)).to_api()}


def _update(req: Request) -> Response:
    body = parse_json_object(req.body, limit=BODY_LIMIT)
    return 200, {"topic": topics.update(req.workspace_id, _topic_id(req), body).to_api()}


def _delete(req: Request) -> Response:
    topics.delete(req.workspace_id, _topic_id(req))
    return 204, None


def _customer_preferences(req: Request) -> Response:
    """Customer.io's ``GET /v1/customers/{id}/subscription_preferences``: each topic with the person's
    state (their choice, else the topic's default), and the global flag."""
    ref = from_typed(req.query.get("id_type", "id"), unquote(req.params["customer_id"]), "customer_id")
    person = people.load(req.workspace_id, ref)
    if person is None:
        raise NotFound(f"customer {ref.value} not found")
    centre = look.load(req.workspace_id)
    customer = {
        "id": person.person_id,
        "identifiers": {"id": person.person_id, "email": person.email, "cio_id": person.cio_id},
        "unsubscribed": bool(person.unsubscribed),
        "topics": [
            state.to_api() for state in preferences.states(person, topics.list_topics(req.workspace_id))
        ],
        "header": {"title": centre.name},
    }
    return 200, {"customer": customer}


def _get_look(req: Request) -> Response:
    return 200, {"subscription_center": look.load(req.workspace_id).to_api()}


def _put_look(req: Request) -> Response:
    body = parse_json_object(req.body, limit=BODY_LIMIT)
    return 200, {"subscription_center": look.update(req.workspace_id, body).to_api()}


TOPIC = "/v1/subscription_topics/{topic_id}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/subscription_topics", _list, "List subscription topics"),
    Route(
        "POST",
        "/v1/subscription_topics",
        _create,
        "Create a subscription topic (opt-out unless subscribed_by_default is false)",
        body_limit=BODY_LIMIT,
        body_schema=topics.NEW_TOPIC_SCHEMA,
    ),
    Route("GET", TOPIC, _get, "Get a subscription topic (by id, 4, or identifier, topic_4)"),
    Route(
        "PUT",
        TOPIC,
        _update,
        "Change a topic's name, description or default",
        body_limit=BODY_LIMIT,
        body_schema=topics.TOPIC_SCHEMA,
    ),
    Route("DELETE", TOPIC, _delete, "Delete a subscription topic"),
    Route(
        "GET",
        "/v1/customers/{customer_id}/subscription_preferences",
        _customer_preferences,
        "A person's subscription preferences: every topic with their state, and the global flag",
    ),
    Route(
        "GET",
        "/v1/settings/subscription_center",
        _get_look,
        "The hosted subscription centre's name and colours",
    ),
    Route(
        "PUT",
        "/v1/settings/subscription_center",
        _put_look,
        "Change the subscription centre's name and colours (admin)",
        role=Role.ADMIN,
        body_limit=BODY_LIMIT,
        body_schema=look.LOOK_SCHEMA,
    ),
)
