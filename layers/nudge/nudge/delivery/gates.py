"""The gates every message passes, in order, before it may go out. The first that blocks is recorded
on the delivery (state ``undeliverable``, with the gate's reason):

1. the person unsubscribed (email, SMS and push), or is not subscribed to the message's topic (the one
   its campaign block or template names): they opted out of it, or it is opt-in and they never opted in.
   Transactional messages still go unless their template or the request says ``send_to_unsubscribed:
   false``;
2. the address is suppressed after a hard bounce or a complaint;
3. there is no address for the channel;
4. the workspace's limit of N messages per person per period (transactional, in-app and system messages
   are exempt). The count is an atomic conditional ``ADD``, so concurrent sends cannot overshoot. It is
   the last gate, the only one that writes (``take_slot``), and the pipeline takes it only once it holds
   the delivery's claim, so a duplicate sighting never counts: a message another gate stops never uses up
   the limit, and the pipeline gives the slot back (``uncount``) when the channel then does not send it.

``check`` runs the first three, which only read, before the claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from nudge.delivery.records import ADDRESSED_SOURCES
from nudge.delivery.request_shapes import SUBSCRIPTION_CHANNELS
from nudge.model.base import condition_failed
from nudge.model.deliveries import BlockedAddress, LimitCounter
from nudge.model.people import Person
from nudge.subscriptions import preferences, topics

if TYPE_CHECKING:
    from nudge.delivery.settings import MessageLimit
    from nudge.delivery.template_store import StoredTemplate

LIMITED_SOURCES = frozenset({"campaign"})


@dataclass(frozen=True)
class Blocked:
    gate: str  # unsubscribed | topic_opt_out | topic_not_opted_in | suppressed_address | message_limit
    #            | no_address
    reason: str


def blocked_pk(workspace_id: str, address: str) -> str:
    return f"{workspace_id}#blocked#{address.strip().lower()}"


def check(
    workspace_id: str,
    *,
    channel: str,
    source: str,
    request: dict[str, Any],
    person: Person,
    address: Any,
    template: StoredTemplate | None = None,
) -> Blocked | None:
    """The gates that only read: subscription, suppression, an address. ``template`` names the message's
    topic when the request does not, and whether a transactional message goes to unsubscribed people."""
    blocked = _subscription(workspace_id, channel, source, request, person, template)
    if blocked:
        return blocked
    if isinstance(address, str) and channel in ("email", "sms") and is_blocked(workspace_id, address):
        return Blocked("suppressed_address", f"{address} is suppressed after a bounce or complaint")
    if not address:
        return Blocked("no_address", f"the person has no address for {channel}")
    return None


def take_slot(
    workspace_id: str, cio_id: str, *, channel: str, source: str, limit: MessageLimit | None, now: int
) -> Blocked | None:
    """The message-limit gate: count the message against the person's limit, or say it is reached."""
    if (
        limit is None
        or not limited(channel, source)
        or _count_against_limit(workspace_id, cio_id, limit, now)
    ):
        return None
    return Blocked(
        "message_limit", f"the person reached the limit of {limit.count} messages per {limit.days} days"
    )


def limited(channel: str, source: str) -> bool:
    """Whether a message counts against the workspace's message limit."""
    return source in LIMITED_SOURCES and channel != "in_app"


def _subscription(
    workspace_id: str,
    channel: str,
    source: str,
    request: dict[str, Any],
    person: Person,
    template: StoredTemplate | None,
) -> Blocked | None:
    if channel not in SUBSCRIPTION_CHANNELS or source in ADDRESSED_SOURCES:
        return None
    fields = template.fields if template is not None else {}
    # Transactional messages go to unsubscribed people unless their template or the request says not to.
    default = source == "transactional" and fields.get("send_to_unsubscribed") is not False
    if request.get("send_to_unsubscribed", default) is True:
        return None
    if person.unsubscribed:
        return Blocked("unsubscribed", "the person is unsubscribed")
    topic = request.get("topic") or (
        topics.identifier(int(fields["topic_id"])) if fields.get("topic_id") is not None else None
    )
    return _topic(workspace_id, str(topic), person) if topic else None


def _topic(workspace_id: str, topic: str, person: Person) -> Blocked | None:
    """The person's choice for the message's topic, else the topic's default (read from the workspace's
    topics, cached briefly: only for messages that name one)."""
    chosen = preferences.choices(person)
    if topic in chosen:
        return None if chosen[topic] else Blocked("topic_opt_out", f"the person opted out of {topic}")
    known = next((t for t in topics.cached(workspace_id) if t.identifier == topic), None)
    if preferences.subscribed(chosen, topic, known):
        return None
    return Blocked("topic_not_opted_in", f"{topic} is opt-in and the person has not opted in")


def is_blocked(workspace_id: str, address: str) -> bool:
    try:
        BlockedAddress.get(blocked_pk(workspace_id, address), "address")
    except DoesNotExist:
        return False
    return True


def block(workspace_id: str, address: str, reason: str, delivery_id: str | None, now: int) -> None:
    BlockedAddress(
        blocked_pk(workspace_id, address),
        "address",
        workspace_id=workspace_id,
        address=address.strip().lower(),
        reason=reason,
        delivery_id=delivery_id,
        created_at=now,
    ).save()


def unblock(workspace_id: str, address: str) -> None:
    BlockedAddress(blocked_pk(workspace_id, address), "address").delete()


def _limit_counter(workspace_id: str, cio_id: str, window: str) -> LimitCounter:
    return LimitCounter(f"{workspace_id}#limit#{cio_id}#{window}", "limit", workspace_id=workspace_id)


def _count_against_limit(workspace_id: str, cio_id: str, limit: MessageLimit, now: int) -> bool:
    window = limit.window(now)
    counter = _limit_counter(workspace_id, cio_id, window)
    expires = (int(window) + 1) * limit.days * 86400 + 86400
    try:
        counter.update(
            actions=[
                LimitCounter.sent.add(1),
                LimitCounter.workspace_id.set(workspace_id),
                LimitCounter.expires_at.set(datetime.fromtimestamp(expires, UTC)),
            ],
            condition=LimitCounter.sent.does_not_exist() | (LimitCounter.sent < limit.count),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def uncount(workspace_id: str, cio_id: str, limit: MessageLimit, now: int) -> None:
    """Give back the slot ``check`` took at ``now`` for a message the channel then did not send (it was
    refused, or throttled and will be tried again, which counts it anew)."""
    try:
        _limit_counter(workspace_id, cio_id, limit.window(now)).update(
            actions=[LimitCounter.sent.add(-1)], condition=LimitCounter.sent > 0
        )
    except UpdateError as exc:
        if not condition_failed(exc):
            raise
