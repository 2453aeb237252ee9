"""Deliveries (one per message), the in-app inbox, address suppressions, message-limit counters and the
workspace's templates: everything the send side reads and writes, in one streamed table.

Items (pk / sk):
- ``<ws>#d#<delivery_id>`` / ``delivery``: one message to one person, from queueing to its last metric.
  Its stream records drive the send function: a delivery that becomes ``queued`` is sent. Indexed, while
  scheduled for a later ``send_at``, by due minute (``by_due``). Deliveries queued before the listing
  item existed also carry the listing indexes' keys (below) and are listed themselves.
- ``<ws>#d#<delivery_id>`` / ``listing``: what puts a delivery in the message listings, written once when
  it is queued (``DeliveryListing``): indexed by person (``by_person``, newest first) for
  ``/v1/customers/{id}/messages`` and by workspace (``by_workspace``, sharded, newest first) for
  ``/v1/messages``. Apart from the delivery because both indexes project what a listing shows: with
  their keys on the delivery, each of its state changes (claimed, sent, delivered, opened, ...) rewrote
  both index entries, three write units instead of one. It holds only what never changes; a listing
  reads the state, metrics and recipient from the deliveries (one BatchGetItem a page).
- ``<ws>#d#<delivery_id>`` / ``content``: the message as it was sent ("view in browser", the archived
  message), unless retention is disabled. Beside the delivery rather than on it: DynamoDB bills a write
  by the whole item's size, so a 20 KB email's content on the delivery made each later update (delivered,
  opened, clicked) cost 40-odd write units instead of three. It has no index keys and its stream
  records pass no filter: written once, read only when shown.
- ``<ws>#inbox#<cio_id>`` / ``<created>#<delivery_id>``: an in-app message waiting in a person's inbox.
- ``<ws>#blocked#<address>`` / ``address``: an email address or phone suppressed after a hard bounce or a
  complaint.
- ``<ws>#limit#<cio_id>#<window>`` / ``limit``: messages counted against the workspace's per-person limit
  in one window; expires after it.
- ``<ws>#settings`` / ``delivery``: the workspace's delivery settings (sender, SMTP server, limit).
- ``<ws>#templates`` / ``t#<id>``, ``l#<id>``, ``s#<name>``, ``counter``: templates, layouts, snippets and
  the counter that numbers templates (Customer.io's transactional ids are numbers).
"""

from __future__ import annotations

import zlib

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from nudge.model.base import table_meta


class DeliveriesByPerson(GlobalSecondaryIndex["DeliveriesItem"]):
    class Meta:
        index_name = "by_person"
        # What a message listing shows; the request and the retained content stay out of the index.
        projection = IncludeProjection(
            [
                "kind",
                "delivery_id",
                "channel",
                "state",
                "source",
                "template_id",
                "recipient",
                "created_at",
                "metrics",
                "reason",
                "campaign_id",
            ]
        )

    person_key = UnicodeAttribute(hash_key=True)  # ``<ws>#<cio_id>``
    created_key = UnicodeAttribute(range_key=True)  # ``<created_at:012d>#<delivery_id>``


MESSAGE_SHARDS = 8


def workspace_shard(workspace_id: str, delivery_id: str) -> str:
    """Which of the workspace's ``by_workspace`` keys a delivery sits under (stable: from its id)."""
    return f"{workspace_id}#{zlib.crc32(delivery_id.encode()) % MESSAGE_SHARDS}"


class DeliveriesByWorkspace(GlobalSecondaryIndex["DeliveriesItem"]):
    """Every delivery of a workspace newest first, for ``GET /v1/messages``. A broadcast writes thousands a
    second and each delivery changes state several times, so the workspace is spread over
    ``MESSAGE_SHARDS`` keys (a page merges them: ``newest_first``), not one hot key."""

    class Meta:
        index_name = "by_workspace"
        projection = IncludeProjection(list(DeliveriesByPerson.Meta.projection.non_key_attributes or []))

    workspace_shard = UnicodeAttribute(hash_key=True)  # ``<ws>#<0..MESSAGE_SHARDS-1>``
    created_key = UnicodeAttribute(range_key=True)  # ``<created_at:012d>#<delivery_id>``


class DeliveriesByDue(GlobalSecondaryIndex["DeliveriesItem"]):
    class Meta:
        index_name = "by_due"
        projection = IncludeProjection(["kind"])

    due_bucket = UnicodeAttribute(hash_key=True)  # ``<minute>#<shard>``
    due_key = UnicodeAttribute(range_key=True)  # ``<due_at:012d>#<ws>#<delivery_id>``


class DeliveriesItem(Model):
    Meta = table_meta("deliveries", stream=True, stream_consumer="send")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    person_key = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute(null=True)
    by_person = DeliveriesByPerson()
    workspace_shard = UnicodeAttribute(null=True)  # deliveries only
    by_workspace = DeliveriesByWorkspace()
    due_bucket = UnicodeAttribute(null=True)  # scheduled deliveries only: the index is sparse
    due_key = UnicodeAttribute(null=True)
    by_due = DeliveriesByDue()
    expires_at = TTLAttribute(null=True)


