"""A person's subscription state: the global ``unsubscribed`` flag and, per topic, their choice or else
the topic's default. Changes go through identify, as Customer.io writes them
(``cio_subscription_preferences.topics.topic_<id>`` booleans, ``unsubscribed``), so the profile's stream
carries them to segments, activities and campaign triggers like any other change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nudge.model import Person
from nudge.model.base import plain
from nudge.subscriptions.topics import TopicView
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.identify_request import IdentifyRequest

PREFERENCES = "cio_subscription_preferences"


def choices(person: Person) -> dict[str, bool]:
    """The topics the person chose, by identifier (``topic_4``): what identify stored, nothing defaulted."""
    found: dict[str, bool] = {}
    for key, value in plain(person.subscription_preferences).items():
        if key.startswith("topics.") and isinstance(value, bool):
            found[key[len("topics.") :]] = value
    return found


def subscribed(chosen: Mapping[str, bool], topic: str, known: TopicView | None) -> bool:
    """Whether a person with ``chosen`` gets messages of ``topic`` (an identifier): their choice, else the
    topic's default; a topic no longer known keeps only an explicit choice to leave it."""
    if topic in chosen:
        return chosen[topic]
    return known.subscribed_by_default if known is not None else True


@dataclass(frozen=True)
class TopicState:
    topic: TopicView
    subscribed: bool
    chosen: bool  # False: the topic's default, which follows the topic if its default changes

    def to_api(self) -> dict[str, Any]:
        # Customer.io's per-topic entry in GET /v1/customers/{id}/subscription_preferences.
        return {
            "id": self.topic.id,
            "identifier": self.topic.identifier,
            "name": self.topic.name,
            "description": self.topic.description,
            "subscribed": self.subscribed,
            "subscribed_by_default": self.topic.subscribed_by_default,
            "chosen": self.chosen,
        }


def states(person: Person, topics: Iterable[TopicView]) -> list[TopicState]:
    chosen = choices(person)
    return [
        TopicState(topic, subscribed(chosen, topic.identifier, topic), topic.identifier in chosen)
        for topic in topics
    ]


def change(
    workspace_id: str,
    cio_id: str,
    *,
    topics: Mapping[str, bool] | None = None,
    unsubscribed: bool | None = None,
) -> Person | None:
    """Write a person's choices (topic identifier -> subscribed) and/or the global flag, through identify.
    Nothing is written when nothing is given. Raises ``NotFound`` when the person is gone."""
    body: dict[str, Any] = {}
    if topics:
        body[PREFERENCES] = {"topics": dict(topics)}
    if unsubscribed is not None:
        body["unsubscribed"] = unsubscribed
    if not body:
        return None
    return people.identify(workspace_id, PersonRef("cio_id", cio_id), IdentifyRequest.parse(body))
