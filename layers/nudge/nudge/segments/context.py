"""A stored person as the condition evaluator sees them: everything beyond the profile is read lazily,
only when a condition asks, and at most once per evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.model import Device, EventItem, Membership, Person, Relationship, TrackedObject
from nudge.model.base import plain
from nudge.model.keys import event_time_key, member_sk, object_pk, person_pk, segment_pk
from nudge.subscriptions import preferences, topics
from nudge.tracking.people import to_view

_PAGE = 100


class _Attributes(dict[str, Any]):
    """The fields attribute conditions read: the profile's attributes, ``created_at``, and Customer.io's
    names for the person's subscription state, ``unsubscribed`` and
    ``cio_subscription_preferences.topics.topic_<id>`` (their choice, else the topic's default). The
    topics' defaults are read (a cached query of the workspace's topics) only when a condition names
    them, so evaluating anything else reads nothing more."""

    def __init__(self, fields: dict[str, Any], workspace_id: str, person: Person) -> None:
        super().__init__(fields)
        self._workspace_id, self._person = workspace_id, person

    def __contains__(self, key: object) -> bool:
        return key == preferences.PREFERENCES or super().__contains__(key)

    def __missing__(self, key: str) -> Any:
        if key != preferences.PREFERENCES:
            raise KeyError(key)
        chosen = preferences.choices(self._person)
        known = topics.cached(self._workspace_id)
        states = {t.identifier: preferences.subscribed(chosen, t.identifier, t) for t in known}
        self[key] = {"topics": {**chosen, **states}}
        return self[key]


class StoredPerson:
    def __init__(self, workspace_id: str, person: Person, now: int | None = None) -> None:
        self.workspace_id = workspace_id
        self.person = person
        self.cio_id = person.cio_id
        self.now = clock.now() if now is None else now
        view = to_view(person)
        fields = {
            **view["attributes"],
            "created_at": view["created_at"],
            "unsubscribed": view["unsubscribed"],
        }
        self.attributes: dict[str, Any] = _Attributes(fields, workspace_id, person)
        self._memberships: dict[str, bool] = {}

    @classmethod
    def load(cls, workspace_id: str, cio_id: str) -> StoredPerson | None:
        try:
            person = Person.get(person_pk(workspace_id, cio_id), "profile", consistent_read=True)
        except DoesNotExist:
            return None
        return cls(workspace_id, person)

    @cached_property
    def _devices(self) -> list[dict[str, Any]]:
        return [
            {
                "id": d.device_id,
                "platform": d.platform,
                "last_used": d.last_used,
                "attributes": plain(d.attributes),
            }
            for d in Device.query(self.person.pk, Device.sk.startswith("device#"))
        ]

    def devices(self) -> list[dict[str, Any]]:
        return self._devices

    def related_objects(self, object_type_id: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        relationships = [
            r
            for r in Relationship.by_person.query(
                self.person.pk, Relationship.object_key.startswith(f"{object_type_id}#")
            )
            if isinstance(r, Relationship)
        ]
        keys = [
            (object_pk(self.workspace_id, r.object_type_id, r.object_id), "object") for r in relationships
        ]
        objects = {o.pk: o for o in TrackedObject.batch_get(keys)}  # PynamoDB pages by 100 keys
        return [
            (plain(objects[key[0]].attributes), plain(r.attributes))
            for r, key in zip(relationships, keys, strict=True)
            if key[0] in objects
        ]

    def events(
        self, name: str, event_type: str | None, since: int | None, until: int | None
    ) -> Iterator[dict[str, Any]]:
        """Newest first, a page at a time: the evaluator stops pulling once its answer is decided."""
        lower = event_time_key(max(since or 0, 0), "")
        upper = event_time_key(until, "") if until is not None else "~"  # "~" sorts after every digit
        condition = EventItem.name == name
        if event_type is not None:
            condition &= EventItem.type == event_type
        for event in EventItem.by_time.query(
            self.person.pk,
            EventItem.ts_key.between(lower, upper),
            filter_condition=condition,
            scan_index_forward=False,
            page_size=_PAGE,
        ):
            if until is not None and int(event.timestamp) >= until:
                continue  # between() is inclusive; the window's end is not
            yield {"timestamp": int(event.timestamp), "data": plain(event.data)}

    def in_segment(self, segment_id: str) -> bool:
        if segment_id not in self._memberships:
            try:
                Membership.get(
                    segment_pk(self.workspace_id, segment_id), member_sk(self.cio_id), consistent_read=True
                )
                self._memberships[segment_id] = True
            except DoesNotExist:
                self._memberships[segment_id] = False
        return self._memberships[segment_id]
