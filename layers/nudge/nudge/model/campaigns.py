"""Campaigns: definitions, the trigger index, each person's journey through each campaign, scheduled
date triggers, API-triggered broadcasts and per-block metrics. One table; not streamed.

Items (pk / sk):
- ``<ws>#campaigns`` / ``c#<campaign_id>``: the definition (JSON), its state (draft, active, paused,
  archived), the version being run and its state machine.
- ``<ws>#triggers`` / ``<key>#c#<campaign_id>``: the trigger index: which active campaigns a change can
  start. Keys: ``event#<name>``, ``segment#<id>``, ``attribute#<name>``, ``date#<attribute>``.
- ``<ws>#c#<campaign_id>#p#<cio_id>`` / ``journey``: one person's history in one campaign (entries, the
  last entry, the running execution, converted), which the frequency setting is decided on; beside it,
  ``claim`` (also a ``Journey``): the entry being started, so two triggers cannot both start a journey.
- ``<ws>#c#<campaign_id>#p#<cio_id>`` / ``due``: a date-attribute trigger's next firing, indexed by due
  minute (``by_due``) for the sweep.
- ``<ws>#c#<campaign_id>#broadcast#<trigger_id>`` / ``broadcast``: an API-triggered broadcast's status;
  ``request``: its recipients as requested and the fan-out's cursor.
- ``<ws>#newsletters`` / ``n#<id>``: a newsletter (its variants, audience and schedule, JSON) and its
  state; ``counter``: the number the next newsletter takes. A newsletter's broadcasts, journeys and
  metrics live under the campaign id ``nl-<id>`` like a campaign's.
- ``<ws>#c#<campaign_id>#metrics#<shard>`` / ``<block or "campaign">``: counters (entered, exited,
  converted, sent, ...), sharded so a broadcast's fan-out does not hit one item.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from nudge.model.base import table_meta


class CampaignsByDue(GlobalSecondaryIndex["CampaignsItem"]):
    class Meta:
        index_name = "by_due"
        projection = IncludeProjection(["kind"])

    due_bucket = UnicodeAttribute(hash_key=True)  # ``<minute>#<shard>``
    due_key = UnicodeAttribute(range_key=True)  # ``<due_at:012d>#<ws>#<campaign_id>#<cio_id>``


class CampaignsItem(Model):
    Meta = table_meta("campaigns", stream=False)

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute()
    workspace_id = UnicodeAttribute()
    due_bucket = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    by_due = CampaignsByDue()


class Campaign(CampaignsItem, discriminator="campaign"):
    campaign_id = UnicodeAttribute()
    name = UnicodeAttribute()
    state = UnicodeAttribute()  # draft | active | paused | archived
    definition_json = UnicodeAttribute()
    version = NumberAttribute(default=0)  # bumped by every activation that changed the definition
    state_machine_arn = UnicodeAttribute(null=True)
    version_arn = UnicodeAttribute(null=True)  # what new executions start on
    activated_at = NumberAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class TriggerIndex(CampaignsItem, discriminator="trigger"):
    campaign_id = UnicodeAttribute()


class Journey(CampaignsItem, discriminator="journey"):
    campaign_id = UnicodeAttribute()
    cio_id = UnicodeAttribute()
    entries = NumberAttribute(default=0)
    last_entered_at = NumberAttribute(null=True)
    execution = UnicodeAttribute(null=True)  # the running execution's name
    running = BooleanAttribute(default=False)
    converted = BooleanAttribute(default=False)
    waiting_block = UnicodeAttribute(null=True)  # the wait the execution is in (the "waiting" metric)


class DateTrigger(CampaignsItem, discriminator="due"):
    campaign_id = UnicodeAttribute()
    cio_id = UnicodeAttribute()
    due_at = NumberAttribute()


class Broadcast(CampaignsItem, discriminator="broadcast"):
    campaign_id = UnicodeAttribute()
    trigger_id = UnicodeAttribute()
    status = UnicodeAttribute()  # queued | running | done | failed
    recipients = NumberAttribute(default=0)
    started = NumberAttribute(default=0)
    errors: MapAttribute = MapAttribute(default=dict)  # identifier -> reason (first 100)
    skipped: MapAttribute = MapAttribute(null=True)  # reason -> recipients not entered for it
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class BroadcastRequest(CampaignsItem, discriminator="broadcast_request"):
    """What a broadcast's pages read: the recipients as requested, and where the fan-out stands."""

    campaign_id = UnicodeAttribute()
    trigger_id = UnicodeAttribute()
    request_json = UnicodeAttribute()  # {"kind": ..., ...}: see ``_spec``
    cursor = UnicodeAttribute(null=True)  # the next page's start; absent before the first page
    error_count = NumberAttribute(default=0)
    winner = UnicodeAttribute(null=True)  # an A/B test's winning block, decided once by the first page


class Newsletter(CampaignsItem, discriminator="newsletter"):
    newsletter_id = NumberAttribute()
    name = UnicodeAttribute()
    state = UnicodeAttribute()  # draft | sending | canceled
    definition_json = UnicodeAttribute()  # channel, variants, recipients, schedule, A/B test
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    sent_at = NumberAttribute(null=True)  # when sending was asked for


class NewsletterCounter(CampaignsItem, discriminator="newsletter_counter"):
    value = NumberAttribute(default=0)


class CampaignMetrics(CampaignsItem, discriminator="metrics"):
    counts: MapAttribute = MapAttribute(default=dict)  # metric -> count
