"""Liquid in the local runtime, over real HTTP: its workspace writes Liquid, and a campaign triggered by
an event renders a Liquid template (event items, money math, dates, a Liquid layout) into the outbox."""

from __future__ import annotations

import uuid
from html import unescape

BODY = (
    "{% assign total = 0 %}<p>Hi {{ customer.first_name | capitalize | default: 'there' }},</p><ul>"
    "{% for item in event.items %}{% assign line = item.price | times: item.quantity %}"
    "{% assign total = total | plus: line %}<li>{{ item.name }}: {{ item.quantity }} x ${{ item.price }}</li>"
    "{% endfor %}</ul><p>Total ${{ total | round: 2 }}, ordered {{ event.ordered_at | date: '%B %-d, %Y' }}."
    "</p>{% unless customer.vip %}<p>Join VIP!</p>{% endunless %}"
)


def test_a_campaign_renders_a_liquid_template_into_the_outbox(local):
    settings = local.app("GET", "/v1/settings/delivery").json()["delivery"]
    assert settings["template_language"] == "liquid"  # the local runtime's workspace is new
    tag = uuid.uuid4().hex[:8]
    layout = local.app(
        "POST", "/v1/layouts", {"name": f"Brand {tag}", "body": "<html><body>{{ content }}</body></html>"}
    ).json()["layout"]
    made = local.app(
        "POST",
        "/v1/templates",
        {
            "name": f"Receipt {tag}",
            "channel": "email",
            "subject": "{{ customer.first_name | capitalize }}, order {{ event.order_id }}",
            "body": BODY,
            "layout_id": layout["id"],
        },
    )
    assert made.status_code == 200, made.text
    template = made.json()["template"]
    assert template["language"] == "liquid"
    event_name = f"order_{tag}"
    created = local.app(
        "POST",
        "/v1/campaigns",
        {
            "campaign": {
                "name": f"Receipts {tag}",
                "trigger": {"type": "event", "name": event_name},
                "workflow": {
                    "start": "b1",
                    "blocks": {"b1": {"type": "send", "channel": "email", "template_id": template["id"]}},
                },
            }
        },
    )
    assert created.status_code == 200, created.text
    campaign_id = created.json()["campaign"]["id"]
    assert local.app("POST", f"/v1/campaigns/{campaign_id}/activate").status_code == 200

    person = f"liquid-{tag}"
    address = f"{person}@example.com"
    assert local.track("PUT", f"/api/v1/customers/{person}", {"email": address, "first_name": "zoe"}).ok
    event = {
        "name": event_name,
        "data": {
            "order_id": "Z-9",
            "ordered_at": 1764849600,  # 2025-12-04 12:00 UTC
            "items": [
                {"name": "Mug", "price": 8.5, "quantity": 2},
                {"name": "Tea", "price": 4.25, "quantity": 1},
            ],
        },
    }
    assert local.track("POST", f"/api/v1/customers/{person}/events", event).ok

    def receipt():
        return next((m for m in local.get("/_local/outbox").json() if m["recipient"] == address), None)

    message = local.wait_until(receipt, timeout=30)
    assert message["subject"] == "Zoe, order Z-9"
    html = unescape(message["html"])
    assert html.startswith(
        "<html><body><p>Hi Zoe,</p><ul><li>Mug: 2 x $8.5</li><li>Tea: 1 x $4.25</li></ul>"
        "<p>Total $21.25, ordered December 4, 2025.</p><p>Join VIP!</p>"
    )
