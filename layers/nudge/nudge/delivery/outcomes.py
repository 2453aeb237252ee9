"""The delivery outcomes port: what became of a message, told to whoever above delivery wants to know.

Delivery sits below campaigns and billing, so it cannot call them; it reports here instead, and they
subscribe. The subscribers are connected once per process by ``nudge.composition.connect`` (every
handler calls it at import): campaign counters (``campaigns.metrics.on_delivery_outcome``) and usage
metering (``billing.metering.on_delivery_outcome``), then reporting webhooks
(``reporting.subscriber.on_delivery_outcome``, which only queues). A new subscriber is a function taking
an ``Outcome``, subscribed there.

Reported:
- ``attempted``, ``failed`` and ``undeliverable`` by the send pipeline when it records that a message did
  not go out (a try failed and another is scheduled; it failed or gave up; a gate or a missing address or
  person stopped it), ``first`` and ``decided_by_send``;
- ``sent`` by the send pipeline when it records a message as sent (``first``), and again, not ``first``,
  when a later sighting finds a sent message that may not have been metered (a sender that died between
  the two writes), or SES's feedback shows a message recorded as "outcome unknown" did go out;
- every metric the feedback records (``delivered``, ``opened``, ``clicked``, ``bounced``, ``spammed``,
  ``deferred``, ``dropped``, ``failed``, ``converted``, ``unsubscribed``), after it was recorded, ``first``
  when the delivery had no such metric before.

Subscribers run in the order subscribed, in the reporter's process and call: an exception propagates to
the reporter as the direct call it replaced did (the send function then retries the record, the Track
API answers 5xx). The same outcome can be reported again (a retried stream record, SES redelivering an
event), so a subscriber either is idempotent or acts on ``first`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nudge.delivery import records
from nudge.model.deliveries import Delivery


@dataclass(frozen=True)
class Outcome:
    workspace_id: str
    delivery_id: str
    channel: str  # email, sms, push, in_app, webhook
    state: str  # a ``delivery.states`` metric: sent, delivered, opened, clicked, bounced, ...
    at: int  # unix seconds
    first: bool  # the delivery reached this state with this report (False: reported before)
    billable: bool  # counts in the workspace's usage (system mail does not)
    own_smtp: bool  # sent through the workspace's own SMTP server (metered apart)
    campaign_id: str | None  # the campaign that sent it, if any
    block: str | None  # the campaign's send block, if any
    cio_id: str = ""  # the person it went to (reporting webhooks name them)
    link: int | None = None  # ``clicked``: the link's index in the message, when a tracked link was followed
    # The send's own verdict on a message that did not go out (``attempted``, ``failed``,
    # ``undeliverable``), not a metric of a message that did: campaign counters leave it out.
    decided_by_send: bool = False


Subscriber = Callable[[Outcome], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> None:
    """Add a subscriber (once: subscribing the same function again changes nothing)."""
    if subscriber not in _subscribers:
        _subscribers.append(subscriber)


def subscribers() -> tuple[Subscriber, ...]:
    return tuple(_subscribers)


def report(outcome: Outcome) -> None:
    for subscriber in tuple(_subscribers):
        subscriber(outcome)


def of(
    delivery: Delivery,
    state: str,
    at: int,
    *,
    first: bool,
    own_smtp: bool | None = None,
    link: int | None = None,
    decided_by_send: bool = False,
) -> Outcome:
    """The outcome ``state`` of a stored delivery. ``own_smtp`` when the caller knows it (the send that
    just went out); otherwise read from the provider id the send recorded. ``link``: a click's link."""
    block = records.request_of(delivery).get("campaign", {}).get("block") if delivery.campaign_id else None
    if own_smtp is None:
        own_smtp = bool(delivery.provider_id and delivery.provider_id.startswith("smtp:"))
    return Outcome(
        workspace_id=delivery.workspace_id,
        delivery_id=delivery.delivery_id,
        channel=delivery.channel,
        state=state,
        at=at,
        first=first,
        billable=bool(delivery.billable),
        own_smtp=own_smtp,
        campaign_id=delivery.campaign_id or None,
        block=block,
        cio_id=delivery.cio_id,
        link=link,
        decided_by_send=decided_by_send,
    )
