"""Credits and adjustments: money given back against an invoice, within the three-month grace period,
always with a reason. A credit is deducted on the next invoice issued (up to 99 credits an invoice, the
oldest first: any more on the one after)."""

from __future__ import annotations

import secrets
from datetime import date

from nudge import clock
from nudge.billing import invoicing, periods
from nudge.errors import InvalidRequest, NotFound
from nudge.model.billing import Credit

GRACE_MONTHS = 3


def add_credit(workspace_id: str, invoice_id: str, amount_cents: int, reason: str) -> str:
    if not isinstance(amount_cents, int) or amount_cents <= 0:
        raise InvalidRequest("amount must be a positive number of cents", field="amount_cents")
    if not reason or not reason.strip():
        raise InvalidRequest("a credit needs a reason", field="reason")
    found = invoicing.invoice(workspace_id, invoice_id)
    if found is None:
        raise NotFound(f"invoice {invoice_id} not found")
    today = periods.day_of(clock.now())
    if periods.add_months(date.fromisoformat(found["issued_on"]), GRACE_MONTHS) < today:
        raise InvalidRequest(
            f"invoice {invoice_id} was issued on {found['issued_on']}, "
            f"outside the {GRACE_MONTHS}-month grace period",
            field="invoice_id",
        )
    if amount_cents > found["total_cents"]:
        raise InvalidRequest("a credit cannot exceed the invoice's total", field="amount_cents")
    credit_id = f"cr_{secrets.token_hex(6)}"
    Credit(
        invoicing.credits_pk(workspace_id),
        credit_id,
        workspace_id=workspace_id,
        credit_id=credit_id,
        invoice_id=invoice_id,
        amount_cents=amount_cents,
        reason=reason.strip(),
        created_at=clock.now(),
    ).save()
    return credit_id
