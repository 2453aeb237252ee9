"""Where an export's rows come from, read a chunk at a time from a saved position.

A cursor is ``{"shard": n, "after": <the index's last evaluated key, or null>}``: both sources walk a
sharded index of the workspace (people: ``people_by_workspace``, 10 keys; deliveries: ``by_workspace``,
8 keys, by creation time), one shard after the other, so the position is one key and a chunk read again
from the same cursor is the same chunk. ``read`` answers the rows and the next cursor, None when the
source is exhausted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from nudge import clock
from nudge.delivery import records, states
from nudge.errors import NotFound
from nudge.exports import requests
from nudge.model import people as people_items
from nudge.model.base import plain
from nudge.model.deliveries import MESSAGE_SHARDS, DeliveriesItem, Delivery
from nudge.model.people import PROFILE_SHARDS, Person
from nudge.segments import definitions
from nudge.segments.condition_eval import evaluate
from nudge.segments.context import StoredPerson

Cursor = dict[str, Any]
START: Cursor = {"shard": 0, "after": None}
# A delivery export's timestamp columns: when each metric was first reached ("created" is its own column).
METRIC_COLUMNS = [m for m in requests.METRICS if m != "created"]


class ExportFailed(Exception):
    """The export cannot be completed as asked; ``reason`` says why, for a person to act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Source(Protocol):
    header: list[str]

    def read(self, cursor: Cursor, limit: int) -> tuple[list[list[str]], Cursor | None]: ...


def for_request(workspace_id: str, request: requests.ExportRequest) -> Source:
    if isinstance(request, requests.CustomersExport):
        return CustomersSource(workspace_id, request)
    return DeliveriesSource(workspace_id, request)


