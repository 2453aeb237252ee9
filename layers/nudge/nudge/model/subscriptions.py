"""Subscription topics and the subscription centre's look, kept with the deliveries (the send side reads
topics at every gate; the links function, which serves the centre, already reads that table).

Items (pk / sk), beside those listed in ``model.deliveries``:
- ``<ws>#topics`` / ``topic#<id>``: one subscription topic (Customer.io's: numbered from 1, known to
  profiles as ``topic_<id>``).
- ``<ws>#topics`` / ``counter``: the counter that numbers them.
- ``<ws>#topics`` / ``centre``: the hosted subscription centre's name and colours.

None of them is a delivery, so the deliveries stream's filter (``kind = delivery``) never wakes the send
function for them.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from nudge.model.deliveries import DeliveriesItem


def topics_pk(workspace_id: str) -> str:
    return f"{workspace_id}#topics"


class Topic(DeliveriesItem, discriminator="topic"):
    topic_id = NumberAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    subscribed_by_default = BooleanAttribute()  # opt-out topic (True) or opt-in topic (False)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class TopicCounter(DeliveriesItem, discriminator="topic_counter"):
    value = NumberAttribute(default=0)


class CentreLook(DeliveriesItem, discriminator="subscription_centre"):
    name = UnicodeAttribute(null=True)  # shown as the page's heading: the workspace's brand
    accent = UnicodeAttribute(null=True)  # #rrggbb: buttons, links, the focus ring
    background = UnicodeAttribute(null=True)  # #rrggbb: the page behind the card
    updated_at = NumberAttribute()
