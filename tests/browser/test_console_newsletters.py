"""The console's Newsletters screen in a real browser against ``nudge local``: an A/B newsletter written
from nothing (two variants, a segment for its audience with its size shown, a test group and a wait),
a refused body shown at its field, saved as a draft, previewed for a reader, sent now, then its
per-variant metrics and winner on its page and its messages in the local outbox; a viewer then sees it
all with nothing to change. The runtime runs at 60x, so the A/B test's one-minute wait is a second."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import Console, screenshot, sign_in

READERS = ("nora", "nils", "nina", "noah")


def _emails(console: Console) -> list[dict[str, Any]]:
    found = console.runtime.get("/_local/outbox").json()
    return [m for m in found if m.get("subject") in ("Spring is here", "Spring sale")]


def test_an_ab_newsletter_is_written_sent_and_measured_per_variant(page: Any, console: Console) -> None:
    runtime = console.runtime
    for who in READERS:
        assert runtime.track("PUT", f"/api/v1/customers/{who}", {"email": f"{who}@example.com"}).ok
    segment = runtime.app("POST", "/v1/segments", {"segment": {"name": "Newsletter readers"}}).json()[
        "segment"
    ]
    assert runtime.app("POST", f"/v1/segments/{segment['id']}/add_customers", {"ids": list(READERS)}).ok

    sign_in(page, console, console.author)
    draft = _write_the_draft(page, console, segment)
    _send_it_and_read_its_metrics(page, console, draft)
    _a_viewer_reads_it_with_nothing_to_change(page, console, draft)


def _write_the_draft(page: Any, console: Console, segment: dict[str, Any]) -> dict[str, Any]:
    """Two variants, an audience with its size, a test group and a wait; a refused body shown at its
    field; saved, then previewed for a reader."""
    runtime = console.runtime
    page.get_by_role("link", name="Newsletters").click()
    page.get_by_role("link", name="New newsletter").click()
    page.get_by_role("textbox", name=re.compile(r"^Name")).fill("Spring launch")
    first = page.get_by_role("region", name="Message")
    first.get_by_label("Subject").fill("Spring is here")
    first.get_by_label("Body (HTML)").fill("<p>Hello {{ customer.email }}</p>")
    page.get_by_role("button", name="+ Add a variant (A/B test)").click()
    second = page.get_by_role("region", name="Variant B")
    second.get_by_label("Subject").fill("Spring sale")

    page.get_by_role("button", name="Send to segments or people matching conditions").click()
    page.get_by_label("Segment", exact=True).select_option(label="Newsletter readers")
    expect(page.get_by_test_id("audience-size")).to_have_text("4 people")
    page.get_by_label("Test group (% of the audience)").fill("50")
    page.get_by_label("Then wait").fill("1")
    page.get_by_label("Unit", exact=True).select_option("minutes")
    # The API's refusal of variant B's body is shown at that body, and nothing is created.
    second.get_by_label("Body (HTML)").fill("<p>{% if %}</p>")
    page.get_by_role("button", name="Create draft").click()
    expect(second.get_by_label("Body (HTML)")).to_have_attribute("aria-invalid", "true")
    expect(second.get_by_text(re.compile("not a valid template"))).to_be_visible()
    second.get_by_label("Body (HTML)").fill("<p>Sale for {{ customer.email }}</p>")
    page.get_by_role("button", name="Create draft").click()

    expect(page.get_by_role("heading", name="Spring launch")).to_be_visible()
    [draft] = [
        n for n in runtime.app("GET", "/v1/newsletters").json()["newsletters"] if n["name"] == "Spring launch"
    ]
    assert draft["state"] == "draft" and draft["content_ids"] == [1, 2]
    assert draft["ab_test"] == {"test_percent": 50, "metric": "open", "wait_seconds": 60}
    assert draft["recipients"] == {"segment": {"id": str(segment["id"]), "operator": "in"}}
    # The server's preview, for one of the readers, of the variant chosen.
    page.get_by_label("Preview for person (id)").fill("nora")
    page.get_by_label("Variant previewed").select_option(label="Variant B")
    frame = page.frame_locator("iframe[title='Template preview']")
    expect(frame.get_by_text("Sale for nora@example.com")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "newsletter-editor")
    return draft


def _send_it_and_read_its_metrics(page: Any, console: Console, draft: dict[str, Any]) -> None:
    runtime = console.runtime
    # Changed after saving: sending saves the draft first (PUT), then asks when.
    page.get_by_label("Winner by").select_option("click")
    page.get_by_role("button", name="Save and send…").click()
    page.get_by_role("dialog").get_by_role("button", name="Send now").click()
    expect(page.get_by_test_id("newsletter-state")).to_have_text("sent")
    # Nobody clicked in the test group's messages: a tie, which goes to the first variant.
    ab_test = page.get_by_test_id("ab-test")
    expect(ab_test).to_contain_text("winner by click rate after 1 minute: variant A won")
    expect(page.get_by_test_id("variant-1").get_by_text("winner")).to_be_visible()
    total = page.get_by_test_id("variant-total").get_by_role("cell")
    expect(total.nth(1)).to_have_text("4")  # sent
    sent = runtime.app("GET", f"/v1/newsletters/{draft['id']}").json()["newsletter"]
    assert sent["ab_test"]["metric"] == "click" and sent["winner_content_id"] == 1
    metrics = runtime.app("GET", f"/v1/newsletters/{draft['id']}/metrics").json()
    shown = [page.get_by_test_id(f"variant-{n}").get_by_role("cell").nth(1) for n in (1, 2)]
    for n, cell in zip(("1", "2"), shown, strict=True):
        expect(cell).to_have_text(str(metrics["variants"][n]["sent"]))
    assert metrics["variants"]["1"]["sent"] + metrics["variants"]["2"]["sent"] == 4

    outbox = runtime.wait_until(lambda: _emails(console) if len(_emails(console)) == 4 else None)
    assert sorted(m["recipient"] for m in outbox) == sorted(f"{who}@example.com" for who in READERS)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "newsletter")
    page.get_by_role("link", name="← Newsletters").click()
    expect(page.get_by_test_id(f"sent-{draft['id']}")).to_have_text("4")
    expect(page.get_by_role("row", name=re.compile("Spring launch"))).to_contain_text("Newsletter readers")


def _a_viewer_reads_it_with_nothing_to_change(page: Any, console: Console, draft: dict[str, Any]) -> None:
    # A viewer reads it all, and is offered nothing the API would refuse them.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console, console.viewer)
    page.goto(console.url + f"newsletters/{draft['id']}")
    expect(page.get_by_test_id("variant-total").get_by_role("cell").nth(1)).to_have_text("4")
    expect(page.get_by_role("button", name=re.compile("Cancel|Delete|Send"))).to_have_count(0)
    page.get_by_role("link", name="← Newsletters").click()
    expect(page.get_by_role("link", name="Spring launch")).to_be_visible()
    expect(page.get_by_role("link", name="New newsletter")).to_have_count(0)


def test_a_template_with_a_layout_is_copied_and_the_layout_said_to_be_left_out(
    page: Any, console: Console
) -> None:
    runtime = console.runtime
    layout = runtime.app("POST", "/v1/layouts", {"name": "Letterhead", "body": "<h1>ACME</h1>{{ content }}"})
    assert layout.ok, layout.text
    body = {"name": "Thanks (branded)", "channel": "email", "subject": "Thanks", "body": "<p>Thank you</p>"}
    template = runtime.app("POST", "/v1/templates", {**body, "layout_id": layout.json()["layout"]["id"]})
    assert template.ok, template.text

    sign_in(page, console, console.author)
    page.get_by_role("link", name="Newsletters").click()
    page.get_by_role("link", name="New newsletter").click()
    message = page.get_by_role("region", name="Message")
    message.get_by_label("Start from a template").select_option(label="Thanks (branded)")

    expect(message.get_by_label("Subject")).to_have_value("Thanks")
    expect(message.get_by_role("status")).to_contain_text(
        "Thanks (branded) uses a layout, which was not copied"
    )
