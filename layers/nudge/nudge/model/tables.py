"""The tables, each named by the one model class that creates it.

The CDK stack reads the same classes, so the deployed key schema, indexes and streams cannot drift
from what the code expects.
"""

from __future__ import annotations

from typing import Any

from pynamodb.models import Model

from nudge.model.activities import ActivityItem
from nudge.model.billing import BillingItem
from nudge.model.campaigns import CampaignsItem
from nudge.model.console import ConsoleItem
from nudge.model.deliveries import DeliveriesItem
from nudge.model.events import EventItem
from nudge.model.exports import ExportsItem
from nudge.model.objects import ObjectsItem
from nudge.model.people import PeopleItem
from nudge.model.segments import SegmentsItem
from nudge.model.workspaces import WorkspacesItem

TABLE_MODELS: dict[str, type[Model]] = {
    "workspaces": WorkspacesItem,
    "console": ConsoleItem,
    "people": PeopleItem,
    "events": EventItem,
    "objects": ObjectsItem,
    "segments": SegmentsItem,
    "billing": BillingItem,
    "deliveries": DeliveriesItem,
    "campaigns": CampaignsItem,
    "exports": ExportsItem,
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
    """Create every table (tests and the local runtime; the stack creates them in AWS). A table that
    exists gains the global indexes its model declares and it lacks: a local state directory outlives
    versions of Nudge, and a model that gained an index would otherwise fail its first query on it."""
    for model in TABLE_MODELS.values():
        if not model.exists():
            model.create_table(wait=True)
        else:
            add_missing_indexes(model)
        ttl = getattr(model, "_ttl_attribute", None)
        if ttl is not None and ttl() is not None:
            model.update_ttl(ignore_update_ttl_errors=True)


def add_missing_indexes(model: type[Model]) -> list[str]:
    """Create the model's global indexes its table lacks (one UpdateTable each, as DynamoDB takes them);
    returns their names."""
    client: Any = model._get_connection().connection.client  # botocore's, typed by name only
    table = model.Meta.table_name
    existing = {
        index["IndexName"]
        for index in client.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
    }
    schema: Any = model._get_schema()
    added = []
    for index in schema["global_secondary_indexes"]:
        if index["index_name"] in existing:
            continue
        client.update_table(
            TableName=table,
            AttributeDefinitions=index["attribute_definitions"],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["index_name"],
                        "KeySchema": index["key_schema"],
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        added.append(index["index_name"])
    return added
