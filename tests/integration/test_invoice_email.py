"""Invoices are emailed to the workspace's invoice contact through the delivery pipeline: one ``system``
delivery per invoice, never metered, untracked, and never sent twice when a billing date is re-run."""

from __future__ import annotations

from datetime import date

import pytest

from nudge import clock
from nudge.billing import details as billing_details
from nudge.billing import invoicing
from nudge.billing.invoice_email import SYSTEM_PERSON
from nudge.delivery import gates, records, states
from tests.support.deliveries import delivery, usage

CONTACT = "billing@acme.example"
FIRST_PERIOD_ENDED = date(2026, 2, 1)  # the fixture workspace's billing starts on 2026-01-01


def _system_deliveries(ws: str) -> list[dict]:
    found, _ = records.for_person(ws, SYSTEM_PERSON, limit=100, start=None)
    return found


def _invoice_delivery(ws: str, invoice_id: str) -> str:
    return records.stable_id(ws, "invoice", invoice_id)


@pytest.fixture
def billed(ws, channels):
    """The workspace's first period billed after its contact was set: its opening invoice was issued
    before (by the run that opened the period), without a contact to email."""
    assert invoicing.run(date(2026, 1, 1)).issued == [f"inv_{ws}_2026-01-01-opening"]
    billing_details.update_billing_details(ws, invoice_contact=CONTACT)
    issued = invoicing.run(FIRST_PERIOD_ENDED).issued
    assert issued == [f"inv_{ws}_2026-01-01"]
    return issued[0]


def test_billing_queues_one_system_email_to_the_contact(ws, billed):
    [queued] = _system_deliveries(ws)

    assert queued["id"] == _invoice_delivery(ws, billed)
    assert queued["type"] == "system"
    assert queued["channel"] == "email"
    assert queued["state"] == states.QUEUED
    assert records.request_of(delivery(ws, queued["id"]))["to"] == CONTACT
    assert delivery(ws, queued["id"]).billable is False


def test_the_invoice_email_names_the_invoice_and_is_not_metered(ws, billed, deliver, channels):
    outcome = deliver(_invoice_delivery(ws, billed))

    assert outcome.state == states.SENT
    [email] = channels.email.sent
    assert email.to == CONTACT
    assert billed in email.subject
    assert "2026-01-01" in email.subject
    assert billed in email.html
    assert usage(ws).billable_messages == 0
    assert usage(ws).messages_own_smtp == 0


def test_the_invoice_email_is_untracked_and_has_no_unsubscribe(ws, billed, deliver, channels):
    deliver(_invoice_delivery(ws, billed))

    [email] = channels.email.sent
    assert "List-Unsubscribe" not in email.headers
    assert "List-Unsubscribe-Post" not in email.headers
    assert "/t/o/" not in email.html
    assert "/t/c/" not in email.html


def test_rerunning_the_billing_date_emails_no_second_time(ws, billed, deliver, channels):
    deliver(_invoice_delivery(ws, billed))

    assert invoicing.run(FIRST_PERIOD_ENDED).issued == []  # nothing new issued

    [queued] = _system_deliveries(ws)
    assert queued["id"] == _invoice_delivery(ws, billed)
    assert queued["state"] == states.SENT
    deliver(queued["id"])
    assert len(channels.email.sent) == 1


def test_a_bounced_contact_address_is_not_emailed(ws, billed, deliver, channels):
    gates.block(ws, CONTACT, "bounced", None, clock.now())

    outcome = deliver(_invoice_delivery(ws, billed))

    assert outcome.state == states.UNDELIVERABLE
    assert outcome.reason is not None and outcome.reason.startswith("suppressed_address")
    assert channels.email.sent == []


def test_every_invoice_gets_its_own_email(ws, channels):
    billing_details.update_billing_details(ws, invoice_contact=CONTACT)

    issued = invoicing.run(FIRST_PERIOD_ENDED).issued

    assert issued == [f"inv_{ws}_2026-01-01-opening", f"inv_{ws}_2026-01-01"]
    assert sorted(d["id"] for d in _system_deliveries(ws)) == sorted(
        _invoice_delivery(ws, invoice_id) for invoice_id in issued
    )
