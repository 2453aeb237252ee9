"""A workspace's subscription topics, in Customer.io's shape (``GET /v1/subscription_topics``):
``{"id": 4, "identifier": "topic_4", "name", "description", "subscribed_by_default"}``.

Ids are numbers from 1, given by a counter and never reused, so a profile's ``topic_<id>`` choice can
never come to mean another topic. Creating, renaming and deleting topics are Nudge's own (Customer.io
manages them in its UI only). A deleted topic's choices stay on profiles; a message still naming it is
sent unless the person chose to leave it (the rule of an opt-out topic), since no default is left to
read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.errors import InvalidRequest, NotFound
from nudge.model.subscriptions import Topic, TopicCounter, topics_pk

NAME_MAX = 100
DESCRIPTION_MAX = 500
MAX_TOPICS = 100  # a centre showing more is no longer a choice anyone makes
CACHE_SECONDS = 30.0  # the send gate reads topics for every message; an edit reaches sends within this
_IDENTIFIER = re.compile(r"^(?:topic_)?([1-9][0-9]{0,8})$")
_cache: dict[str, tuple[float, tuple[TopicView, ...]]] = {}

TOPIC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        "description": {"type": "string", "maxLength": DESCRIPTION_MAX},
        "subscribed_by_default": {
            "type": "boolean",
            "description": "true: an opt-out topic (everybody is subscribed until they leave it); "
            "false: an opt-in topic (nobody is until they choose it). Default true",
        },
    },
}
NEW_TOPIC_SCHEMA: dict[str, Any] = {**TOPIC_SCHEMA, "required": ["name"]}


@dataclass(frozen=True)
class TopicView:
    id: int
    name: str
    description: str
    subscribed_by_default: bool
    created_at: int
    updated_at: int

    @property
    def identifier(self) -> str:
        """The key a profile's preferences name it by: ``topic_<id>``."""
        return identifier(self.id)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "identifier": self.identifier,
            "name": self.name,
            "description": self.description,
            "subscribed_by_default": self.subscribed_by_default,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def identifier(topic_id: int) -> str:
    return f"topic_{topic_id}"


def parse_id(value: Any, field: str = "topic_id") -> int:
    """A topic named as Customer.io names it anywhere: its number (4 or "4") or its identifier
    ("topic_4"). A 400 naming ``field`` otherwise."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    match = _IDENTIFIER.match(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidRequest(f"{field} must be a topic's id (4) or identifier (topic_4)", field=field)
    return int(match.group(1))


def _view(item: Topic) -> TopicView:
    return TopicView(
        int(item.topic_id),
        item.name,
        item.description or "",
        bool(item.subscribed_by_default),
        int(item.created_at),
        int(item.updated_at),
    )


def list_topics(workspace_id: str) -> list[TopicView]:
    """Every topic, by id (one Query of the workspace's topic partition)."""
    found = [
        _view(item)
        for item in Topic.query(topics_pk(workspace_id), Topic.sk.startswith("topic#"), consistent_read=True)
        if isinstance(item, Topic)
    ]
    return sorted(found, key=lambda topic: topic.id)


def cached(workspace_id: str) -> tuple[TopicView, ...]:
    """``list_topics``, kept ``CACHE_SECONDS`` per process: every gated message reads the defaults."""
    hit = _cache.get(workspace_id)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    found = tuple(list_topics(workspace_id))
    _cache[workspace_id] = (time.monotonic(), found)
    return found


def find(topics: tuple[TopicView, ...] | list[TopicView], topic_id: int) -> TopicView | None:
    return next((topic for topic in topics if topic.id == topic_id), None)


def _item(workspace_id: str, topic_id: int) -> Topic:
    try:
        return Topic.get(topics_pk(workspace_id), f"topic#{topic_id}", consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"subscription topic {topic_id} not found") from exc


def load(workspace_id: str, topic_id: int) -> TopicView:
    return _view(_item(workspace_id, topic_id))


def require(workspace_id: str, value: Any, field: str = "topic_id") -> str:
    """The identifier (``topic_<id>``) of an existing topic named by ``value``; a 400 naming ``field``
    when it names none (a template, campaign block or message naming a topic that is not there)."""
    topic_id = parse_id(value, field)
    try:
        _item(workspace_id, topic_id)
    except NotFound as exc:
        raise InvalidRequest(f"{field}: no subscription topic {topic_id}", field=field) from exc
    return identifier(topic_id)


def _fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in body or creating:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
            raise InvalidRequest(f"name must be 1 to {NAME_MAX} characters", field="name")
        fields["name"] = name.strip()
    if "description" in body:
        description = body["description"]
        if description is None:
            description = ""
        if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
            raise InvalidRequest(
                f"description must be text of at most {DESCRIPTION_MAX} characters", field="description"
            )
        fields["description"] = description.strip()
    if "subscribed_by_default" in body or creating:
        default = body.get("subscribed_by_default", True)
        if not isinstance(default, bool):
            raise InvalidRequest("subscribed_by_default must be true or false", field="subscribed_by_default")
        fields["subscribed_by_default"] = default
    return fields


def _forget(workspace_id: str) -> None:
    _cache.pop(workspace_id, None)


def create(workspace_id: str, body: dict[str, Any]) -> TopicView:
    fields = _fields(body, creating=True)
    if len(list_topics(workspace_id)) >= MAX_TOPICS:
        raise InvalidRequest(f"a workspace has at most {MAX_TOPICS} subscription topics", field="name")
    counter = TopicCounter(topics_pk(workspace_id), "counter", workspace_id=workspace_id)
    counter.update(actions=[TopicCounter.value.add(1)])
    now = clock.now()
    item = Topic(
        topics_pk(workspace_id),
        f"topic#{int(counter.value)}",
        workspace_id=workspace_id,
        topic_id=int(counter.value),
        created_at=now,
        updated_at=now,
        **{"description": "", **fields},
    )
    item.save(condition=Topic.pk.does_not_exist())
    _forget(workspace_id)
    return _view(item)


def update(workspace_id: str, topic_id: int, body: dict[str, Any]) -> TopicView:
    """Change the fields ``body`` names. Changing the default changes every person who never chose."""
    item = _item(workspace_id, topic_id)
    for name, value in _fields(body, creating=False).items():
        setattr(item, name, value)
    item.updated_at = clock.now()
    item.save()
    _forget(workspace_id)
    return _view(item)


def delete(workspace_id: str, topic_id: int) -> None:
    _item(workspace_id, topic_id).delete()
    _forget(workspace_id)
