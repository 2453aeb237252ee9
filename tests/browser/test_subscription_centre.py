"""The subscription centre in a real browser, against the console's ``nudge local``: a campaign email
lands in the outbox, its reader opens the centre from the link in it, leaves a topic with the keyboard
and saves, and the campaign's next message of that topic is not sent. Saves the centre's screenshots
(desktop and phone) and the console's Settings, Subscriptions tab; the campaign builder shows the send
block's topic."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Console, focus_node, screenshot, sign_in

BODY = (
    "<p>Hello {{ customer.first_name }}, here is this week's tip.</p>"
    '<p><a href="{{ subscription_center_url }}">Manage your preferences</a></p>'
)


def _ok(answer: Any) -> dict[str, Any]:
    assert answer.ok, answer.text
    return dict(answer.json())


def _emails_to(console: Console, address: str) -> list[dict[str, Any]]:
    found = console.runtime.get("/_local/outbox").json()
    return [m for m in found if m["channel"] == "email" and m["recipient"] == address]


def _messages(console: Console, person: str) -> list[dict[str, Any]]:
    return list(_ok(console.runtime.app("GET", f"/v1/customers/{person}/messages"))["messages"])


def test_a_reader_leaves_a_topic_on_the_centre_and_the_next_send_respects_it(
    page: Any, console: Console
) -> None:
    runtime = console.runtime
    tips = _ok(
        runtime.app(
            "POST", "/v1/subscription_topics", {"name": "Weekly tips", "description": "One tip a week"}
        )
    )
    offers = {"name": "Offers", "description": "Discounts, now and then", "subscribed_by_default": False}
    _ok(runtime.app("POST", "/v1/subscription_topics", offers))
    look = {"name": "Acme", "accent_color": "#7c3aed", "background_color": "#f5f3ff"}
    _ok(runtime.app("PUT", "/v1/settings/subscription_center", look))
    template = _ok(
        runtime.app(
            "POST",
            "/v1/templates",
            {"name": "Weekly tip", "channel": "email", "subject": "This week's tip", "body": BODY},
        )
    )["template"]
    block = {
        "type": "send",
        "channel": "email",
        "template_id": template["id"],
        "topic_id": tips["topic"]["id"],
    }
    definition = {
        "name": "Weekly tips",
        "trigger": {"type": "event", "name": "tip_due"},
        "workflow": {"start": "b1", "blocks": {"b1": block}},
        "settings": {"frequency": {"type": "every_match"}},
    }
    campaign = _ok(runtime.app("POST", "/v1/campaigns", {"campaign": definition}))["campaign"]
    _ok(runtime.app("POST", f"/v1/campaigns/{campaign['id']}/activate"))
    assert runtime.track("PUT", "/api/v1/customers/tia", {"email": "tia@example.com", "first_name": "Tia"}).ok
    assert runtime.track("POST", "/api/v1/customers/tia/events", {"name": "tip_due"}).ok
    [email] = runtime.wait_until(lambda: _emails_to(console, "tia@example.com"), timeout=60)

    # The reader follows the link in the email.
    link = re.search(r'href="([^"]*/t/s/[^"]+)"', email["html"])
    assert link is not None, email["html"]
    page.goto(link.group(1))
    expect(page.get_by_role("heading", name="Acme: your preferences")).to_be_visible()
    expect(page.get_by_role("group", name="What you hear about from us")).to_be_visible()
    box = page.get_by_role("checkbox", name=re.compile("Weekly tips"))
    expect(box).to_be_checked()  # opt-out: subscribed until she leaves it
    expect(page.get_by_role("checkbox", name=re.compile("Offers"))).not_to_be_checked()
    screenshot(page, "subscription-centre")

    # With the keyboard: focus the topic, Space unticks it, then Save.
    box.focus()
    page.keyboard.press("Space")
    expect(box).not_to_be_checked()
    page.get_by_role("button", name="Save preferences").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(page.get_by_role("checkbox", name=re.compile("Weekly tips"))).not_to_be_checked()
    preferences = _ok(runtime.app("GET", "/v1/customers/tia/subscription_preferences"))["customer"]
    # Weekly tips is her choice now; Offers is still its default (the demo's own topic is there too).
    chosen = {t["name"]: (t["subscribed"], t["chosen"]) for t in preferences["topics"]}
    assert chosen["Weekly tips"] == (False, True)
    assert chosen["Offers"] == (False, False)

    # The campaign's next message of that topic is stopped at the gate, not sent.
    assert runtime.track("POST", "/api/v1/customers/tia/events", {"name": "tip_due"}).ok
    stopped = runtime.wait_until(
        lambda: [m for m in _messages(console, "tia") if m["state"] == "undeliverable"], timeout=60
    )
    assert stopped[0]["failure_message"].startswith("topic_opt_out")
    assert len(_emails_to(console, "tia@example.com")) == 1

    # On a phone, the same page.
    phone = page.context.browser.new_context(viewport=PHONE)
    small = phone.new_page()
    small.goto(link.group(1))
    expect(small.get_by_role("button", name="Unsubscribe from all")).to_be_visible()
    screenshot(small, "subscription-centre-phone")
    phone.close()

    # The console's side: the topics and the centre's look, for an admin.
    sign_in(page, console, console.admin)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("tab", name="Subscriptions").click()
    expect(page.get_by_role("cell", name="Weekly tips One tip a week")).to_be_visible()
    expect(page.get_by_label("Accent colour")).to_have_value("#7c3aed")
    screenshot(page, "subscription-topics")
    # The campaign's send block shows its topic in the builder.
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="Weekly tips", exact=True).click()
    canvas = page.get_by_role("region", name="Campaign canvas")
    send_block = canvas.get_by_role("group", name="Block b1: Send")
    focus_node(send_block)
    page.keyboard.press("Enter")
    expect(page.get_by_role("combobox", name="Subscription topic")).to_have_value(str(tips["topic"]["id"]))
