"""Billing: per-period usage counters, identity records for high-watermark counting, periods, invoices
and credits. Not streamed: nothing downstream reacts to it.

Items (pk / sk):
- ``<ws>#period`` / ``current``: the open billing period (id = its start date) and its opening counts.
- ``<ws>#usage#<period>#<shard>`` / ``usage``: counters of one period, spread over shards so a bulk
  import does not make one hot item (created, deleted, new unique, per channel messages).
- ``<ws>#identity#<person|object>#<key>`` / ``identity``: the last incarnation of one identifier: alive or
  not, since when, when deleted, and the period it was last counted in.
- ``<ws>#incarnation#<cio_id>`` / ``incarnation``: that one profile's creation and deletion were metered
  (each exactly once, however often a stream record is redelivered).
- ``<ws>#message#<delivery_id>`` / ``message``: that delivery was metered.
- ``<ws>#invoices`` / ``<issued on>#<invoice id>``: an invoice (JSON), in issue order.
- ``<ws>#credits`` / ``<credit id>``: a credit or adjustment, with its reason.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.models import Model

from nudge.model.base import table_meta


class BillingItem(Model):
    Meta = table_meta("billing", stream=False)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()


class Period(BillingItem, discriminator="period"):
    period_id = UnicodeAttribute()  # the start date, YYYY-MM-DD
    starts = UnicodeAttribute()
    ends = UnicodeAttribute()
    people_start = NumberAttribute(default=0)
    objects_start = NumberAttribute(default=0)
    version = VersionAttribute()


class Usage(BillingItem, discriminator="usage"):
    period_id = UnicodeAttribute()
    people_created = NumberAttribute(default=0)
    people_deleted = NumberAttribute(default=0)
    people_new = NumberAttribute(default=0)
    objects_created = NumberAttribute(default=0)
    objects_deleted = NumberAttribute(default=0)
    objects_new = NumberAttribute(default=0)
    messages_email = NumberAttribute(default=0)
    messages_sms = NumberAttribute(default=0)
    messages_push = NumberAttribute(default=0)
    messages_in_app = NumberAttribute(default=0)
    messages_webhook = NumberAttribute(default=0)
    messages_own_smtp = NumberAttribute(default=0)  # sent, never billed


class Identity(BillingItem, discriminator="identity"):
    alive = BooleanAttribute(default=True)
    incarnation = UnicodeAttribute()  # the cio_id (or cio_object_id) of the latest incarnation
    since = NumberAttribute()
    deleted_at = NumberAttribute(null=True)
    counted_in = UnicodeAttribute()  # period id
    version = VersionAttribute()


class Incarnation(BillingItem, discriminator="incarnation"):
    created_at = NumberAttribute()
    deleted_at = NumberAttribute(null=True)


class MeteredMessage(BillingItem, discriminator="message"):
    channel = UnicodeAttribute()
    at = NumberAttribute()


class Invoice(BillingItem, discriminator="invoice"):
    invoice_id = UnicodeAttribute()
    period_id = UnicodeAttribute()
    issued_on = UnicodeAttribute()
    total_cents = NumberAttribute()
    body = UnicodeAttribute()  # the whole invoice as JSON, exactly as issued


class Credit(BillingItem, discriminator="credit"):
    credit_id = UnicodeAttribute()
    invoice_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    reason = UnicodeAttribute()
    created_at = NumberAttribute()
    applied_to = UnicodeAttribute(null=True)  # the invoice that deducted it
