"""Segment definitions, membership, the dependency index and scheduled re-checks.

Items (pk / sk):
- ``<ws>#s#<segment_id>`` / ``segment``: the definition (dynamic ones carry their conditions as JSON,
  their dependency keys, and the backfill's state, progress and cursor).
- ``<ws>#s#<segment_id>`` / ``m#<cio_id>``: a member, with ``entered_at``; indexed by person. Its stream
  record is the segment enter (INSERT) or exit (REMOVE) that campaigns consume.
- ``<ws>#dep#<key>`` / ``dependents``: the dynamic segments whose outcome a change of ``key`` (an
  attribute, an event name, devices, an object type, another segment) can alter.
- ``<ws>#recheck#<cio_id>#<segment_id>`` / ``recheck``: a time-relative condition's next flip, indexed by
  due minute (``by_due``) so a scheduled sweep reads only what is due.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from nudge.errors import NotFound
from nudge.model.base import table_meta
from nudge.model.keys import member_sk, segment_pk, segments_pk

# A segment's ``type``: filled by hand (add_customers, remove_customers) or by its conditions.
MANUAL, DYNAMIC = "manual", "dynamic"


class MembershipsByPerson(GlobalSecondaryIndex["SegmentsItem"]):
    class Meta:
        index_name = "by_person"
        projection = AllProjection()

    person_pk = UnicodeAttribute(hash_key=True)
    segment_id = UnicodeAttribute(range_key=True)


class RechecksByDue(GlobalSecondaryIndex["SegmentsItem"]):
    class Meta:
        index_name = "by_due"
        projection = IncludeProjection(["kind"])  # PynamoDB filters on the discriminator

    due_bucket = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class SegmentsItem(Model):
    Meta = table_meta("segments", stream=True)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    segment_id = UnicodeAttribute(null=True)
    person_pk = UnicodeAttribute(null=True)  # membership items only: the index is sparse
    by_person = MembershipsByPerson()
    due_bucket = UnicodeAttribute(null=True)  # re-check items only
    due_key = UnicodeAttribute(null=True)
    by_due = RechecksByDue()


class Segment(SegmentsItem, discriminator="segment"):
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    type = UnicodeAttribute()  # MANUAL or DYNAMIC
    conditions_json = UnicodeAttribute(null=True)  # JSON keeps numbers and nesting exactly as defined
    dependencies: ListAttribute = ListAttribute(default=list)  # of dependency keys
    state = UnicodeAttribute(default="finished")  # "building" while a backfill runs
    progress = NumberAttribute(default=100)  # percent of the backfill done
    backfill_shard = NumberAttribute(null=True)  # where a running backfill resumes
    backfill_cursor = UnicodeAttribute(null=True)
    revision = NumberAttribute(default=1)  # bumped on every definition change
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class Membership(SegmentsItem, discriminator="membership"):
    cio_id = UnicodeAttribute()
    entered_at = NumberAttribute()


class Dependents(SegmentsItem, discriminator="dependents"):
    segment_ids = UnicodeSetAttribute(null=True)


class Recheck(SegmentsItem, discriminator="recheck"):
    cio_id = UnicodeAttribute()
    due_at = NumberAttribute()


def load_segment(workspace_id: str, segment_id: str) -> Segment:
    """One segment's definition, read consistently (``segments.definitions.load``, and the Track API's
    manual segments, which must not need the condition language to find one)."""
    try:
        return Segment.get(segments_pk(workspace_id), str(segment_id), consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"segment {segment_id} not found") from exc


# --- membership: the queries of who is in a segment, and which segments a person is in --------------

_MEMBER_PREFIX = member_sk("")


def members(workspace_id: str, segment_id: str) -> Iterator[Membership]:
    """Every member of a segment, in cio_id order (the segment's partition, paged by PynamoDB)."""
    for item in Membership.query(
        segment_pk(workspace_id, segment_id), Membership.sk.startswith(_MEMBER_PREFIX)
    ):
        if isinstance(item, Membership):
            yield item


def member_count(workspace_id: str, segment_id: str) -> int:
    """How many people are in a segment: a count of its partition (a running counter would be one hot
    item per segment)."""
    return sum(1 for _ in members(workspace_id, segment_id))


def members_page(
    workspace_id: str, segment_id: str, *, after: str | None, limit: int
) -> tuple[list[Membership], str | None]:
    """Up to ``limit`` members in cio_id order from after the member ``after``, and the cursor of the
    next page (the last member's cio_id; None when this page is the last)."""
    pk = segment_pk(workspace_id, segment_id)
    last_key = {"pk": {"S": pk}, "sk": {"S": member_sk(after)}} if after else None
    result = Membership.query(
        pk, Membership.sk.startswith(_MEMBER_PREFIX), limit=limit, last_evaluated_key=last_key
    )
    found = [m for m in result if isinstance(m, Membership)]
    return found, (found[-1].cio_id if result.last_evaluated_key and found else None)


def memberships_of(person_pk: str) -> Iterator[Membership]:
    """Every segment membership of one person (the ``by_person`` index)."""
    for item in Membership.by_person.query(person_pk):
        if isinstance(item, Membership):
            yield item
