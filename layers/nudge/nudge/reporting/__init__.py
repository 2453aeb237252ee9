"""Reporting webhooks: Customer.io's signed stream of message and subscription events, POSTed to the
endpoints a workspace configures (``/v1/reporting_webhooks``).

- ``events``: the event names a webhook subscribes to, and which outcome each is.
- ``store``: the webhooks (one partition of the deliveries table), their validation and a brief
  per-process cache of each workspace's list; the signing key, derived and never stored.
- ``subscriber``: delivery outcomes and subscription changes turned into queued events (cheap: no HTTP).
- ``queue``: the port to the SQS queue the worker reads.
- ``payload`` and ``worker``: one queued event built into Customer.io's body, signed and POSTed, retried
  with exponential backoff for about a week, then dead-lettered.
"""
