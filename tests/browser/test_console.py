"""The web console in a real browser against ``nudge local``: sign-in, people, segments, billing, roles and
sign-out, each checked against what the App API answers. Every screen is saved to ``docs/console/``."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from typing import Any

import requests
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Console, screenshot, sign_in
from tests.support.local_runtime import environment

CLI = (sys.executable, "-m", "nudge_tools.cli")


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def test_a_wrong_password_is_refused(page: Any, console: Console) -> None:
    page.goto(console.url)
    expect(page.get_by_role("heading", name="Sign in to Nudge")).to_be_visible()
    screenshot(page, "sign-in")
    page.get_by_role("textbox", name="Email").fill(console.admin.email)
    page.get_by_role("textbox", name="Password").fill(console.admin.password + "x")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


def test_find_a_tracked_person_and_see_attributes_and_events(page: Any, console: Console) -> None:
    runtime = console.runtime
    assert runtime.track("PUT", "/api/v1/customers/zoe", {"email": "zoe@example.com", "plan": "pro"}).ok
    assert runtime.track(
        "POST", "/api/v1/customers/zoe/events", {"name": "viewed_pricing", "data": {"tier": "pro"}}
    ).ok
    sign_in(page, console, console.admin)

    page.get_by_role("link", name="People").click()
    page.get_by_label("Search by id or email").fill("zoe@")
    page.get_by_role("link", name="zoe", exact=True).click()

    expect(page.get_by_role("heading", name="zoe@example.com")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"plan\s+pro"))).to_be_visible()
    # The activity log follows the streams: the event arrives within moments.
    expect(page.get_by_text("event: viewed_pricing")).to_be_visible(timeout=20_000)
    screenshot(page, "person")
    page.get_by_role("link", name="← People").click()
    page.get_by_label("Search by id or email").fill("")
    expect(page.get_by_role("link", name="zoe", exact=True)).to_be_visible()
    screenshot(page, "people")


def test_an_author_edits_attributes_keeping_their_type_and_deletes_the_person(
    page: Any, console: Console
) -> None:
    assert console.runtime.track("PUT", "/api/v1/customers/yan", {"email": "yan@example.com", "orders": 3}).ok
    cio = console.runtime.app("GET", "/v1/customers/yan/attributes").json()["customer"]["identifiers"][
        "cio_id"
    ]
    sign_in(page, console, console.author)
    page.goto(console.url + f"people/{cio}")

    page.get_by_role("button", name="Add attribute").click()
    page.get_by_label("Attribute", exact=True).fill("n" * 151)  # the API's refusal, shown at the name
    page.get_by_label("Value").fill("team")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Attribute", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("attribute name cannot be longer than 150 bytes")).to_be_visible()
    page.get_by_label("Attribute", exact=True).fill("plan")
    page.get_by_label("Value").fill("team")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row", name=re.compile(r"plan\s+team"))).to_be_visible()
    # A number stays a number: the editor opens with its type, refuses text that is not one, at the field.
    page.get_by_role("button", name="Edit orders").click()
    expect(page.get_by_label("Type")).to_have_value("number")
    page.get_by_label("Value").fill("4 apples")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Value")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Value").fill("4")
    page.keyboard.press("Enter")
    expect(page.get_by_role("row", name=re.compile(r"orders\s+4"))).to_be_visible()
    attributes = console.runtime.app("GET", "/v1/customers/yan/attributes").json()["customer"]["attributes"]
    assert attributes["plan"] == "team" and attributes["orders"] == 4

    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    assert console.runtime.app("GET", "/v1/customers/yan/attributes").status_code == 404
    page.goto(console.url + f"people/{cio}")  # a stale link: said plainly, not with the internal id
    expect(page.get_by_role("alert")).to_contain_text("This person does not exist any more")


def test_a_person_s_older_activity_is_shown_on_demand(page: Any, console: Console) -> None:
    runtime = console.runtime
    assert runtime.track("PUT", "/api/v1/customers/ola", {"email": "ola@example.com"}).ok
    batch = [
        {
            "type": "person",
            "action": "event",
            "identifiers": {"id": "ola"},
            "name": "viewed",
            "attributes": {"n": n},
        }
        for n in range(1, 26)
    ]
    assert runtime.track("POST", "/api/v2/batch", {"batch": batch}).ok
    path = "/v1/customers/ola/activities?type=event&limit=100"
    runtime.wait_until(lambda: len(runtime.app("GET", path).json()["activities"]) == 25)
    cio = runtime.app("GET", "/v1/customers/ola/attributes").json()["customer"]["identifiers"]["cio_id"]
    sign_in(page, console, console.viewer)
    page.goto(console.url + f"people/{cio}")

    expect(page.get_by_text("n: 25", exact=True)).to_be_visible()  # the newest first
    expect(page.get_by_text("n: 1", exact=True)).to_have_count(0)  # beyond the first page
    page.get_by_role("button", name="Show older activity").click()
    expect(page.get_by_text("n: 1", exact=True)).to_be_visible()


def test_an_author_adds_to_a_manual_segment_suppresses_and_unsuppresses(page: Any, console: Console) -> None:
    runtime = console.runtime
    assert runtime.track("PUT", "/api/v1/customers/sam", {"email": "sam@example.com"}).ok
    manual = runtime.app("POST", "/v1/segments", {"segment": {"name": "VIPs"}}).json()["segment"]
    cio = runtime.app("GET", "/v1/customers/sam/attributes").json()["customer"]["identifiers"]["cio_id"]
    sign_in(page, console, console.author)
    page.goto(console.url + f"people/{cio}")

    page.get_by_label("Add to a manual segment").select_option(str(manual["id"]))
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("link", name="VIPs")).to_be_visible()
    assert runtime.app("GET", f"/v1/segments/{manual['id']}/customer_count").json()["count"] == 1
    activities = "/v1/customers/sam/activities?type=entered_segment"
    runtime.wait_until(lambda: runtime.app("GET", activities).json()["activities"])
    page.reload()
    expect(page.get_by_text("entered segment: VIPs")).to_be_visible()  # its name, not its id

    page.get_by_role("button", name="Suppress").click()
    page.get_by_role("dialog").get_by_role("button", name="Suppress").click()
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    assert runtime.app("GET", "/v1/customers/sam/attributes").status_code == 404

    page.get_by_role("button", name="Unsuppress…").click()
    page.get_by_role("dialog").get_by_role("textbox", name="Email").fill("sam@example.com")
    page.get_by_role("dialog").get_by_role("button", name="Unsuppress").click()
    expect(page.get_by_role("status").filter(has_text="no longer suppressed")).to_be_visible()
    assert runtime.track("PUT", "/api/v1/customers/sam", {"email": "sam@example.com"}).ok
    assert runtime.app("GET", "/v1/customers/sam/attributes").status_code == 200


def test_build_a_segment_and_its_count_is_the_apis(page: Any, console: Console) -> None:
    runtime = console.runtime
    for who, plan in (("s1", "gold"), ("s2", "gold"), ("s3", "tin")):
        assert runtime.track(
            "PUT", f"/api/v1/customers/{who}", {"email": f"{who}@example.com", "plan": plan}
        ).ok
    condition = {"and": [{"attribute": {"field": "plan", "operator": "eq", "value": "gold"}}]}
    runtime.wait_until(
        lambda: runtime.app("POST", "/v1/segments/preview", {"conditions": condition}).json()["count"] == 2
    )
    sign_in(page, console, console.admin)

    page.get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Gold plan")
    page.get_by_label("Attribute name").fill("plan")
    page.get_by_label("Value").fill("gold")

    preview = runtime.app("POST", "/v1/segments/preview", {"conditions": condition}).json()
    expect(page.get_by_test_id("preview-count")).to_have_text(str(preview["count"]))
    screenshot(page, "segment-builder")
    page.get_by_role("button", name="Create segment").click()

    expect(page.get_by_role("link", name="Gold plan")).to_be_visible()
    [saved] = [s for s in runtime.app("GET", "/v1/segments").json()["segments"] if s["name"] == "Gold plan"]
    assert saved["conditions"] == condition
    runtime.wait_until(
        lambda: runtime.app("GET", f"/v1/segments/{saved['id']}/customer_count").json()["count"] == 2
    )
    page.reload()
    expect(page.get_by_test_id(f"count-{saved['id']}")).to_have_text("2")
    screenshot(page, "segments")

    # A renamed segment left for another screen: asked first; staying keeps the name as typed.
    page.get_by_role("link", name="Gold plan").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Gold plan (renamed)")
    page.get_by_role("link", name="People").click()
    page.get_by_role("dialog", name="Leave without saving?").get_by_role("button", name="Stay").click()
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value("Gold plan (renamed)")
    page.get_by_role("textbox", name="Name", exact=True).fill("Gold plan")  # as saved: nothing to ask

    # People filtered by the segment, then searched within it (by the server, not only the page shown).
    page.get_by_role("link", name="People").click()
    page.get_by_label("Segment").select_option(label="Gold plan")
    expect(page.get_by_role("link", name="s1", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="s3", exact=True)).to_have_count(0)
    page.get_by_label("Search by id or email").fill("S2@EXAMPLE")
    expect(page.get_by_role("link", name="s2", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="s1", exact=True)).to_have_count(0)


def test_a_segment_of_people_related_to_an_object_counts_what_the_api_counts(
    page: Any, console: Console
) -> None:
    runtime = console.runtime
    people = [{"type": "person", "action": "identify", "identifiers": {"id": f"o{n}"}} for n in (1, 2, 3)]
    company = {
        "type": "object",
        "action": "identify",
        "identifiers": {"object_type_id": "1", "object_id": "acme"},
        "attributes": {"tier": "enterprise"},
        "cio_relationships": [
            {"identifiers": {"id": "o1"}, "relationship_attributes": {"role": "admin"}},
            {"identifiers": {"id": "o2"}, "relationship_attributes": {"role": "member"}},
        ],
    }
    assert runtime.track("POST", "/api/v2/batch", {"batch": [*people, company]}).ok
    condition = {
        "and": [
            {
                "object": {
                    "object_type_id": "1",
                    "filters": {"attribute": {"field": "tier", "operator": "eq", "value": "enterprise"}},
                    "relationship": {"attribute": {"field": "role", "operator": "eq", "value": "admin"}},
                }
            }
        ]
    }
    runtime.wait_until(
        lambda: runtime.app("POST", "/v1/segments/preview", {"conditions": condition}).json()["count"] == 1
    )
    sign_in(page, console, console.admin)

    page.goto(console.url + "segments/new")
    page.get_by_role("textbox", name="Name", exact=True).fill("Enterprise admins")
    page.get_by_role("button", name="+ Add condition").click()
    page.get_by_role("menuitem", name="Object").click()
    page.get_by_role("button", name="Remove attribute condition").click()  # the group's starting condition
    page.get_by_label("Related to an object of type (id)").fill("1")
    page.get_by_role("button", name="+ Filter on the object's attributes").click()
    page.get_by_label("Attribute name").fill("tier")
    page.get_by_label("Value").fill("enterprise")
    page.get_by_role("button", name="+ Filter on the relationship's attributes").click()
    page.get_by_label("Attribute name").nth(1).fill("role")
    page.get_by_label("Value").nth(1).fill("admin")

    preview = runtime.app("POST", "/v1/segments/preview", {"conditions": condition}).json()
    expect(page.get_by_test_id("preview-count")).to_have_text(str(preview["count"]))
    screenshot(page, "segment-builder-object")
    page.get_by_role("button", name="Create segment").click()
    expect(page.get_by_role("link", name="Enterprise admins")).to_be_visible()
    [saved] = [
        s for s in runtime.app("GET", "/v1/segments").json()["segments"] if s["name"] == "Enterprise admins"
    ]
    assert saved["conditions"] == condition


def test_a_refused_condition_is_shown_at_its_field(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin)
    page.goto(console.url + "segments/new")
    page.get_by_role("textbox", name="Name", exact=True).fill("Broken")
    page.get_by_label("Operator").select_option("gt")
    page.get_by_label("Attribute name").fill("x" * 151)  # over the 150-character bound
    page.get_by_role("button", name="Create segment").click()

    field = page.get_by_label("Attribute name")
    expect(field).to_have_attribute("aria-invalid", "true")

    # An emptied number is refused at its field in the field's own words, not saved as 0 (which matched
    # everyone: "at least 0 times").
    page.get_by_role("button", name="+ Add condition").click()
    page.get_by_role("menuitem", name="Event").click()
    page.get_by_role("button", name="Remove attribute condition").click()
    page.get_by_label("Event name").fill("purchase")
    page.get_by_label("Times").fill("")
    page.get_by_role("button", name="Create segment").click()
    expect(page.get_by_label("Times")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Times")).to_have_value("")
    names = [s["name"] for s in console.runtime.app("GET", "/v1/segments").json()["segments"]]
    assert "Broken" not in names


def test_the_billing_page_shows_what_the_api_answers(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin)
    usage = console.runtime.app("GET", "/v1/billing/usage").json()

    page.get_by_role("link", name="Plans & Billing").click()

    expect(page.get_by_test_id("plan")).to_have_text(f"{usage['plan']['name']} plan")
    expect(page.get_by_test_id("billable-People")).to_have_text(f"{usage['usage']['people']['billable']:,}")
    expect(page.get_by_test_id("billable-Objects")).to_have_text(f"{usage['usage']['objects']['billable']:,}")
    expect(page.get_by_test_id("billable-Messages")).to_have_text(
        f"{usage['usage']['messages']['billable']:,}"
    )
    expect(page.get_by_test_id("estimate-total")).to_have_text(_money(usage["estimate"]["total_cents"]))
    for line in usage["estimate"]["lines"]:
        expect(page.get_by_role("cell", name=line["description"])).to_be_visible()
    expect(page.get_by_text("high watermark")).to_be_visible()
    [invoice] = console.runtime.app("GET", "/v1/billing/invoices").json()["invoices"]  # the opening one
    page.get_by_role("button", name=re.compile(re.escape(invoice["issued_on"]))).click()
    expect(page.get_by_test_id(f"invoice-total-{invoice['id']}")).to_have_text(_money(invoice["total_cents"]))
    screenshot(page, "billing")

    # The error states: the API failing is said, with a retry; an answer the screen cannot read is said
    # too, instead of a blank page.
    failing = {"errors": [{"detail": "storage is busy", "status": "503"}]}
    page.route("**/v1/billing/usage", lambda route: route.fulfill(status=503, json=failing))
    page.reload()
    expect(page.get_by_role("alert").filter(has_text="storage is busy")).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    page.unroute("**/v1/billing/usage")
    page.route("**/v1/billing/usage", lambda route: route.fulfill(status=200, json={}))
    page.reload()
    expect(page.get_by_role("alert").filter(has_text="This screen could not be shown")).to_be_visible()
    expect(page.get_by_role("link", name="Overview")).to_be_visible()  # the navigation still works


def test_messages_and_a_message(page: Any, console: Console) -> None:
    runtime = console.runtime
    assert runtime.track("PUT", "/api/v1/customers/mo", {"email": "mo@example.com"}).ok
    assert runtime.track(
        "POST", "/api/v1/customers/mo/events", {"name": "order_placed", "data": {"total": 5}}
    ).ok
    runtime.wait_until(lambda: runtime.app("GET", "/v1/customers/mo/messages").json()["messages"], timeout=30)
    sign_in(page, console, console.admin)

    runtime.wait_until(
        lambda: any(
            "sent" in m["metrics"] for m in runtime.app("GET", "/v1/customers/mo/messages").json()["messages"]
        ),
        timeout=30,
    )
    page.get_by_role("link", name="Messages").click()
    page.get_by_label("Channel").select_option("email")
    page.get_by_label("State reached").select_option("bounced")
    expect(page.get_by_role("link", name="mo@example.com")).to_have_count(0)
    page.get_by_label("State reached").select_option("sent")
    page.get_by_role("link", name="mo@example.com").first.click()

    expect(page.get_by_role("heading", name=re.compile("email to mo@example.com"))).to_be_visible()
    expect(page.get_by_text("queued")).to_be_visible()
    screenshot(page, "message")
    page.get_by_role("link", name="← Messages").click()
    screenshot(page, "messages")


def test_delivery_settings_are_saved_and_refusals_shown_at_their_field(page: Any, console: Console) -> None:
    runtime = console.runtime
    before = runtime.app("GET", "/v1/settings/delivery").json()["delivery"]
    sign_in(page, console, console.admin)
    page.get_by_role("link", name="Settings").click()
    try:
        expect(page.get_by_label("Webhook signing key")).to_have_value(before["webhook_signing_key"])
        expect(page.get_by_label("New templates are written in")).to_have_value(before["template_language"])
        page.get_by_label("Sender (from)").fill("not an address")
        page.get_by_role("button", name="Save delivery settings").click()
        expect(page.get_by_label("Sender (from)")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_text("from must be an email address")).to_be_visible()

        page.get_by_label("Sender (from)").fill("Acme <hello@acme.test>")
        page.get_by_label("SMTP host").fill("smtp.acme.test")
        page.get_by_label("SMTP port").fill("70000")
        page.get_by_role("button", name="Save delivery settings").click()
        expect(page.get_by_label("SMTP port")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Sender (from)")).not_to_have_attribute("aria-invalid", "true")

        page.get_by_label("SMTP host").fill("")  # no SMTP server of our own: the shared runtime sends on
        # A 0 stays a 0 and is refused at its field (clamped, it was saved as a limit of 1).
        page.get_by_label("Message limit per person").fill("0")
        page.get_by_label("…within days").click()
        page.get_by_role("button", name="Save delivery settings").click()
        expect(page.get_by_label("Message limit per person")).to_have_attribute("aria-invalid", "true")
        assert (
            runtime.app("GET", "/v1/settings/delivery").json()["delivery"]["message_limit"]
            == before["message_limit"]
        )
        page.get_by_label("Message limit per person").fill("50")
        page.get_by_label("…within days").fill("7")
        page.get_by_role("button", name="Save delivery settings").click()
        expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
        saved = runtime.app("GET", "/v1/settings/delivery").json()["delivery"]
        assert saved["from"] == "Acme <hello@acme.test>" and saved["smtp"] is None
        assert saved["message_limit"] == {"count": 50, "days": 7}
    finally:  # the other tests' messages go out as before
        keys = ("from", "message_limit", "smtp")
        assert runtime.app("PUT", "/v1/settings/delivery", {k: before[k] for k in keys}).ok


def test_an_admin_creates_a_key_and_adds_a_member_each_shown_once(page: Any, console: Console) -> None:
    runtime = console.runtime
    sign_in(page, console, console.admin)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Sender (from)")).to_be_visible()
    screenshot(page, "settings")

    page.get_by_role("tab", name="API keys").click()
    page.get_by_label("Key name").fill("console test")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_role("dialog").get_by_test_id("secret").inner_text().strip()
    works = requests.get(
        runtime.url + "/v1/segments", headers={"authorization": f"Bearer {secret}"}, timeout=10
    )
    assert works.status_code == 200
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("cell", name="console test", exact=True)).to_be_visible()

    page.get_by_role("tab", name="Members").click()
    page.get_by_label("Member email").fill("new.author@example.com")
    page.get_by_label("Member role").select_option("author")
    page.get_by_role("button", name="Add member").click()
    temporary = page.get_by_role("dialog").get_by_test_id("secret").nth(1).inner_text().strip()

    # The new member's first sign-in, in a browser of their own: the temporary password only leads to
    # choosing theirs.
    theirs = page.context.browser.new_context(viewport=DESKTOP)
    try:
        member = theirs.new_page()
        member.goto(console.url)
        member.get_by_role("textbox", name="Email").fill("new.author@example.com")
        member.get_by_role("textbox", name="Password").fill(temporary)
        member.get_by_role("button", name="Sign in").click()
        expect(member.get_by_role("heading", name="Choose your password")).to_be_visible()
        member.get_by_label(re.compile(r"^New password")).fill("short")
        member.get_by_label(re.compile(r"^Repeat new password")).fill("short")
        member.get_by_role("button", name="Set password and sign in").click()
        expect(
            member.get_by_text("new_password must have at least 12 characters")
        ).to_be_visible()  # at the field
        screenshot(member, "sign-in-new-password")
        member.get_by_label(re.compile(r"^New password")).fill("New-author-chose-1")
        member.get_by_label(re.compile(r"^Repeat new password")).fill("New-author-chose-1")
        member.get_by_role("button", name="Set password and sign in").click()
        member.get_by_role("navigation", name="Main").wait_for()
    finally:
        theirs.close()
    refused = requests.post(
        runtime.url + "/v1/session",
        json={"email": "new.author@example.com", "password": temporary},
        timeout=10,
    )
    assert refused.status_code == 401
    signed_in = requests.post(
        runtime.url + "/v1/session",
        json={"email": "new.author@example.com", "password": "New-author-chose-1"},
        timeout=10,
    )
    assert signed_in.status_code == 200
    assert {"id": runtime.contract["workspace_id"], "role": "author"}.items() <= signed_in.json()["session"][
        "workspaces"
    ][0].items()


def test_a_template_is_written_and_previewed_for_a_person(page: Any, console: Console) -> None:
    runtime = console.runtime
    assert runtime.track("PUT", "/api/v1/customers/tia", {"email": "tia@example.com", "first_name": "Tia"}).ok
    sign_in(page, console, console.author)
    page.get_by_role("link", name="Content").click()
    page.get_by_role("link", name="New template").click()

    page.get_by_role("textbox", name="Name", exact=True).fill("Hello")
    page.get_by_label("Subject").fill("Hi {{ customer.first_name }}")
    page.get_by_label("Body (HTML and Liquid)").fill("<p>Hello {{ customer.first_name }}</p>")
    page.get_by_role("button", name="Create template").click()
    # Created, the screen becomes the template's own (its Save button): a person typed before that lands
    # in the form being replaced.
    expect(page.get_by_role("button", name="Save template")).to_be_visible()
    page.get_by_label("Preview for person (id)").fill("tia")

    expect(page.get_by_text("Subject: Hi Tia")).to_be_visible()
    frame = page.frame_locator("iframe[title='Template preview']")
    expect(frame.get_by_text("Hello Tia")).to_be_visible()
    [saved] = [t for t in runtime.app("GET", "/v1/templates").json()["templates"] if t["name"] == "Hello"]
    assert saved["subject"] == "Hi {{ customer.first_name }}" and saved["language"] == "liquid"

    page.get_by_label("Body (HTML and Liquid)").fill("<p>{% if %}</p>")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_label("Body (HTML and Liquid)")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text(re.compile("body is not a valid template"))).to_be_visible()

    # The language is the author's choice: the same template in Jinja, with a Jinja filter.
    page.get_by_label("Language").select_option("jinja")
    page.get_by_label("Body (HTML and Jinja)").fill("<p>Hello {{ customer.first_name|upper }}</p>")
    page.get_by_role("button", name="Save template").click()
    expect(frame.get_by_text("Hello TIA")).to_be_visible()

    # An unsaved change is not lost to a click elsewhere: asked first, it stays; left, it is discarded.
    page.get_by_label("Subject").fill("Changed, not saved")
    page.get_by_role("link", name="Campaigns").click()
    dialog = page.get_by_role("dialog", name="Leave without saving?")
    dialog.get_by_role("button", name="Stay").click()
    expect(page.get_by_label("Subject")).to_have_value("Changed, not saved")
    page.get_by_role("link", name="Campaigns").click()
    dialog.get_by_role("button", name="Leave without saving").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    [kept] = [t for t in runtime.app("GET", "/v1/templates").json()["templates"] if t["name"] == "Hello"]
    assert kept["subject"] == "Hi {{ customer.first_name }}"


def test_a_layout_a_snippet_and_a_template_using_both_previewed_and_sent_as_a_test(
    page: Any, console: Console
) -> None:
    runtime = console.runtime
    assert runtime.track("PUT", "/api/v1/customers/lea", {"email": "lea@example.com", "first_name": "Lea"}).ok
    sign_in(page, console, console.author)
    page.get_by_role("link", name="Content").click()

    page.get_by_role("tab", name="Snippets").click()
    page.get_by_role("link", name="New snippet").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("sign_off")
    page.get_by_label("Snippet (HTML and Liquid)").fill("<p>See you, {{ customer.first_name }}</p>")
    page.get_by_label("Preview for person (id)").fill("lea")
    expect(page.frame_locator("iframe[title='Template preview']").get_by_text("See you, Lea")).to_be_visible()
    page.get_by_role("button", name="Create snippet").click()
    expect(page.get_by_role("heading", name="sign_off")).to_be_visible()

    page.get_by_role("link", name="← Snippets").click()
    expect(page.get_by_role("link", name="sign_off")).to_be_visible()
    screenshot(page, "content-snippets")
    page.get_by_role("tab", name="Layouts").click()
    page.get_by_role("link", name="New layout").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Brand")
    page.get_by_label("Layout (HTML and Liquid)").fill(
        "<div style='border-top: 4px solid #4c6ef5; padding: 8px'>{{ content }}{{ snippets.sign_off }}</div>"
    )
    page.get_by_role("button", name="Create layout").click()
    expect(page.get_by_role("heading", name="Brand")).to_be_visible()
    page.get_by_label("Preview for person (id)").fill("lea")
    expect(
        page.frame_locator("iframe[title='Template preview']").get_by_text("your message goes here")
    ).to_be_visible()
    screenshot(page, "content-layout")

    # A template in the layout, previewed live (before saving) with the layout and the snippet.
    page.get_by_role("link", name="← Layouts").click()
    page.get_by_role("tab", name="Templates").click()
    page.get_by_role("link", name="New template").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Welcome")
    page.get_by_label("Subject").fill("Welcome {{ customer.first_name }}")
    page.get_by_label("Layout", exact=True).select_option(label="Brand")
    body = page.get_by_label("Body (HTML and Liquid)")
    body.fill("<p>Hello {{ customer.first_name }}, {{ snippets.nope }}</p>")
    page.get_by_label("Preview for person (id)").fill("lea")
    # A snippet that does not exist is refused at the body, by the server's preview.
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("there is no snippet named nope")).to_be_visible()
    body.fill("<p>Hello {{ customer.first_name }}, order {{ trigger.order_id }}</p>")
    page.get_by_label("Sample data for trigger.* (JSON)").fill('{"order_id": "A-7"}')
    frame = page.frame_locator("iframe[title='Template preview']")
    expect(frame.get_by_text("Hello Lea, order A-7")).to_be_visible()
    expect(frame.get_by_text("See you, Lea")).to_be_visible()
    expect(page.get_by_text("Subject: Welcome Lea")).to_be_visible()
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    [saved] = [t for t in runtime.app("GET", "/v1/templates").json()["templates"] if t["name"] == "Welcome"]
    [layout] = [x for x in runtime.app("GET", "/v1/layouts").json()["layouts"] if x["name"] == "Brand"]
    assert saved["layout_id"] == layout["id"]

    # A test to the signed-in author, rendered for Lea, through the real pipeline into the local outbox.
    expect(frame.get_by_text("Hello Lea, order A-7")).to_be_visible()  # the person and data are kept
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "content")
    page.get_by_role("button", name="Send a test to me").click()
    expect(page.get_by_role("status").filter(has_text="on its way to author@example.com")).to_be_visible()
    [sent] = runtime.wait_until(
        lambda: [m for m in runtime.get("/_local/outbox").json() if m.get("subject") == "Welcome Lea"]
    )
    with page.expect_popup() as opened:
        page.get_by_role("link", name=re.compile("Open the local outbox")).click()
    expect(opened.value.get_by_text("Welcome Lea").first).to_be_visible()
    assert "author@example.com" in json.dumps(sent) and "order A-7" in json.dumps(sent)
    [message] = [m for m in runtime.app("GET", "/v1/messages").json()["messages"] if m["type"] == "test"]
    assert message["recipient"] == "author@example.com" and message["template_id"] == str(saved["id"])


def test_overview_shows_the_workspace_at_a_glance(page: Any, console: Console) -> None:
    scripts: list[Any] = []
    page.on("response", lambda r: scripts.append(r) if r.url.endswith(".js") else None)
    sign_in(page, console, console.admin)

    # The tab's icon is the console's own (a browser asks for /favicon.ico when a page names none).
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon == "/console/favicon.svg"
    served = page.request.get(f"{console.runtime.url}{icon}")
    assert served.status == 200 and "<svg" in served.text()

    expected = console.runtime.app("GET", "/v1/overview").json()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("stat-People")).to_have_text(f"{expected['people']:,}")
    expect(page.get_by_test_id("stat-Active campaigns")).to_have_text(str(expected["active_campaigns"]))
    expect(page.get_by_test_id("role")).to_have_text("admin")
    expect(page.get_by_role("link", name=re.compile("Local outbox"))).to_have_attribute(
        "href", "/_local/outbox.html"
    )
    screenshot(page, "overview")
    # The first screen's budget: at most 300 KB of gzipped JavaScript, every script it loaded counted.
    loaded = sum(len(gzip.compress(r.body())) for r in scripts)
    assert 0 < loaded <= 300_000, loaded
    assert not any("xyflow" in r.url for r in scripts)

    page.set_viewport_size(PHONE)
    # Folded into the menu; the screenshot after the navigation has finished sliding away.
    expect(page.locator("#navigation")).not_to_be_in_viewport()
    screenshot(page, "overview-phone")
    # With the keyboard: the first Tab offers to skip the navigation, the next reaches the menu, and the
    # folded links are out of the way (never focused out of sight).
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip navigation")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Toggle navigation")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('navigation').contains(document.activeElement)") is False
    page.get_by_role("button", name="Toggle navigation").click()
    page.get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People")).to_be_visible()


def test_a_viewer_sees_no_edit_controls_and_the_api_refuses_a_change(page: Any, console: Console) -> None:
    assert console.runtime.track("PUT", "/api/v1/customers/vic", {"email": "vic@example.com", "plan": "a"}).ok
    cio = console.runtime.app("GET", "/v1/customers/vic/attributes").json()["customer"]["identifiers"][
        "cio_id"
    ]
    sign_in(page, console, console.viewer)
    expect(page.get_by_test_id("role")).to_have_text("viewer")

    page.get_by_role("link", name="Segments").click()
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    expect(page.get_by_role("link", name="New segment")).to_have_count(0)
    page.goto(console.url + f"people/{cio}")
    expect(page.get_by_role("heading", name="vic@example.com")).to_be_visible()
    expect(page.get_by_role("button", name="Add attribute")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Sender (from)")).to_have_attribute("readonly", "")
    expect(page.get_by_role("tab", name="API keys")).to_have_count(0)

    # The API refuses, not only the screen: the same request the console would send, from the page.
    status = page.evaluate(
        """async ([cio, workspace]) => (await fetch(`/v1/customers/${cio}/attributes?id_type=cio_id`, {
            method: "PUT", credentials: "same-origin",
            headers: {"content-type": "application/json", "x-nudge-workspace": workspace},
            body: JSON.stringify({attributes: {plan: "b"}})})).status""",
        [cio, console.runtime.contract["workspace_id"]],
    )
    assert status == 403
    assert (
        console.runtime.app("GET", "/v1/customers/vic/attributes").json()["customer"]["attributes"]["plan"]
        == "a"
    )


def test_a_member_of_two_workspaces_switches_between_them(page: Any, console: Console) -> None:
    runtime = console.runtime
    created = subprocess.run(
        [
            *CLI,
            "workspace",
            "create",
            "--state-dir",
            str(runtime.state_dir),
            "--name",
            "Second",
            "--plan",
            "essentials",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=environment(),
    )
    second = json.loads(created.stdout)
    as_second = {"authorization": f"Bearer {second['app_api_key']}"}
    added = requests.post(
        runtime.url + "/v1/members",
        json={"email": console.admin.email, "role": "viewer"},
        headers=as_second,
        timeout=10,
    )
    assert added.status_code == 200 and added.json()["password"] is None  # an existing user: no new password
    segment = {"segment": {"name": "Only in Second"}}
    assert requests.post(runtime.url + "/v1/segments", json=segment, headers=as_second, timeout=10).ok
    sign_in(page, console, console.admin)

    page.get_by_label("Workspace").select_option(second["workspace_id"])
    expect(page.get_by_test_id("role")).to_have_text("viewer")
    page.get_by_role("link", name="Segments").click()

    expect(page.get_by_role("link", name="Only in Second")).to_be_visible()
    expect(page.get_by_role("link", name="Demo: signed up")).to_have_count(0)
    page.get_by_label("Workspace").select_option(runtime.contract["workspace_id"])
    expect(page.get_by_test_id("role")).to_have_text("admin")
    expect(page.get_by_role("link", name="Demo: signed up")).to_be_visible()
    expect(page.get_by_role("link", name="Only in Second")).to_have_count(0)


def test_signing_out_ends_the_session(page: Any, console: Console) -> None:
    sign_in(page, console, console.admin)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "nudge_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in to Nudge")).to_be_visible()
    again = requests.get(
        console.runtime.url + "/v1/session", cookies={"nudge_session": cookie["value"]}, timeout=10
    )
    assert again.status_code == 401
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to Nudge")).to_be_visible()
