"""The billing run: close every period that ended, invoice it, open the next.

For each workspace whose open period ends on or before the run's date, and again for every period that
ended since (a missed run catches up):
1. close the period with a final usage snapshot, read from the counters (never by scanning profiles);
2. issue an invoice: the base fee for the next period in advance (yearly for annual plans), the
   overage of people, objects and messages of the closed period in arrears, unapplied credits, and tax
   at the workspace's location rate unless it is exempt;
3. open the next period at the live counts (opening + created - deleted).

A crash at any write leaves nothing the next run (or the next call) does not complete exactly once. An
invoice's id is its workspace and period, so every attempt drafts the same one; each step is either one
atomic write or a write a later attempt recognises as done, and the period, the workspace's bookmark,
moves only after every other write of its step:
- the opening invoice (the first period's base fee, in advance) is stored, its email queued, and only
  then the first period written: a call that finds no period opens it again, and finds the invoice (and
  the email) already there;
- a closing invoice is stored together with the credits it deducts, in one transaction (both or
  neither), its email queued, and only then the period moved on (conditioned on the version read): a
  rerun drafts the same invoice again, finds it stored, and completes the email from the stored copy.
Two runs at once bill once for the same reasons (one that loses a DynamoDB transaction conflict reports
the workspace as not billed; its retry finds the work done).

Each workspace is billed on its own: one that cannot be billed (its plan is not in the catalog,
DynamoDB refused its writes) is reported in the run's result, and the others are billed regardless.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError

from nudge.billing import catalog, metering, periods
from nudge.billing.invoice_email import queue_invoice_email
from nudge.errors import NudgeError
from nudge.model import Workspace
from nudge.model.base import condition_failed, transaction
from nudge.model.billing import BillingItem, Credit, Invoice, Period

CURRENCY = "usd"
# An invoice and the credits it deducts are one transaction, and a transaction writes at most 100 items:
# the invoice and 99 credits (the oldest first); any more wait for the next invoice.
MAX_CREDITS_PER_INVOICE = 99
# What stops one workspace's billing but not the run's: a domain error (its plan is not in the catalog)
# or DynamoDB refusing its requests. Anything else is a bug, and stops the run.
WORKSPACE_ERRORS = (NudgeError, PynamoDBException)


@dataclass(frozen=True)
class RunResult:
    """What a billing run did: the invoices it issued, and the workspaces it could not bill (id -> why)."""

    issued: list[str]
    failed: dict[str, str]

    def raise_if_incomplete(self) -> None:
        if self.failed:
            raise WorkspacesNotBilled(self.failed)


class WorkspacesNotBilled(NudgeError):
    """A run billed every workspace it could, but not these (id -> why)."""

    def __init__(self, failed: dict[str, str]) -> None:
        named = "; ".join(f"{ws} ({why})" for ws, why in sorted(failed.items()))
        super().__init__(f"{len(failed)} workspace(s) not billed: {named}")
        self.failed = dict(failed)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    amount_cents: int


@dataclass
class Draft:
    """An invoice before it is stored: also what ``GET /v1/billing/usage`` estimates."""

    workspace_id: str
    invoice_id: str
    period_start: str
    period_end: str
    issued_on: str
    plan: str
    usage: dict[str, Any]
    lines: list[Line] = field(default_factory=list)
    tax_location: str | None = None
    tax_exempt: bool = False
    tax_rate_basis_points: int = 0
    credit_ids: list[str] = field(default_factory=list)
    contact: str | None = None  # the workspace's invoice contact, who is emailed the invoice

    @property
    def subtotal_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        if self.tax_exempt or self.subtotal_cents <= 0:
            return 0
        return catalog.round_half_up(self.subtotal_cents * self.tax_rate_basis_points, 10_000)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.invoice_id,
            "workspace_id": self.workspace_id,
            "period": {"start": self.period_start, "end": self.period_end},
            "issued_on": self.issued_on,
            "plan": self.plan,
            "currency": CURRENCY,
            "usage": self.usage,
            "lines": [asdict(line) for line in self.lines],
            "subtotal_cents": self.subtotal_cents,
            "tax": {
                "location": self.tax_location,
                "exempt": self.tax_exempt,
                "rate_basis_points": 0 if self.tax_exempt else self.tax_rate_basis_points,
                "amount_cents": self.tax_cents,
            },
            "total_cents": self.total_cents,
        }


def _period_pk(workspace_id: str) -> str:
    return f"{workspace_id}#period"


def invoices_pk(workspace_id: str) -> str:
    return f"{workspace_id}#invoices"


def credits_pk(workspace_id: str) -> str:
    return f"{workspace_id}#credits"


def current_period(workspace: Workspace) -> Period:
    """The open period, opened at the billing start (with nobody yet) the first time it is asked for."""
    return _current_or_first(workspace)[0]


def _current_or_first(workspace: Workspace) -> tuple[Period, str | None]:
    """The open period, and the id of the opening invoice when this call issued it."""
    try:
        return Period.get(_period_pk(workspace.workspace_id), "current", consistent_read=True), None
    except DoesNotExist:
        pass
    anchor = date.fromisoformat(workspace.billing_start)
    # The opening invoice first, the period last: the period is what tells every later call that the
    # workspace is open, so until it exists a call issues the opening invoice again (a no-op once stored).
    opening = _opening(workspace, anchor)
    issued = opening.invoice_id if _store(opening) else None
    period = Period(
        _period_pk(workspace.workspace_id),
        "current",
        workspace_id=workspace.workspace_id,
        period_id=anchor.isoformat(),
        starts=anchor.isoformat(),
        ends=periods.next_start(anchor, anchor).isoformat(),
        people_start=0,
        objects_start=0,
    )
    try:
        period.save()  # version 1, conditioned on absence: two first runs open it once
    except PutError as exc:
        if not condition_failed(exc):
            raise
        return Period.get(_period_pk(workspace.workspace_id), "current", consistent_read=True), issued
    return period, issued


def _opening(workspace: Workspace, anchor: date) -> Draft:
    """The base fee of the very first period, in advance, like every later one."""
    plan = catalog.load().plan(workspace.plan)
    months = plan.months_per_base_invoice
    opening = Draft(
        workspace_id=workspace.workspace_id,
        invoice_id=f"inv_{workspace.workspace_id}_{anchor.isoformat()}-opening",
        period_start=f"{anchor.isoformat()}-opening",
        period_end=periods.add_months(anchor, months).isoformat(),
        issued_on=anchor.isoformat(),
        plan=plan.key,
        usage={},
        tax_location=workspace.tax_location,
        tax_exempt=bool(workspace.tax_exempt),
        contact=workspace.invoice_contact,
        tax_rate_basis_points=catalog.load().tax_rate(workspace.tax_location),
    )
    label = "year" if months == 12 else "month"
    opening.lines.append(
        Line(
            f"{plan.name} base fee, {label} from {anchor} (in advance)", months, plan.base_fee_cents * months
        )
    )
    return opening


def draft(workspace: Workspace, period: Period, issued_on: date) -> Draft:
    """The invoice closing ``period``, from its counters."""
    ws = workspace.workspace_id
    prices = catalog.load()
    plan = prices.plan(workspace.plan)
    used = metering.read_usage(ws, period.period_id)
    anchor = date.fromisoformat(workspace.billing_start)
    next_start = date.fromisoformat(period.ends)
    people = int(period.people_start) + used.people_new
    objects = int(period.objects_start) + used.objects_new
    messages = used.billable_messages
    over = {
        "people": max(0, people - plan.included_people),
        "objects": max(0, objects - plan.included_objects),
        "messages": max(0, messages - plan.included_messages),
    }
    invoice = Draft(
        workspace_id=ws,
        invoice_id=f"inv_{ws}_{period.period_id}",
        period_start=period.starts,
        period_end=period.ends,
        issued_on=issued_on.isoformat(),
        plan=plan.key,
        usage={
            "people": {
                "opening": int(period.people_start),
                "new": used.people_new,
                "billable": people,
                "included": plan.included_people,
                "over": over["people"],
                "created": used.people_created,
                "deleted": used.people_deleted,
            },
            "objects": {
                "opening": int(period.objects_start),
                "new": used.objects_new,
                "billable": objects,
                "included": plan.included_objects,
                "over": over["objects"],
                "created": used.objects_created,
                "deleted": used.objects_deleted,
            },
            "messages": {
                "by_channel": dict(used.messages),
                "billable": messages,
                "included": plan.included_messages,
                "over": over["messages"],
                "own_smtp_not_billed": used.messages_own_smtp,
            },
        },
        tax_location=workspace.tax_location,
        tax_exempt=bool(workspace.tax_exempt),
        contact=workspace.invoice_contact,
        tax_rate_basis_points=prices.tax_rate(workspace.tax_location),
    )
    months = plan.months_per_base_invoice
    if periods.months_since(anchor, next_start) % months == 0:
        label = "year" if months == 12 else "month"
        invoice.lines.append(
            Line(
                f"{plan.name} base fee, {label} from {next_start} (in advance)",
                months,
                plan.base_fee_cents * months,
            )
        )
    for kind, rate in (
        ("people", plan.people_overage_cents_per_1000),
        ("objects", plan.objects_overage_cents_per_1000),
        ("messages", prices.message_overage_cents_per_1000),
    ):
        if over[kind]:
            invoice.lines.append(
                Line(
                    f"{kind.capitalize()} over the plan, {period.starts} to {period.ends}",
                    over[kind],
                    catalog.per_thousand(over[kind], rate),
                )
            )
    for credit in _unapplied_credits(ws)[:MAX_CREDITS_PER_INVOICE]:
        invoice.lines.append(
            Line(f"Credit: {credit.reason} ({credit.invoice_id})", 1, -int(credit.amount_cents))
        )
        invoice.credit_ids.append(credit.credit_id)
    return invoice


def _unapplied_credits(workspace_id: str) -> list[Credit]:
    found = [c for c in Credit.query(credits_pk(workspace_id)) if isinstance(c, Credit) and not c.applied_to]
    return sorted(found, key=lambda c: (int(c.created_at), c.credit_id))


def run(at: date) -> RunResult:
    """Bill every workspace whose period ended on or before ``at``, each on its own: one that fails is
    named in the result, and the others are billed regardless."""
    issued: list[str] = []
    failed: dict[str, str] = {}
    for workspace in Workspace.scan():  # workspaces, not profiles: one small table
        try:
            # Collected as they are issued, so a workspace that fails part way still reports what it issued.
            for invoice_id in bill_workspace(workspace, at):
                issued.append(invoice_id)
        except WORKSPACE_ERRORS as exc:
            failed[workspace.workspace_id] = f"{type(exc).__name__}: {exc}"
    return RunResult(issued=issued, failed=failed)


def bill_workspace(workspace: Workspace, at: date) -> Iterator[str]:
    """Open the workspace's first period if need be, then close every period that ended by ``at``; yields
    the ids of the invoices issued."""
    period, opening = _current_or_first(workspace)
    if opening:
        yield opening
    while date.fromisoformat(period.ends) <= at:
        invoice = draft(workspace, period, issued_on=date.fromisoformat(period.ends))
        if _store(invoice):
            yield invoice.invoice_id
        period = _open_next(workspace, period)  # last: until it moves, a rerun redoes this period's steps


def _invoice_sk(invoice: Draft) -> str:
    # Sorted by issue date, so billing history lists in order.
    return f"{invoice.issued_on}#{invoice.invoice_id}"


def _store(invoice: Draft) -> bool:
    """Issue ``invoice``: store it and mark the credits it deducts applied, in one transaction, then queue
    its email. False when it was issued before (by an earlier run, which may have died before queueing
    the email: it is queued now, from the invoice as stored; queueing is idempotent)."""
    ws = invoice.workspace_id
    item = Invoice(
        invoices_pk(ws),
        _invoice_sk(invoice),
        workspace_id=ws,
        invoice_id=invoice.invoice_id,
        period_id=invoice.period_start,
        issued_on=invoice.issued_on,
        total_cents=invoice.total_cents,
        body=json.dumps(invoice.to_json(), sort_keys=True),
    )
    try:
        with transaction(BillingItem) as tx:
            tx.save(item, condition=Invoice.pk.does_not_exist())
            for credit_id in invoice.credit_ids:
                tx.update(
                    Credit(credits_pk(ws), credit_id),
                    actions=[Credit.applied_to.set(invoice.invoice_id)],
                    condition=Credit.applied_to.does_not_exist(),
                )
    except TransactWriteError:
        stored = _stored(invoice)
        if stored is None:
            raise  # not issued: DynamoDB cancelled it for another reason (a conflicting transaction)
        _email(ws, invoice.contact, stored)
        return False
    _email(ws, invoice.contact, invoice.to_json())
    return True


def _stored(invoice: Draft) -> dict[str, Any] | None:
    """The invoice with ``invoice``'s id as it was issued, or None if it never was."""
    try:
        found = Invoice.get(invoices_pk(invoice.workspace_id), _invoice_sk(invoice), consistent_read=True)
    except DoesNotExist:
        return None
    return dict(json.loads(found.body))


