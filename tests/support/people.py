"""Read back what the Track API stored, through the domain (never through the API under test)."""

from __future__ import annotations

from typing import Any

from nudge.tracking import devices, events, people
from nudge.tracking.identifiers import PersonRef, from_path


def profile(ws: str, identifier: str) -> dict[str, Any] | None:
    """The person addressed the way a path identifier would be (``cio_x``, email, or id)."""
    person = people.load(ws, from_path(identifier))
    return None if person is None else people.to_view(person)


def by(ws: str, kind: str, value: str) -> dict[str, Any] | None:
    person = people.load(ws, PersonRef(kind, value))  # type: ignore[arg-type]
    return None if person is None else people.to_view(person)


def events_of(ws: str, identifier: str) -> list[dict[str, Any]]:
    found = profile(ws, identifier)
    return [] if found is None else events.list_events(ws, found["cio_id"])


def devices_of(ws: str, identifier: str) -> list[dict[str, Any]]:
    found = profile(ws, identifier)
    return [] if found is None else devices.list_devices(ws, found["cio_id"])
