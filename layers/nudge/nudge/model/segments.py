"""Segment definitions and membership.

Items (pk / sk):
- ``<ws>#s#<segment_id>`` / ``segment``: the definition.
- ``<ws>#s#<segment_id>`` / ``m#<cio_id>``: a member, with ``entered_at``; indexed by person.
"""

from __future__ import annotations

from pynamodb.attributes import DiscriminatorAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from nudge.model.base import table_meta


class MembershipsByPerson(GlobalSecondaryIndex["SegmentsItem"]):
    class Meta:
        index_name = "by_person"
        projection = AllProjection()

    person_pk = UnicodeAttribute(hash_key=True)
    segment_id = UnicodeAttribute(range_key=True)


class SegmentsItem(Model):
    Meta = table_meta("segments", stream=True)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    segment_id = UnicodeAttribute()
    person_pk = UnicodeAttribute(null=True)  # membership items only: the index is sparse
    by_person = MembershipsByPerson()


class Segment(SegmentsItem, discriminator="segment"):
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    type = UnicodeAttribute()  # "manual" or "dynamic"
    conditions: MapAttribute = MapAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class Membership(SegmentsItem, discriminator="membership"):
    cio_id = UnicodeAttribute()
    entered_at = NumberAttribute()
