"""The App API's billing routes: this period's usage and estimate, and the invoices."""

from __future__ import annotations

from urllib.parse import unquote

from nudge import clock, workspaces
from nudge.billing import catalog, invoicing, periods
from nudge.errors import NotFound
from nudge.http.routing import Request, Response, Route


def _billing_usage(req: Request) -> Response:
    workspace = workspaces.load(req.workspace_id)
    period = invoicing.current_period(workspace)
    estimate = invoicing.draft(workspace, period, issued_on=periods.day_of(clock.now()))
    plan = catalog.load().plan(workspace.plan)
    return 200, {
        "plan": {"id": plan.key, "name": plan.name, "billed": plan.billed},
        "period": {"start": period.starts, "end": period.ends},
        "usage": estimate.usage,
        "estimate": {
            key: estimate.to_json()[key] for key in ("lines", "subtotal_cents", "tax", "total_cents")
        },
    }


def _billing_invoices(req: Request) -> Response:
    found = invoicing.invoices(req.workspace_id)
    summary = ("id", "period", "issued_on", "plan", "total_cents", "currency")
    return 200, {"invoices": [{key: i[key] for key in summary} for i in found]}


def _billing_invoice(req: Request) -> Response:
    found = invoicing.invoice(req.workspace_id, unquote(req.params["invoice_id"]))
    if found is None:
        raise NotFound(f"invoice {req.params['invoice_id']} not found")
    return 200, {"invoice": found}


ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/billing/usage", _billing_usage, "This period's usage and an estimate of its invoice"),
    Route("GET", "/v1/billing/invoices", _billing_invoices, "Billing history"),
    Route("GET", "/v1/billing/invoices/{invoice_id}", _billing_invoice, "One invoice, line by line"),
)
