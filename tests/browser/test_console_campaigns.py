"""The console's campaign builder in a real browser against ``nudge local``: a campaign built from nothing
on the canvas (event trigger, send, delay, branch, two sends) through the side panel's "add a block after
this one" (the keyboard's way to build, and a robust one for a test: no dragging), activated, then the
event sent through the Track API and its messages seen on the Messages page; an API refusal shown on the
block it concerns; an API-triggered broadcast sent to a segment after confirming its size. Kept apart from
test_console.py so each file stays about one screen's story; the screenshots go to ``docs/console/``."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Console, focus_node, screenshot, sign_in


def _template_id(console: Console, name: str) -> str:
    templates = console.runtime.app("GET", "/v1/templates").json()["templates"]
    return str(next(t["id"] for t in templates if t["name"] == name))


def _add_after(page: Any, block_type: str, output: str | None = None) -> None:
    panel = page.get_by_role("region", name="Selected block")
    if output is not None:
        panel.get_by_label("On the output").select_option(label=output)
    panel.get_by_label("Block type").select_option(label=block_type)
    panel.get_by_role("button", name="Add block").click()


def test_build_a_campaign_on_the_canvas_activate_it_and_see_its_messages(page: Any, console: Console) -> None:
    runtime = console.runtime
    welcome, tips, upgrade = (_template_id(console, f"Demo: {n}") for n in ("welcome", "pro tips", "upgrade"))
    sign_in(page, console, console.author)
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()

    page.get_by_label("Campaign name").fill("Builder onboarding")
    panel = page.get_by_role("region", name="Selected block")
    expect(panel.get_by_role("heading", name="Trigger")).to_be_visible()
    panel.get_by_label("Trigger").select_option("event")
    panel.get_by_label("Event name").fill("builder_signed_up")

    _add_after(page, "Send a message")  # b1, selected once added
    panel.get_by_label("Template").select_option(welcome)
    _add_after(page, "Delay")  # b2
    panel.get_by_label("Wait for", exact=True).fill("1")
    panel.get_by_label("Wait for: unit").select_option("minutes")  # a second at the runtime's 60x
    _add_after(page, "True/false branch")  # b3
    panel.get_by_label("Attribute name").fill("plan")
    panel.get_by_label("Value").fill("pro")
    _add_after(page, "Send a message", output="yes")  # b4
    panel.get_by_label("Template").select_option(tips)
    panel.get_by_label("Selected block").select_option("b3")
    _add_after(page, "Send a message", output="no")  # b5
    panel.get_by_label("Template").select_option(upgrade)

    # The canvas draws what the panel built: five blocks under the trigger, the branch's two edges labelled.
    canvas = page.get_by_role("region", name="Campaign canvas")
    for block in ("b1", "b2", "b3", "b4", "b5"):
        expect(canvas.get_by_test_id(f"node-{block}")).to_be_visible()
    expect(canvas.get_by_text("yes", exact=True)).to_be_visible()  # on the branch's handle
    expect(canvas.locator(".react-flow__edge")).to_have_count(5)
    # With the keyboard: a node on the canvas takes focus, and Enter opens it in the panel.
    focus_node(canvas.get_by_role("group", name="Block b2: Delay"))
    page.keyboard.press("Enter")
    expect(panel.get_by_role("heading", name="Delay (b2)")).to_be_visible()

    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_test_id("campaign-state")).to_have_text("active")
    campaigns = runtime.app("GET", "/v1/campaigns").json()["campaigns"]
    [campaign] = [c for c in campaigns if c["name"] == "Builder onboarding"]
    assert campaign["state"] == "active"
    assert campaign["trigger"] == {"type": "event", "name": "builder_signed_up", "filters": None}
    blocks = campaign["workflow"]["blocks"]
    assert campaign["workflow"]["start"] == "b1"
    assert blocks["b1"] == {"type": "send", "channel": "email", "template_id": welcome, "next": "b2"}
    assert blocks["b2"] == {"type": "delay", "seconds": 60, "next": "b3"}
    assert blocks["b3"]["true"] == "b4" and blocks["b3"]["false"] == "b5"
    assert blocks["b3"]["condition"] == {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}
    assert blocks["b4"]["template_id"] == tips and blocks["b5"]["template_id"] == upgrade

    # Through the Track API: a pro signs up, gets the welcome and, after the delay, the pro tips.
    assert runtime.track("PUT", "/api/v1/customers/bea", {"email": "bea@example.com", "plan": "pro"}).ok
    assert runtime.track("POST", "/api/v1/customers/bea/events", {"name": "builder_signed_up"}).ok
    runtime.wait_until(
        lambda: len(runtime.app("GET", "/v1/customers/bea/messages").json()["messages"]) == 2, timeout=60
    )
    page.get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", name="Messages")).to_be_visible()
    page.get_by_label("Campaign", exact=True).select_option(label="Builder onboarding")
    expect(page.get_by_role("link", name="bea@example.com")).to_have_count(2)

    # The list counts her entry; once active, each block shows its counts on the canvas.
    page.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_test_id(f"entered-{campaign['id']}")).to_have_text("1")
    screenshot(page, "campaigns")
    page.get_by_role("link", name="Builder onboarding").click()
    expect(canvas.get_by_test_id("node-b4")).to_contain_text("sent 1")
    expect(canvas.get_by_test_id("node-b5")).to_contain_text("sent 0")
    expect(canvas.get_by_test_id("node-trigger")).to_contain_text("entered 1")
    panel.get_by_label("Selected block").select_option("b3")  # the branch's condition in the panel
    expect(panel.get_by_label("Attribute name")).to_have_value("plan")
    screenshot(page, "campaign-builder")


def test_a_refused_block_is_shown_on_its_node(page: Any, console: Console) -> None:
    sign_in(page, console, console.author)
    page.goto(console.url + "campaigns/new")
    page.get_by_label("Campaign name").fill("Refused")
    panel = page.get_by_role("region", name="Selected block")
    panel.get_by_label("Event name").fill("anything")
    page.get_by_role("button", name="Save draft").click()  # nothing after the trigger yet: said plainly
    trigger = page.get_by_role("region", name="Campaign canvas").get_by_test_id("node-trigger")
    expect(trigger).to_contain_text("the workflow has no first block: add one after the trigger")
    _add_after(page, "Send a message")
    # No template is chosen for the marketer, though email templates exist: nothing nobody picked is sent.
    expect(panel.get_by_label("Template")).to_have_value("")
    panel.get_by_label("Channel").select_option("sms")  # no SMS template exists: nothing to choose
    page.get_by_role("button", name="Save draft").click()

    node = page.get_by_role("region", name="Campaign canvas").get_by_test_id("node-b1")
    expect(node).to_contain_text(re.compile("template"))
    expect(panel.get_by_label("Template")).to_have_attribute("aria-invalid", "true")
    # Nothing was created: the refusal came before the store.
    names = [c["name"] for c in console.runtime.app("GET", "/v1/campaigns").json()["campaigns"]]
    assert "Refused" not in names
    # Left unsaved, it is asked about first.
    page.get_by_role("link", name="← Campaigns").click()
    page.get_by_role("dialog", name="Leave without saving?").get_by_role(
        "button", name="Leave without saving"
    ).click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()


def test_an_api_triggered_campaign_is_sent_to_a_segment_after_confirming_its_size(
    page: Any, console: Console
) -> None:
    runtime = console.runtime
    for who in ("cy", "di"):
        assert runtime.track("PUT", f"/api/v1/customers/{who}", {"email": f"{who}@example.com"}).ok
    segment = runtime.app("POST", "/v1/segments", {"segment": {"name": "Broadcast list"}}).json()["segment"]
    assert runtime.app("POST", f"/v1/segments/{segment['id']}/add_customers", {"ids": ["cy", "di"]}).ok
    send = {"type": "send", "channel": "email", "template_id": _template_id(console, "Demo: welcome")}
    definition = {
        "name": "Announcement",
        "trigger": {"type": "api"},
        "workflow": {
            "start": "s",
            "blocks": {"s": send},
        },
    }
    created = runtime.app("POST", "/v1/campaigns", {"campaign": definition}).json()["campaign"]
    assert runtime.app("POST", f"/v1/campaigns/{created['id']}/activate").ok

    sign_in(page, console, console.author)
    page.set_viewport_size(PHONE)  # the builder at phone size: the panel under the canvas
    page.goto(console.url + f"campaigns/{created['id']}")
    expect(page.get_by_test_id("campaign-state")).to_have_text("active")
    page.get_by_role("button", name="Send to a segment").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Segment").select_option(label="Broadcast list")
    expect(dialog.get_by_test_id("broadcast-audience")).to_have_text("This starts a journey for 2 people.")
    dialog.get_by_role("button", name="Send to 2").click()
    expect(page.get_by_text(re.compile(r"^Broadcast \S+ started\.$"))).to_be_visible()
    for who in ("cy", "di"):
        runtime.wait_until(
            lambda who=who: runtime.app("GET", f"/v1/customers/{who}/messages").json()["messages"], timeout=60
        )
    screenshot(page, "campaign-builder-phone")
