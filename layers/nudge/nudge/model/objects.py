"""Objects (type + id + attributes) and person-object relationships.

Items (pk / sk):
- ``<ws>#o#<type>#<id>`` / ``object``: the object.
- ``<ws>#oid#<cio_object_id>`` / ``lookup``: internal object id -> type and id.
- ``<ws>#o#<type>#<id>`` / ``rel#<cio_id>``: a relationship, also indexed by person (``by_person``).
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from nudge.model.base import table_meta


class RelationshipsByPerson(GlobalSecondaryIndex["ObjectsItem"]):
    class Meta:
        index_name = "by_person"
        projection = AllProjection()

    person_pk = UnicodeAttribute(hash_key=True)
    object_key = UnicodeAttribute(range_key=True)


class ObjectsItem(Model):
    Meta = table_meta("objects", stream=True)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    object_type_id = UnicodeAttribute()
    object_id = UnicodeAttribute()
    # Set on relationship items only: the index is sparse.
    person_pk = UnicodeAttribute(null=True)
    object_key = UnicodeAttribute(null=True)
    by_person = RelationshipsByPerson()


class TrackedObject(ObjectsItem, discriminator="object"):
    cio_object_id = UnicodeAttribute()
    attributes: MapAttribute = MapAttribute(default=dict)
    anonymous = BooleanAttribute(default=False)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class ObjectLookup(ObjectsItem, discriminator="lookup"):
    pass


class Relationship(ObjectsItem, discriminator="relationship"):
    cio_id = UnicodeAttribute()
    attributes: MapAttribute = MapAttribute(default=dict)
    updated_at = NumberAttribute()
