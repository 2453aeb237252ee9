"""The data model: PynamoDB models, one table per concern, every key scoped by workspace.

Models stay inside this package; the rest of the domain maps them to plain types at the boundary.

The names below are imported from their modules when first asked for (``from nudge.model import
Person`` imports ``nudge.model.people`` only), so a function builds the model classes of the tables it
uses, not all eleven: importing every model was 4 to 9% of a function's import (instructions counted
under valgrind: Track 1,255M -> 1,208M, billing 984M -> 902M, reporting 1,062M -> 969M; bench/README.md,
"Cold start"). ``nudge.model.tables`` still imports them all for ``TABLE_MODELS``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nudge.model.console import ConsoleItem, ConsoleSession, Member, UserWorkspace
    from nudge.model.events import EventItem
    from nudge.model.objects import ObjectLookup, ObjectsItem, Relationship, TrackedObject
    from nudge.model.people import Device, IdentifierLookup, PeopleItem, Person, Suppression
    from nudge.model.segments import Dependents, Membership, Recheck, Segment, SegmentsItem
    from nudge.model.tables import TABLE_MODELS, create_tables
    from nudge.model.workspaces import (
        AppCredential,
        CdpCredential,
        KeyRecord,
        TrackCredential,
        Workspace,
        WorkspacesItem,
    )

_HOMES = {
    "ConsoleItem": "console",
    "ConsoleSession": "console",
    "Member": "console",
    "UserWorkspace": "console",
    "EventItem": "events",
    "ObjectLookup": "objects",
    "ObjectsItem": "objects",
    "Relationship": "objects",
    "TrackedObject": "objects",
    "Device": "people",
    "IdentifierLookup": "people",
    "PeopleItem": "people",
    "Person": "people",
    "Suppression": "people",
    "Dependents": "segments",
    "Membership": "segments",
    "Recheck": "segments",
    "Segment": "segments",
    "SegmentsItem": "segments",
    "TABLE_MODELS": "tables",
    "create_tables": "tables",
    "AppCredential": "workspaces",
    "CdpCredential": "workspaces",
    "KeyRecord": "workspaces",
    "TrackCredential": "workspaces",
    "Workspace": "workspaces",
    "WorkspacesItem": "workspaces",
}


def __getattr__(name: str) -> Any:
    """``from nudge.model import X``: import X's module now (the measured deferral above)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "TABLE_MODELS",
    "AppCredential",
    "CdpCredential",
    "ConsoleItem",
    "ConsoleSession",
    "Dependents",
    "Device",
    "EventItem",
    "IdentifierLookup",
    "KeyRecord",
    "Member",
    "Membership",
    "ObjectLookup",
    "ObjectsItem",
    "PeopleItem",
    "Person",
    "Recheck",
    "Relationship",
    "Segment",
    "SegmentsItem",
    "Suppression",
    "TrackCredential",
    "TrackedObject",
    "UserWorkspace",
    "Workspace",
    "WorkspacesItem",
    "create_tables",
]
