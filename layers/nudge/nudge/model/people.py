"""People, their unique identifiers, devices and suppressions: one table, partitioned per person.

Items (pk / sk):
- ``<ws>#p#<cio_id>`` / ``profile``: the person.
- ``<ws>#p#<cio_id>`` / ``device#<id>``: one item per device, in the person's partition.
- ``<ws>#<id|email|phone>#<value>`` / ``lookup``: unique identifier -> cio_id. Created in the same
  transaction as the profile, with a not-exists condition, so two identifies can never make two people.
- ``<ws>#anonymous#<anonymous_id>`` / ``lookup``: an anonymous id already merged into a person.
- ``<ws>#sup#<kind>#<value>`` / ``suppression``: a blocked identifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from nudge.model.base import table_meta
from nudge.model.keys import PROFILE, person_pk

PROFILE_SHARDS = 10


class PeopleByWorkspace(GlobalSecondaryIndex["PeopleItem"]):
    """Every profile of a workspace, for segment backfills. Nothing it holds changes after creation, so
    only creating or deleting a person writes it; spread over ``PROFILE_SHARDS`` keys so a bulk import
    is not one hot partition."""

    class Meta:
        index_name = "people_by_workspace"
        # Keys plus the discriminator, which PynamoDB filters on; neither changes after creation.
        projection = IncludeProjection(["kind"])

    profile_shard = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class PeopleByCreation(GlobalSecondaryIndex["PeopleItem"]):
    """Every profile of a workspace newest first (``created_at``), for the people listing and search. On
    the same shard keys as ``people_by_workspace`` (a page merges the shards: ``newest_first``); written
    when a person is created, deleted, or given another ``created_at``, id or email."""

    class Meta:
        index_name = "people_by_creation"
        # What a listing shows and its text search reads; attributes stay out of the index.
        projection = IncludeProjection(["kind", "cio_id", "id", "email"])

    profile_shard = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class PeopleItem(Model):
    Meta = table_meta("people", stream=True)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    profile_shard = UnicodeAttribute(null=True)  # profiles only: ``<ws>#<0..PROFILE_SHARDS-1>``
    by_workspace = PeopleByWorkspace()
    by_creation = PeopleByCreation()


class Person(PeopleItem, discriminator="person"):
    cio_id = UnicodeAttribute()
    person_id = UnicodeAttribute(attr_name="id", null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    attributes: MapAttribute = MapAttribute(default=dict)
    # Per-attribute _timestamp of the last write, so an older update never overwrites a newer value.
    attribute_timestamps: MapAttribute = MapAttribute(attr_name="attr_ts", default=dict)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    unsubscribed = BooleanAttribute(default=False)
    subscription_preferences: MapAttribute = MapAttribute(default=dict)
    anonymous_ids: ListAttribute = ListAttribute(default=list)  # of strings
    version = VersionAttribute()


class IdentifierLookup(PeopleItem, discriminator="lookup"):
    cio_id = UnicodeAttribute()


class Device(PeopleItem, discriminator="device"):
    cio_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    last_used = NumberAttribute(null=True)
    attributes: MapAttribute = MapAttribute(default=dict)
    updated_at = NumberAttribute()


class Suppression(PeopleItem, discriminator="suppression"):
    # Every identifier suppressed together: unsuppressing any one of them releases them all.
    group = ListAttribute(of=UnicodeAttribute)
    created_at = NumberAttribute()


def profiles(
    workspace_id: str,
    cio_ids: Iterable[str],
    *,
    attributes: Sequence[str] | None = None,
    consistent_read: bool | None = None,
) -> dict[str, Person]:
    """The profiles of ``cio_ids`` by cio_id, in batched reads (PynamoDB's ``batch_get`` sends 100 keys a
    call and retries the unprocessed ones); a person who does not exist is missing. ``attributes`` reads
    only those (``pk``, ``sk`` and ``kind`` are always read: the item needs them)."""
    keys = [(person_pk(workspace_id, cio), PROFILE) for cio in dict.fromkeys(cio_ids)]
    wanted = None if attributes is None else list(dict.fromkeys(["pk", "sk", "kind", *attributes]))
    return {
        str(person.cio_id): person
        for person in Person.batch_get(keys, attributes_to_get=wanted, consistent_read=consistent_read)
        if isinstance(person, Person)
    }