def _email(workspace_id: str, contact: str | None, invoice: dict[str, Any]) -> None:
    if contact:
        queue_invoice_email(workspace_id, contact, invoice)


def _open_next(workspace: Workspace, period: Period) -> Period:
    used = metering.read_usage(workspace.workspace_id, period.period_id)
    anchor = date.fromisoformat(workspace.billing_start)
    start = date.fromisoformat(period.ends)
    period.period_id, period.starts = start.isoformat(), start.isoformat()
    period.ends = periods.next_start(anchor, start).isoformat()
    period.people_start = int(period.people_start) + used.people_created - used.people_deleted
    period.objects_start = int(period.objects_start) + used.objects_created - used.objects_deleted
    try:
        period.save()  # conditioned on the version read: a concurrent run moves it only once
    except PutError as exc:
        if not condition_failed(exc):
            raise
        return Period.get(_period_pk(workspace.workspace_id), "current", consistent_read=True)
    return period


def invoices(workspace_id: str) -> list[dict[str, Any]]:
    return [json.loads(i.body) for i in Invoice.query(invoices_pk(workspace_id)) if isinstance(i, Invoice)]


def invoice(workspace_id: str, invoice_id: str) -> dict[str, Any] | None:
    # A workspace has about twelve invoices a year: reading its history is cheaper than an index.
    for found in Invoice.query(invoices_pk(workspace_id), filter_condition=Invoice.invoice_id == invoice_id):
        return dict(json.loads(found.body))
    return None
