"""Invoices are emailed to the workspace's invoice contact through the delivery pipeline, as a
``system`` delivery: not metered as usage, exempt from subscription gates and message limits, but still
refused for an address that hard-bounced. One delivery per invoice, so re-runs never email twice."""

from __future__ import annotations

from typing import Any

from nudge.delivery import records

SUBJECT = "Your Nudge invoice {{ trigger.id }} for {{ trigger.period.start }} to {{ trigger.period.end }}"
BODY = """<p>Hello,</p>
<p>Invoice <b>{{ trigger.id }}</b>, issued {{ trigger.issued_on }}, plan {{ trigger.plan }}.</p>
<table>
{% for line in trigger.lines %}<tr><td>{{ line.description }}</td><td>{{ line.quantity }}</td>
<td>{{ "%.2f"|format(line.amount_cents / 100) }} {{ trigger.currency|upper }}</td></tr>
{% endfor %}<tr><td>Tax</td><td></td><td>{{ "%.2f"|format(trigger.tax.amount_cents / 100) }}</td></tr>
<tr><td><b>Total</b></td><td></td>
<td><b>{{ "%.2f"|format(trigger.total_cents / 100) }} {{ trigger.currency|upper }}</b></td></tr>
</table>"""
SYSTEM_PERSON = "_system"


def queue_invoice_email(workspace_id: str, contact: str, invoice: dict[str, Any]) -> str:
    delivery_id = records.stable_id(workspace_id, "invoice", str(invoice["id"]))
    records.queue(
        workspace_id,
        records.NewDelivery(
            delivery_id=delivery_id,
            cio_id=SYSTEM_PERSON,
            channel="email",
            source="system",
            request={"to": contact, "message_data": invoice, "content": {"subject": SUBJECT, "body": BODY}},
            billable=False,
        ),
    )
    return delivery_id
