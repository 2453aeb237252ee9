"""Exports (``/v1/exports``): one item per export, and the counter that numbers them, in their workspace's
partition of a table of their own (no stream: nothing reacts to an export's changes but its worker, which
the queue drives).

Items (pk / sk):
- ``<ws>#exports`` / ``e#<id:012d>``: an export, its request, its state, and the worker's saved progress
  (the S3 multipart upload, the parts uploaded, the position reached in its source, the rows not yet in a
  part). Expires (TTL) when its file does: ``EXPORT_DAYS`` after creation, as the bucket's lifecycle rule.
- ``<ws>#exports`` / ``counter``: the last id given (Customer.io's export ids are numbers).
"""

from __future__ import annotations

from pynamodb.attributes import (
    DiscriminatorAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from nudge.model.base import table_meta

EXPORT_DAYS = 7


def exports_pk(workspace_id: str) -> str:
    return f"{workspace_id}#exports"


def export_sk(export_id: int) -> str:
    return f"e#{export_id:012d}"


COUNTER_SK = "counter"


class ExportsItem(Model):
    Meta = table_meta("exports", stream=False)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class ExportCounter(ExportsItem, discriminator="counter"):
    last_id = NumberAttribute(default=0)


class Export(ExportsItem, discriminator="export"):
    export_id = NumberAttribute()
    export_type = UnicodeAttribute()  # customers | deliveries
    request_json = UnicodeAttribute()  # what to export: the filters and columns, as validated
    description = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | running | done | failed
    reason = UnicodeAttribute(null=True)  # why it failed, for a person to act on
    rows = NumberAttribute(default=0)  # rows written so far (in parts and in the tail)
    downloads = NumberAttribute(default=0)
    object_key = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    # The worker's progress, saved after each step (``step`` counts them; every save is conditional on it).
    step = NumberAttribute(default=0)
    upload_id = UnicodeAttribute(null=True)
    parts: ListAttribute = ListAttribute(default=list)  # [{"n": 1, "etag": "..."}] uploaded, in order
    cursor_json = UnicodeAttribute(null=True)  # where the source resumes; null before the first read
    tail_key = UnicodeAttribute(null=True)  # the rows read but not yet in a part (below S3's part minimum)
    # Which invocation works on it, until when: a second delivery of its queue message finds it taken.
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