class Delivery(DeliveriesItem, discriminator="delivery"):
    delivery_id = UnicodeAttribute()
    cio_id = UnicodeAttribute()
    channel = UnicodeAttribute()  # one of ``nudge.delivery.channel_names.CHANNELS``
    source = UnicodeAttribute()  # transactional | campaign | system (billing's invoice emails)
    state = UnicodeAttribute()
    template_id = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    request_json = UnicodeAttribute()  # what to send: overrides, message data, attachments, flags
    recipient = UnicodeAttribute(null=True)  # the address it went to, once known
    reason = UnicodeAttribute(null=True)  # why it failed or was not sent
    metrics: MapAttribute = MapAttribute(default=dict)  # state -> unix seconds it was first reached
    links: ListAttribute = ListAttribute(
        default=list
    )  # tracked links, by index (click tokens hold the index)
    content_json = UnicodeAttribute(
        null=True
    )  # sent before the content had its own item (``DeliveryContent``)
    provider_id = UnicodeAttribute(null=True)
    attempt_id = UnicodeAttribute(null=True)  # the claim: who is sending it
    retries = NumberAttribute(null=True)  # tries rescheduled so far (each waits longer; capped)
    retrying_since = NumberAttribute(null=True)  # when the first was: retries stop at a maximum age
    billable = BooleanAttribute(default=True)
    created_at = NumberAttribute()
    queued_at = NumberAttribute()
    updated_at = NumberAttribute()
    due_at = NumberAttribute(null=True)


class DeliveryListing(DeliveriesItem, discriminator="listing"):
    """A delivery's entry in the message listings (``<ws>#d#<delivery_id>`` / ``listing``): the index keys
    and what never changes, so its index entries are written once. Its stream records pass no filter."""

    delivery_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    source = UnicodeAttribute()
    template_id = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()


class DeliveryContent(DeliveriesItem, discriminator="content"):
    """The rendered message a delivery sent (``<ws>#d#<delivery_id>`` / ``content``)."""

    content_json = UnicodeAttribute()


class PendingReport(DeliveriesItem, discriminator="pending_report"):
    """``<ws>#d#<delivery_id>`` / ``report#<metric>``: the reporting-webhook events of a delivery's first
    report of a metric that the queue refused, kept for that report's retry to queue
    (``nudge.reporting.subscriber``); expires after a while like the delivery's other leftovers."""

    bodies: ListAttribute = ListAttribute(of=UnicodeAttribute, default=list)


class InboxMessage(DeliveriesItem, discriminator="inbox"):
    delivery_id = UnicodeAttribute()
    payload_json = UnicodeAttribute()
    state = UnicodeAttribute(default="sent")  # sent | opened | dismissed
    created_at = NumberAttribute()


class BlockedAddress(DeliveriesItem, discriminator="blocked"):
    address = UnicodeAttribute()
    reason = UnicodeAttribute()  # bounced | spammed
    delivery_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()


class LimitCounter(DeliveriesItem, discriminator="limit"):
    sent = NumberAttribute(default=0)


class SweepBookmark(DeliveriesItem, discriminator="bookmark"):
    """The scheduled-delivery sweep's last finished minute: the one item not scoped to a workspace."""

    minute = NumberAttribute()


class Template(DeliveriesItem, discriminator="template"):
    template_id = UnicodeAttribute()
    name = UnicodeAttribute()
    channel = UnicodeAttribute()
    body_json = UnicodeAttribute()  # the channel's fields (subject, body, body_plain, layout_id, ...)
    trigger_name = UnicodeAttribute(null=True)  # transactional_message_id may name it instead of its id
    language = UnicodeAttribute(null=True)  # liquid | jinja; none: saved before languages existed, Jinja
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class Layout(DeliveriesItem, discriminator="layout"):
    layout_id = UnicodeAttribute()
    name = UnicodeAttribute()
    body = UnicodeAttribute()
    language = UnicodeAttribute(null=True)  # liquid | jinja; none: saved before languages existed, Jinja
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class Snippet(DeliveriesItem, discriminator="snippet"):
    name = UnicodeAttribute()
    body = UnicodeAttribute()
    language = UnicodeAttribute(null=True)  # liquid | jinja; none: saved before languages existed, Jinja
    updated_at = NumberAttribute()


class DeliverySettings(DeliveriesItem, discriminator="settings"):
    """``<ws>#settings`` / ``delivery``: how the workspace's messages go out. Here rather than with the
    workspace (whose partition holds its key hashes), so the functions that read or change delivery
    settings need no access to credentials."""

    from_address = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    smtp_json = UnicodeAttribute(null=True)  # the workspace's own SMTP server, when it has one
    message_limit = NumberAttribute(null=True)  # at most this many messages per person ...
    message_limit_days = NumberAttribute(null=True)  # ... per this many days
    webhook_key_version = NumberAttribute(default=0)  # bumped to rotate the derived webhook signing key
    sending_rate = NumberAttribute(null=True)  # broadcasts start at most this many journeys per second
    # What content is written in when it does not say: "liquid" from a workspace's creation on; none for
    # workspaces created before languages existed, whose content is Jinja.
    template_language = UnicodeAttribute(null=True)
    updated_at = NumberAttribute()


class TemplateCounter(DeliveriesItem, discriminator="counter"):
    value = NumberAttribute(default=0)


class ReportingWebhookItem(DeliveriesItem, discriminator="reporting_webhook"):
    """``<ws>#reporting_webhooks`` / ``w#<id:010d>``: where a workspace's message events are POSTed
    (``nudge.reporting``). The partition also holds the counter numbering them (a ``TemplateCounter`` at
    ``counter``). No key is stored: the signing key is derived from the link secret and ``key_salt``."""

    webhook_id = NumberAttribute()
    name = UnicodeAttribute()
    endpoint = UnicodeAttribute()
    events: ListAttribute = ListAttribute(default=list)  # of Customer.io event names (email_sent, ...)
    disabled = BooleanAttribute(default=False)
    full_resolution = BooleanAttribute(default=False)
    with_content = BooleanAttribute(default=False)
    key_salt = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
