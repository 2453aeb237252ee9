"""What sending and SES feedback decide, counted as CloudWatch metrics: the port the send and feedback
handlers call once per outcome, and its adapter, which writes Powertools Metrics in the embedded metric
format (EMF). An EMF document is a JSON line in the function's log that CloudWatch turns into metrics: no
API call, no added latency, nothing to grant.

Namespace ``Nudge``; one dimension, ``channel`` (email, sms, push, in_app, webhook). Never the workspace:
each distinct combination of dimension values is a custom metric of its own, billed by the month, so a
workspace dimension would multiply the metric bill by the number of workspaces and grow with every
customer. Per-workspace numbers live in the deliveries table (and in the logs, which carry
``workspace_id``); these metrics are for operating the deployment as a whole.

Metric names (the dashboard in ``infra/components/monitoring.py`` reads them from here):

- from the send function, once per delivery it decided: ``Sent``; ``Failed`` and ``Undeliverable`` (not
  sent, and never will be); ``Deferred`` (the provider throttled or failed transiently: rescheduled).
- from the feedback function, once per SES event (channel ``email``): ``Delivered``, ``Bounced``,
  ``Complained``, ``Delayed`` (a delivery delay or a soft bounce's retries), ``Rejected`` (SES refused it
  or could not render it).
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Protocol

from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from nudge.delivery import states
from nudge.settings import METRICS_NAMESPACE_ENV, get_settings

NAMESPACE = "Nudge"
NAMESPACE_ENV = METRICS_NAMESPACE_ENV
DIMENSION = "channel"

SENT = "Sent"
# A delivery this invocation did not send, by the state it was left in.
NOT_SENT = {states.FAILED: "Failed", states.UNDELIVERABLE: "Undeliverable", states.SCHEDULED: "Deferred"}
OTHERWISE_NOT_SENT = "NotSent"  # a state none of the above names (none today)
# SES feedback, by ``ses_events.Feedback.kind``. Not "sent" (the send function counts its own sends), nor
# opens and clicks (the configuration set does not publish them: Nudge tracks its own links).
FEEDBACK = {
    states.DELIVERED: "Delivered",
    states.BOUNCED: "Bounced",
    states.SPAMMED: "Complained",
    states.DEFERRED: "Delayed",
    states.FAILED: "Rejected",
}
FEEDBACK_CHANNEL = "email"  # SES reports on email only

SEND_METRICS = (SENT, *NOT_SENT.values())
FEEDBACK_METRICS = tuple(FEEDBACK.values())

# An invocation that decided nothing (every record a replay, an SES "send" event) has nothing to publish,
# which is normal here: Powertools' log_metrics would warn about it on every such invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class Telemetry(Protocol):
    """Counts what was decided; each call is one outcome."""

    def sent(self, channel: str) -> None: ...

    def not_sent(self, channel: str, state: str) -> None: ...

    def feedback(self, kind: str) -> None: ...


class MetricCounts:
    """``Telemetry`` counted over one invocation, then ``publish``-ed as EMF and started over."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()  # (channel, metric name) -> count

    def sent(self, channel: str) -> None:
        self.counts[channel, SENT] += 1

    def not_sent(self, channel: str, state: str) -> None:
        self.counts[channel, NOT_SENT.get(state, OTHERWISE_NOT_SENT)] += 1

    def feedback(self, kind: str) -> None:
        name = FEEDBACK.get(kind)
        if name is not None:
            self.counts[FEEDBACK_CHANNEL, name] += 1

    def publish(self, metrics: Metrics) -> None:
        """Hand the counts to ``metrics`` and start over: one EMF document per channel, since a document
        gives each dimension one value. Each channel's document but the last is flushed here; the last is
        left for ``@metrics.log_metrics`` to flush as the invocation ends, so call this from inside a
        handler it decorates (both handlers do, in a ``finally``)."""
        counts, self.counts = self.counts, Counter()
        if is_metrics_disabled():
            # POWERTOOLS_METRICS_DISABLED (the local runtime): Powertools would keep them, never flushed.
            return
        for index, channel in enumerate(sorted({channel for channel, _ in counts})):
            if index:
                metrics.flush_metrics()  # the previous channel's document
            metrics.add_dimension(DIMENSION, channel)
            for (of, name), value in sorted(counts.items()):
                if of == channel:
                    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def metrics() -> Metrics:
    """Powertools Metrics for ``Telemetry``: the ``Nudge`` namespace (``POWERTOOLS_METRICS_NAMESPACE``,
    which the stack sets), and no ``service`` dimension, so a metric is named by its channel alone and
    the dashboard does not depend on which function emitted it."""
    return Metrics(namespace=get_settings().metrics_namespace or NAMESPACE, service="")