def cell(value: Any) -> str:
    """One CSV cell: text as it is, numbers without a trailing ``.0``, anything nested as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return str(value)


def _next(cursor: Cursor, last_key: dict[str, Any] | None, shards: int) -> Cursor | None:
    if last_key is not None:
        return {"shard": cursor["shard"], "after": last_key}
    if cursor["shard"] + 1 < shards:
        return {"shard": cursor["shard"] + 1, "after": None}
    return None


def _profiles(workspace_id: str, cio_ids: Iterable[str]) -> dict[str, Person]:
    return people_items.profiles(workspace_id, cio_ids)  # batched reads of 100 keys


@dataclass
class CustomersSource:
    """People matching the filter: the index's keys, then the profiles in batches, each tested with the
    segment evaluator (as ``POST /v1/customers`` tests them)."""

    workspace_id: str
    request: requests.CustomersExport

    def __post_init__(self) -> None:
        self.condition = self.request.condition()
        self.header = ["id", "email", "cio_id", *self.request.attributes]

    def read(self, cursor: Cursor, limit: int) -> tuple[list[list[str]], Cursor | None]:
        self._check_segments()
        result = Person.by_workspace.query(
            f"{self.workspace_id}#{cursor['shard']}",
            limit=limit,
            page_size=limit,
            last_evaluated_key=cursor["after"],
        )
        # The index holds keys only: the person is in the table key (``<ws>#p#<cio_id>``).
        cio_ids = [str(p.pk).rpartition("#p#")[2] for p in result]
        profiles = _profiles(self.workspace_id, cio_ids)
        now = clock.now()
        rows = []
        for cio_id in cio_ids:
            profile = profiles.get(cio_id)
            if profile is None:
                continue  # deleted since the index was read
            person = StoredPerson(self.workspace_id, profile, now)
            if evaluate(self.condition, person).matched:
                values = [person.attributes.get(name) for name in self.request.attributes]
                rows.append([cell(profile.person_id), cell(profile.email), cio_id, *map(cell, values)])
        return rows, _next(cursor, result.last_evaluated_key, PROFILE_SHARDS)

    def _check_segments(self) -> None:
        """A segment deleted while the export runs would match no one from then on: the file would be
        wrong without saying so. One read per segment per chunk."""
        for segment_id in self.request.segments():
            try:
                definitions.load(self.workspace_id, segment_id)
            except NotFound as exc:
                raise ExportFailed(
                    f"segment {segment_id} was deleted while the export ran; start a new export "
                    "without it (filters.segment.id)"
                ) from exc


@dataclass
class DeliveriesSource:
    """Deliveries created in the window, filtered by campaign, action (template), metric and drafts, with
    the recipient's identifiers and requested attributes."""

    workspace_id: str
    request: requests.DeliveriesExport

    def __post_init__(self) -> None:
        self.header = [
            "delivery_id",
            "id",
            "email",
            "cio_id",
            "campaign_id",
            "action_id",
            "type",
            "recipient",
            "state",
            "created_at",
            *(f"{metric}_at" for metric in METRIC_COLUMNS),
            "reason",
            *self.request.attributes,
        ]

    def read(self, cursor: Cursor, limit: int) -> tuple[list[list[str]], Cursor | None]:
        request = self.request
        result = DeliveriesItem.by_workspace.query(
            f"{self.workspace_id}#{cursor['shard']}",
            DeliveriesItem.created_key.between(f"{request.start:012d}", f"{request.end:012d}#~"),
            limit=limit,
            page_size=limit,
            last_evaluated_key=cursor["after"],
        )
        entries = records.resolve(list(result))  # listing items read with their deliveries
        kept = [d for d in entries if isinstance(d, Delivery) and self._keep(d)]
        owners = self._owners(kept)
        profiles = _profiles(self.workspace_id, owners.values())
        rows = []
        for delivery in kept:
            cio_id = owners.get(str(delivery.delivery_id))
            profile = profiles.get(cio_id) if cio_id else None
            person = StoredPerson(self.workspace_id, profile) if profile is not None else None
            metrics = plain(delivery.metrics)
            rows.append(
                [
                    str(delivery.delivery_id),
                    cell(profile.person_id if profile else None),
                    cell(profile.email if profile else None),
                    cell(cio_id),
                    cell(delivery.campaign_id),
                    cell(delivery.template_id),
                    str(delivery.channel),
                    cell(delivery.recipient),
                    str(delivery.state),
                    cell(delivery.created_at),
                    *(cell(metrics.get(metric)) for metric in METRIC_COLUMNS),
                    cell(delivery.reason),
                    *(cell(person.attributes.get(n) if person else None) for n in request.attributes),
                ]
            )
        return rows, _next(cursor, result.last_evaluated_key, MESSAGE_SHARDS)

    def _keep(self, delivery: Delivery) -> bool:
        request = self.request
        if request.campaign_id is not None and str(delivery.campaign_id) != request.campaign_id:
            return False
        if request.action_id is not None and str(delivery.template_id) != request.action_id:
            return False
        if not request.drafts and delivery.state == states.DRAFTED:
            return False
        return request.metric == "created" or request.metric in plain(delivery.metrics)

    def _owners(self, deliveries: list[Delivery]) -> dict[str, str]:
        """delivery id -> cio_id: a delivery read for its listing item holds it; the index does not, so
        for a delivery listed by its own entry (queued before listing items) the items are read for it
        (only the keys and the person: the request and content are not returned)."""
        owners = {str(d.delivery_id): str(d.cio_id) for d in deliveries if getattr(d, "cio_id", None)}
        keys = [
            (records.delivery_pk(self.workspace_id, str(d.delivery_id)), records.SK)
            for d in deliveries
            if str(d.delivery_id) not in owners
        ]
        # PynamoDB's batch_get sends 100 keys a call.
        for item in Delivery.batch_get(keys, attributes_to_get=["pk", "sk", "kind", "delivery_id", "cio_id"]):
            if isinstance(item, Delivery):
                owners[str(item.delivery_id)] = str(item.cio_id)
        return owners
