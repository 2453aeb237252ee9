"""Delivery in the local runtime, over real HTTP: a transactional email sent through the App API lands
in the outbox (through the real SES adapter and moto's SES), and its tracking links work."""

from __future__ import annotations

import re
import uuid
from html import unescape

import requests


def _outbox_message(local, delivery_id):
    def found():
        messages = local.get("/_local/outbox").json()
        return next((m for m in messages if m["delivery_id"] == delivery_id), None)

    return local.wait_until(found, timeout=15)


def _state(local, delivery_id):
    return local.app("GET", f"/v1/messages/{delivery_id}").json()["message"]["state"]


def test_transactional_email_reaches_the_outbox_with_working_links(local):
    person = f"mail-{uuid.uuid4().hex[:8]}"
    assert local.track(
        "PUT", f"/api/v1/customers/{person}", {"email": f"{person}@example.com", "name": "Ann"}
    ).ok
    answer = local.app(
        "POST",
        "/v1/send/email",
        {
            "identifiers": {"id": person},
            "subject": "Hello {{ customer.name }}",
            "body": '<p>Your order <a href="https://shop.example/orders/{{ trigger.order }}">is here</a></p>'
            '<p><a href="{{ unsubscribe_url }}">unsubscribe</a></p>',
            "message_data": {"order": "A-17"},
        },
    )
    assert answer.status_code == 200, answer.text
    delivery_id = answer.json()["delivery_id"]

    message = _outbox_message(local, delivery_id)
    assert message["recipient"] == f"{person}@example.com"
    assert message["subject"] == "Hello Ann"
    assert message["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert local.wait_until(lambda: _state(local, delivery_id) == "sent", timeout=10)

    html = unescape(message["html"])
    click = re.search(r'href="([^"]+/t/c/[^"]+)"', html).group(1)
    redirect = requests.get(click, allow_redirects=False, verify=local.verify, timeout=10)
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == "https://shop.example/orders/A-17"
    assert _state(local, delivery_id) == "clicked"

    pixel = re.search(r'src="([^"]+/t/o/[^"]+)"', html).group(1)
    assert requests.get(pixel, verify=local.verify, timeout=10).headers["Content-Type"] == "image/gif"

    unsubscribe = message["headers"]["List-Unsubscribe"].strip().strip("<>")
    confirmed = requests.post(
        unsubscribe, data={"List-Unsubscribe": "One-Click"}, verify=local.verify, timeout=10
    )
    assert confirmed.status_code == 200
    customer = local.app("GET", f"/v1/customers/{person}/attributes").json()["customer"]
    assert customer["unsubscribed"] is True


def test_a_forged_click_link_is_refused(local):
    answer = requests.get(
        f"{local.url}/t/c/eyJ3IjoieCJ9.Zm9yZ2Vk", allow_redirects=False, verify=local.verify, timeout=10
    )
    assert answer.status_code == 404
    assert "Location" not in answer.headers


def test_reporting_webhook_receives_sent_opened_and_clicked_signed(local):
    from tests.support.reporting import receiver

    person = f"hook-{uuid.uuid4().hex[:8]}"
    assert local.track("PUT", f"/api/v1/customers/{person}", {"email": f"{person}@example.com"}).ok
    with receiver() as hook:  # on loopback, which the local runtime lets webhooks reach
        created = local.app(
            "POST",
            "/v1/reporting_webhooks",
            {"name": "e2e", "endpoint": hook.url, "events": ["email_sent", "email_opened", "email_clicked"]},
        )
        assert created.status_code == 200, created.text
        webhook = created.json()
        try:
            answer = local.app(
                "POST",
                "/v1/send/email",
                {
                    "identifiers": {"id": person},
                    "subject": "Receipt",
                    "body": '<p><a href="https://shop.example/r">Your receipt</a></p>',
                },
            )
            delivery_id = answer.json()["delivery_id"]
            html = unescape(_outbox_message(local, delivery_id)["html"])
            pixel = re.search(r'src="([^"]+/t/o/[^"]+)"', html).group(1)
            assert requests.get(pixel, verify=local.verify, timeout=10).status_code == 200
            click = re.search(r'href="([^"]+/t/c/[^"]+)"', html).group(1)
            assert (
                requests.get(click, allow_redirects=False, verify=local.verify, timeout=10).status_code == 302
            )

            def mine():
                events = [
                    e for e in hook.events(webhook["signing_key"]) if e["data"]["delivery_id"] == delivery_id
                ]
                return events if len(events) >= 3 else None

            events = local.wait_until(mine, timeout=20)
        finally:
            local.app("DELETE", f"/v1/reporting_webhooks/{webhook['id']}")

    by_metric = {event["metric"]: event for event in events}
    assert sorted(by_metric) == ["clicked", "opened", "sent"]
    cio_id = local.app("GET", f"/v1/customers/{person}/attributes").json()["customer"]["identifiers"][
        "cio_id"
    ]
    for event in events:
        assert event["object_type"] == "email"
        assert event["data"]["identifiers"] == {
            "id": person,
            "email": f"{person}@example.com",
            "cio_id": cio_id,
        }
        assert event["data"]["recipient"] == f"{person}@example.com"
    assert by_metric["clicked"]["data"]["href"] == "https://shop.example/r"
    assert len({event["event_id"] for event in events}) == 3
