"""A workspace's billing details: where its invoices go and how they are taxed. Billing's, not
``workspaces``': a tax location is one the billing catalog prices."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from nudge.billing import catalog
from nudge.errors import InvalidRequest, NotFound
from nudge.model import Workspace
from nudge.model.keys import WORKSPACE_SK, workspace_pk


def update_billing_details(
    workspace_id: str,
    *,
    invoice_contact: str | None = None,
    tax_location: str | None = None,
    tax_exempt: bool | None = None,
) -> None:
    """Where invoices go and how they are taxed (a location is a key of the catalog's tax rates)."""
    try:
        ws = Workspace.get(workspace_pk(workspace_id), WORKSPACE_SK, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"workspace {workspace_id} not found") from exc
    if invoice_contact is not None:
        if "@" not in invoice_contact:
            raise InvalidRequest("invoice contact must be an email address", field="invoice_contact")
        ws.invoice_contact = invoice_contact
    if tax_location is not None:
        if tax_location not in catalog.load().tax_rates_basis_points:
            known = ", ".join(sorted(catalog.load().tax_rates_basis_points))
            raise InvalidRequest(f"tax location must be one of {known}", field="tax_location")
        ws.tax_location = tax_location
    if tax_exempt is not None:
        ws.tax_exempt = tax_exempt
    ws.save()
