"""Billing: metering from the streams, the seed's worked example to the person and the cent, and the
billing run's rules (overage, tax, annual plans, idempotency, catch-up, re-creation, credits, races)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime

import pytest

from nudge import clock, workspaces
from nudge.billing import catalog, credits, invoicing, metering
from nudge.billing import details as billing_details
from nudge.errors import InvalidRequest
from tests.support.track import TrackClient

SEP_15 = int(datetime(2026, 9, 15, 12, tzinfo=UTC).timestamp())
OCT_15 = int(datetime(2026, 10, 15, 12, tzinfo=UTC).timestamp())


@pytest.fixture
def at(monkeypatch):
    """Set the clock every handler and the metering consumer read."""
    now = {"t": SEP_15}
    monkeypatch.setattr(clock, "now", lambda: now["t"])

    def move(timestamp: int) -> None:
        now["t"] = timestamp

    return move


@pytest.fixture
def essentials(account):
    keys = workspaces.create_workspace("Acme", "essentials", "2026-09-01")
    return keys, TrackClient(keys.site_id, keys.track_api_key)


def obj(action, i):
    return {
        "type": "object",
        "action": action,
        "identifiers": {"object_type_id": "course", "object_id": f"c{i}"},
    }


def lines(invoice):
    return {line["description"].split(",")[0]: line["amount_cents"] for line in invoice["lines"]}


@pytest.mark.direct_moto  # 7,000 people and their stream records: volume, not the AWS wire
def test_the_seeds_worked_example(essentials, at):
    # Metered through the stream consumer's own entry points (the full path, Track API and streams
    # included, runs end to end in tests/e2e/test_billing_e2e.py and below at a smaller scale).
    keys, _ = essentials
    people = [metering.Subject("people", f"p{i}", f"cio-p{i}") for i in range(7000)]
    courses = [metering.Subject("objects", f"course#c{i}", f"cio-c{i}") for i in range(600)]
    for subject in people + courses:
        metering.created(keys.workspace_id, subject)
    for subject in people[:50] + courses[:25]:
        metering.deleted(keys.workspace_id, subject)

    issued = invoicing.run(date(2026, 10, 1)).issued

    invoice = invoicing.invoice(keys.workspace_id, f"inv_{keys.workspace_id}_2026-09-01")
    assert issued == [f"inv_{keys.workspace_id}_2026-09-01-opening", invoice["id"]]
    usage = invoice["usage"]
    assert (usage["people"]["billable"], usage["people"]["over"]) == (7000, 2000)
    assert (usage["objects"]["billable"], usage["objects"]["over"]) == (600, 100)
    assert lines(invoice) == {
        "Essentials base fee": 100_00,  # the next period, in advance
        "People over the plan": 20_00,  # 2,000 x $10 per 1,000
        "Objects over the plan": 1_00,  # 100 x $10 per 1,000
    }
    assert invoice["total_cents"] == 121_00
    period = invoicing.current_period(workspaces.load(keys.workspace_id))
    assert (period.starts, int(period.people_start), int(period.objects_start)) == ("2026-10-01", 6950, 575)


def test_a_person_deleted_and_recreated_in_one_period_counts_once(essentials, pump, at):
    keys, track = essentials
    track.put("/api/v1/customers/ann", {})
    assert pump.wait_idle()
    track.delete("/api/v1/customers/ann")
    assert pump.wait_idle()
    track.put("/api/v1/customers/ann", {})
    track.put("/api/v1/customers/bob", {})
    assert pump.wait_idle()
    used = metering.read_usage(keys.workspace_id, "2026-09-01")
    assert (used.people_created, used.people_deleted, used.people_new) == (3, 1, 2)
    # In the next period: alive at its start, so deleting and re-creating ann adds nobody new.
    invoicing.run(date(2026, 10, 1))
    at(OCT_15)
    track.delete("/api/v1/customers/ann")
    assert pump.wait_idle()
    track.put("/api/v1/customers/ann", {})
    assert pump.wait_idle()
    october = metering.read_usage(keys.workspace_id, "2026-10-01")
    assert (october.people_created, october.people_deleted, october.people_new) == (1, 1, 0)
    period = invoicing.current_period(workspaces.load(keys.workspace_id))
    assert int(period.people_start) == 2


def test_redelivered_stream_records_are_metered_once(essentials, at):
    keys, _ = essentials
    subject = metering.Subject("people", "ann", "cio-1")
    assert metering.created(keys.workspace_id, subject) is True
    assert metering.created(keys.workspace_id, subject) is False
    assert metering.deleted(keys.workspace_id, subject) is True
    assert metering.deleted(keys.workspace_id, subject) is False
    used = metering.read_usage(keys.workspace_id, "2026-09-01")
    assert (used.people_created, used.people_deleted, used.people_new) == (1, 1, 1)


def test_concurrent_writers_never_lose_or_double_a_count(essentials, at):
    keys, _ = essentials
    errors = []

    def meter(worker: int) -> None:
        try:
            for i in range(40):
                subject = metering.Subject("people", f"w{worker}-{i % 20}", f"cio-{worker}-{i % 20}")
                metering.created(keys.workspace_id, subject)  # each one twice: a redelivery racing
                metering.message_sent(keys.workspace_id, f"d-{i % 20}", "email")  # shared across workers
        except Exception as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=meter, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    used = metering.read_usage(keys.workspace_id, "2026-09-01")
    assert (used.people_created, used.people_new) == (80, 80)
    assert dict(used.messages)["email"] == 20


def test_message_overage_and_own_smtp(account, at, tmp_path, monkeypatch):
    data = json.loads(catalog.DEFAULT_CATALOG.read_text())
    data["plans"]["essentials"]["included_messages"] = 100
    custom = tmp_path / "catalog.json"
    custom.write_text(json.dumps(data))
    monkeypatch.setenv("NUDGE_BILLING_CATALOG", str(custom))
    catalog.load.cache_clear()
    try:
        keys = workspaces.create_workspace("Chatty", "essentials", "2026-09-01")
        for i in range(230):
            metering.message_sent(keys.workspace_id, f"email-{i}", "email")
        for i in range(20):
            metering.message_sent(keys.workspace_id, f"sms-{i}", "sms")
        for i in range(50):
            metering.message_sent(keys.workspace_id, f"smtp-{i}", "email", own_smtp=True)
        invoicing.run(date(2026, 10, 1))
        invoice = invoicing.invoices(keys.workspace_id)[-1]
        assert invoice["usage"]["messages"]["billable"] == 250
        assert invoice["usage"]["messages"]["own_smtp_not_billed"] == 50
        # 150 over at $0.12 per 1,000 = 1.8 cents, rounded half up to 2.
        assert lines(invoice)["Messages over the plan"] == 2
    finally:
        catalog.load.cache_clear()


def test_tax_and_exemption(account, at):
    taxed = workspaces.create_workspace("Taxed", "essentials", "2026-09-01")
    billing_details.update_billing_details(
        taxed.workspace_id, tax_location="US-CA", invoice_contact="bills@acme.test"
    )
    exempt = workspaces.create_workspace("Exempt", "essentials", "2026-09-01")
    billing_details.update_billing_details(exempt.workspace_id, tax_location="US-CA", tax_exempt=True)
    invoicing.run(date(2026, 10, 1))
    [_, closing] = invoicing.invoices(taxed.workspace_id)
    assert closing["subtotal_cents"] == 100_00
    assert closing["tax"] == {
        "location": "US-CA",
        "exempt": False,
        "rate_basis_points": 725,
        "amount_cents": 7_25,
    }
    assert closing["total_cents"] == 107_25
    [_, untaxed] = invoicing.invoices(exempt.workspace_id)
    assert untaxed["tax"]["amount_cents"] == 0 and untaxed["total_cents"] == 100_00
    with pytest.raises(InvalidRequest, match="tax location must be one of"):
        billing_details.update_billing_details(taxed.workspace_id, tax_location="Atlantis")


def test_annual_plans_pay_the_base_yearly_and_usage_monthly(account, at):
    keys = workspaces.create_workspace("Big", "premium", "2026-09-01")
    invoicing.run(date(2027, 9, 1))
    found = invoicing.invoices(keys.workspace_id)
    assert len(found) == 13  # the opening invoice and twelve monthly closes
    opening = found[0]
    assert lines(opening) == {"Premium base fee": 12 * 1000_00}
    monthly = found[1:]
    assert [lines(i).get("Premium base fee") for i in monthly] == [None] * 11 + [12 * 1000_00]


def test_reruns_never_bill_twice_and_a_missed_run_catches_up(essentials, at):
    keys, _ = essentials
    first = invoicing.run(date(2026, 12, 1)).issued  # the runs of Oct 1 and Nov 1 never happened
    assert [i.rsplit("_", 1)[-1] for i in first] == [
        "2026-09-01-opening",
        "2026-09-01",
        "2026-10-01",
        "2026-11-01",
    ]
    assert invoicing.run(date(2026, 12, 1)).issued == []
    assert invoicing.run(date(2026, 12, 2)).issued == []
    assert len(invoicing.invoices(keys.workspace_id)) == 4


def test_credits_within_the_grace_period(essentials, at):
    keys, _ = essentials
    invoicing.run(date(2026, 10, 1))
    september = f"inv_{keys.workspace_id}_2026-09-01"
    at(OCT_15)
    credits.add_credit(keys.workspace_id, september, 25_00, "outage on Sep 20")
    with pytest.raises(InvalidRequest, match="reason"):
        credits.add_credit(keys.workspace_id, september, 1_00, "  ")
    invoicing.run(date(2026, 11, 1))
    october = invoicing.invoice(keys.workspace_id, f"inv_{keys.workspace_id}_2026-10-01")
    assert lines(october)["Credit: outage on Sep 20 (" + september + ")"] == -25_00
    assert october["total_cents"] == 75_00
    at(int(datetime(2027, 1, 2, tzinfo=UTC).timestamp()))
    with pytest.raises(InvalidRequest, match="grace period"):
        credits.add_credit(keys.workspace_id, september, 1_00, "too late")


def test_anonymous_objects_are_not_billed(essentials, pump, at):
    keys, track = essentials
    anonymous = {
        "type": "object",
        "action": "identify_anonymous",
        "identifiers": {"object_type_id": "cart", "anonymous_id": "a1"},
    }
    track.post("/api/v2/entity", anonymous)
    track.post("/api/v2/entity", obj("identify", 1))
    assert pump.wait_idle()
    assert metering.read_usage(keys.workspace_id, "2026-09-01").objects_new == 1


def test_billing_through_the_app_api_and_the_cli(essentials, at, capsys, tmp_path, monkeypatch):
    from nudge_tools import cli

    monkeypatch.chdir(tmp_path)  # no local runtime's local.json here: the CLI stays on the mocked account
    from tests.support.track import AppClient

    keys, track = essentials
    app = AppClient(keys.app_api_key)
    track.put("/api/v1/customers/ann", {})
    usage = app.get("/v1/billing/usage").json
    assert usage["period"] == {"start": "2026-09-01", "end": "2026-10-01"}
    assert usage["plan"] == {"id": "essentials", "name": "Essentials", "billed": "monthly"}
    assert usage["estimate"]["total_cents"] >= 100_00
    assert cli.main(["billing", "run", "--at", "2026-10-01", "--json"]) == 0
    issued = json.loads(capsys.readouterr().out)["invoices"]
    listed = app.get("/v1/billing/invoices").json["invoices"]
    assert [i["id"] for i in listed] == [f"inv_{keys.workspace_id}_2026-09-01-opening", *issued]
    detail = app.get(f"/v1/billing/invoices/{issued[-1]}").json["invoice"]
    assert detail["period"] == {"start": "2026-09-01", "end": "2026-10-01"}
    assert app.get("/v1/billing/invoices/inv_nope_2026-09-01").status == 404
    at(OCT_15)
    assert (
        cli.main(
            [
                "billing",
                "credit",
                "--workspace",
                keys.workspace_id,
                "--invoice",
                issued[-1],
                "--amount-cents",
                "500",
                "--reason",
                "goodwill",
            ]
        )
        == 0
    )
    assert "500 cents off the next invoice" in capsys.readouterr().out
