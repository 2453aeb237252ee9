"""The tables, each named by the one model class that creates it.

The CDK stack reads the same classes, so the deployed key schema, indexes and streams cannot drift
from what the code expects.
"""

from __future__ import annotations

from pynamodb.models import Model

from nudge.model.activities import ActivityItem
from nudge.model.billing import BillingItem
from nudge.model.campaigns import CampaignsItem
from nudge.model.deliveries import DeliveriesItem
from nudge.model.events import EventItem
from nudge.model.objects import ObjectsItem
from nudge.model.people import PeopleItem
from nudge.model.segments import SegmentsItem
from nudge.model.workspaces import WorkspacesItem

TABLE_MODELS: dict[str, type[Model]] = {
    "workspaces": WorkspacesItem,
    "people": PeopleItem,
    "events": EventItem,
    "objects": ObjectsItem,
    "segments": SegmentsItem,
    "billing": BillingItem,
    "deliveries": DeliveriesItem,
    "campaigns": CampaignsItem,
    "activities": ActivityItem,
}


def streamed_tables(consumer: str) -> dict[str, type[Model]]:
    """The tables whose stream feeds ``consumer`` ("evaluate" or "send")."""
    return {
        name: model
        for name, model in TABLE_MODELS.items()
        if getattr(model.Meta, "stream_consumer", None) == consumer
    }


def create_tables() -> None:
    """Create every table (tests and the local runtime; the stack creates them in AWS)."""
    for model in TABLE_MODELS.values():
        if not model.exists():
            model.create_table(wait=True)
        ttl = getattr(model, "_ttl_attribute", None)
        if ttl is not None and ttl() is not None:
            model.update_ttl(ignore_update_ttl_errors=True)
