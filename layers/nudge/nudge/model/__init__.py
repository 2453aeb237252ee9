"""The data model: PynamoDB models, one table per concern, every key scoped by workspace.

Models stay inside this package; the rest of the domain maps them to plain types at the boundary.
"""

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
