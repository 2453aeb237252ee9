"""What the billing run reports as a CloudWatch metric, through the same Powertools Metrics (EMF, namespace
``Nudge``) the send and feedback functions use: ``WorkspacesNotBilled``, how many workspaces one run
could not bill. No dimension: one number for the deployment; which workspaces, and why, is in the
billing function's log ("workspace not billed"). Every run reports it, 0 included, so the alarm on it
(``infra/components/monitoring.py``) sees each run, and no data means no run (the missed-run alarm's
case, not this one's)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

WORKSPACES_NOT_BILLED = "WorkspacesNotBilled"


def report_not_billed(metrics: Metrics, count: int) -> None:
    """Add the count to ``metrics``, for ``@metrics.log_metrics`` to flush as the invocation ends."""
    if is_metrics_disabled():
        # POWERTOOLS_METRICS_DISABLED (the local runtime): Powertools would keep it, never flushed.
        return
    metrics.add_metric(name=WORKSPACES_NOT_BILLED, unit=MetricUnit.Count, value=count)
