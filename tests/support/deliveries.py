"""Deliveries for pipeline tests: queue one as a campaign would, and read back what was recorded."""

from __future__ import annotations

import secrets
from typing import Any

from nudge import clock
from nudge.billing import metering
from nudge.delivery import records
from nudge.model.deliveries import Delivery
from tests.support.people import profile

CONTENT: dict[str, dict[str, Any]] = {
    "email": {"subject": "Hello", "body": "<p>Hello {{ customer.id }}</p>"},
    "sms": {"body": "Hello {{ customer.id }}"},
    "push": {"message": "Hello {{ customer.id }}"},
    "in_app": {"body": "Hello {{ customer.id }}"},
    "webhook": {"url": "https://hooks.example/{{ customer.id }}"},
}


def cio_id(ws: str, identifier: str) -> str:
    found = profile(ws, identifier)
    assert found is not None, f"no person {identifier}"
    return str(found["cio_id"])


def campaign(
    ws: str,
    identifier: str,
    channel: str = "email",
    content: dict[str, Any] | None = None,
    *,
    template_id: str | None = None,
    **request: Any,
) -> str:
    """Queue a campaign-sourced delivery to the person ``identifier`` (as a path names them)."""
    delivery_id = secrets.token_hex(16)
    if content is None:
        content = {} if template_id else CONTENT[channel]
    records.queue(
        ws,
        records.NewDelivery(
            delivery_id=delivery_id,
            cio_id=cio_id(ws, identifier),
            channel=channel,
            source="campaign",
            request={"content": content, **request},
            template_id=template_id,
            campaign_id="1",
        ),
    )
    return delivery_id


def delivery(ws: str, delivery_id: str) -> Delivery:
    found = records.load(ws, delivery_id)
    assert found is not None, f"no delivery {delivery_id}"
    return found


def metrics(ws: str, delivery_id: str) -> dict[str, int]:
    return {name: int(at) for name, at in delivery(ws, delivery_id).metrics.as_dict().items()}


def usage(ws: str) -> metering.PeriodUsage:
    """The workspace's metered usage in the current billing period."""
    from nudge.billing import periods
    from nudge.workspaces import billing_anchor

    period = periods.period_start_at(billing_anchor(ws), periods.day_of(clock.now()))
    return metering.read_usage(ws, period.isoformat())


def messages_metered(ws: str) -> dict[str, int]:
    return dict(usage(ws).messages)


def unsubscribed(ws: str, identifier: str) -> bool:
    found = profile(ws, identifier)
    assert found is not None, f"no person {identifier}"
    return bool(found["unsubscribed"])
