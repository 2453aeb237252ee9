"""What happens after a message went out: metrics from clients and SDKs, tracking links, and SES's
events. Every path ends in ``records.record_metric``, which keeps each metric's first time and only
ever moves a delivery's state forward.

- A hard bounce blocks the address; a complaint blocks it and unsubscribes the person.
- An unsubscribe (link, one-click POST, or metric) unsubscribes the person through identify, so
  segments and campaigns see the change like any other.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from nudge import clock
from nudge.delivery import gates, outcomes, records, states
from nudge.delivery.records import recover_sent
from nudge.delivery.ses_events import KINDS as SES_KINDS
from nudge.delivery.ses_events import Feedback
from nudge.errors import InvalidRequest, NotFound
from nudge.model.deliveries import Delivery
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.identify_request import IdentifyRequest

logger = Logger(child=True)
# What SES reports that feedback records: not "sent", which the pipeline recorded itself. A client's
# metrics and SES's kinds are named as the states they record (``states.METRICS``, ``ses_events.KINDS``).
_SES_STATES = SES_KINDS - {states.SENT}


def _record(delivery: Delivery, state: str, at: int, link: int | None = None) -> bool:
    """Record the metric on the delivery, then report it (``outcomes``: the campaign counts it the first
    time). False, and nothing reported, when the delivery never went out."""
    first = state not in (delivery.metrics.as_dict() if delivery.metrics else {})
    if not records.record_metric(delivery, state, at):
        return False
    outcomes.report(outcomes.of(delivery, state, at, first=first, link=link))
    return True


def _require(workspace_id: str, delivery_id: str) -> Delivery:
    delivery = records.load(workspace_id, delivery_id)
    if delivery is None:
        raise NotFound(f"delivery {delivery_id} not found")
    return delivery


def client_metric(workspace_id: str, delivery_id: str, metric: str, at: int) -> None:
    """``POST /api/v1/metrics``, push events, v2 delivery ops and the in-app API."""
    if metric not in states.METRICS:
        raise InvalidRequest(f"metric must be one of {', '.join(states.METRICS)}", field="metric")
    state = metric
    delivery = _require(workspace_id, delivery_id)
    if not _record(delivery, state, at):
        raise InvalidRequest(
            f"delivery {delivery_id} was not sent: it is {delivery.state}", field="delivery_id"
        )
    if state == states.UNSUBSCRIBED:
        _unsubscribe_person(delivery)


def opened(workspace_id: str, delivery_id: str, at: int) -> None:
    delivery = records.load(workspace_id, delivery_id)
    if delivery is not None:
        _record(delivery, states.OPENED, at)


def clicked(workspace_id: str, delivery_id: str, index: int, at: int) -> str:
    """The link at ``index`` in the message, after recording the click. Only links that were in the
    message can come out, whatever the token says: the URL is read from the stored delivery."""
    delivery = _require(workspace_id, delivery_id)
    found = list(delivery.links or [])
    if not 0 <= index < len(found):
        raise NotFound("link not found")
    _record(delivery, states.CLICKED, at, link=index)
    return str(found[index])


def unsubscribe(workspace_id: str, delivery_id: str, at: int) -> None:
    delivery = _require(workspace_id, delivery_id)
    _record(delivery, states.UNSUBSCRIBED, at)
    _unsubscribe_person(delivery)


def _unsubscribe_person(delivery: Delivery) -> None:
    try:
        people.identify(
            delivery.workspace_id, PersonRef("cio_id", delivery.cio_id), IdentifyRequest(unsubscribed=True)
        )
    except NotFound:
        logger.info("unsubscribe for a deleted person", delivery_id=delivery.delivery_id)


def from_ses(event: Feedback) -> None:
    """One SES event (via SNS, signature already verified)."""
    if event.kind not in _SES_STATES:
        return  # "sent": the pipeline recorded that itself
    state = event.kind
    delivery = records.load(event.workspace_id, event.delivery_id)
    if delivery is None:
        logger.warning("feedback for an unknown delivery", delivery_id=event.delivery_id, kind=event.kind)
        return
    if recover_sent(delivery) and delivery.billable:
        # It went out after all (its sender died before recording that): now it counts.
        outcomes.report(outcomes.of(delivery, states.SENT, clock.now(), first=False, own_smtp=False))
    if state == states.BOUNCED and event.permanent:
        for address in event.addresses:
            gates.block(event.workspace_id, address, "bounced", event.delivery_id, event.at)
    if state == states.SPAMMED:
        for address in event.addresses:
            gates.block(event.workspace_id, address, "spammed", event.delivery_id, event.at)
        _unsubscribe_person(delivery)
    if state == states.BOUNCED and not event.permanent:
        state = states.DEFERRED  # a soft bounce: the provider keeps trying
    _record(delivery, state, event.at)
