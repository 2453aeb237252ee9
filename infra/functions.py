"""The stack's Lambda functions, declared: one row each, read by ``infra.stack``.

A row says what a function runs (its folder under ``functions/`` and handler), how it is sized (the
config's ``<sized_as>_memory_mb`` and ``<sized_as>_timeout_seconds``), the tables it is told of and
granted (and nothing else), what else it is told and allowed, what invokes it, and whether it queues
reporting webhook events. Its alarms follow from what it is: every function's errors, an API backend's
at the API's rate, and each trigger's dead letters (``infra.components.monitoring``).

The construct id is the function's logical ids' root: renaming one replaces the function and its role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aws_cdk import aws_lambda as lambda_

from nudge.delivery.queued import STREAM_FILTER
from nudge.http.app_api.routes import ROUTES as APP_ROUTES
from nudge.http.links import ROUTES as LINK_ROUTES
from nudge.http.routing import APP_OLDER_BASE
from nudge.http.track_api import ROUTES as TRACK_ROUTES


class Told(Enum):
    """A value of the deployment a function is told, by the variable it reads it from."""

    LINK_SECRET = "NUDGE_LINK_SECRET_ARN"  # noqa: S105 (a variable's name, not a secret); read granted too
    SES_CONFIGURATION_SET = "NUDGE_SES_CONFIGURATION_SET"
    DEFAULT_FROM = "NUDGE_DEFAULT_FROM"
    PUSH_APPLICATION = "NUDGE_PINPOINT_APPLICATION_ID"  # when push is enabled
    SMS_SENDER_ID = "NUDGE_SMS_SENDER_ID"  # when the context names one
    # Known once the API exists.
    LINKS_URL = "NUDGE_LINKS_URL"
    TRACK_URL = "NUDGE_TRACK_URL"  # when the API has a custom domain


class Allowed(Enum):
    """What a function may do beyond its tables, granted in the order its row lists them."""

    SIGN_IN_CONSOLE_USERS = "sign console users in and add them (Cognito)"
    START_EXPORTS = "start exports and sign their downloads"
    DEPLOY_CAMPAIGNS = "deploy campaign state machines and start broadcasts"
    START_CAMPAIGNS = "start campaign journeys"
    RECORD_CAMPAIGN_METRICS = "write a campaign's metric counters, and no other campaigns item"
    SEND_EMAIL = "send email through SES with the configuration set"
    SEND_SMS = "send SMS"
    SEND_PUSH = "send push notifications (when push is enabled)"


@dataclass(frozen=True)
class Stream:
    """Invoked by the streams of the tables whose models name ``consumer`` (``Meta.stream_consumer``)."""

    construct_id: str
    consumer: str
    filters: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class EveryMinute:
    """Invoked every minute (``name``: what a run does, in a phrase)."""

    construct_id: str
    name: str


@dataclass(frozen=True)
class Daily:
    """Invoked once a day at ``hour``:``minute`` UTC, with an alarm on a day without a run."""

    construct_id: str
    name: str
    hour: int
    minute: int


@dataclass(frozen=True)
class EmailFeedback:
    """Subscribed to the SNS topic SES publishes email events to."""

    construct_id: str


Trigger = Stream | EveryMinute | Daily | EmailFeedback

# Triggers are made kind by kind, in this order (then in the table's): each holds a dead-letter queue, and
# the alarms and dashboard rows on them follow the order the stack made them in.
TRIGGER_ORDER: tuple[type[Trigger], ...] = (Stream, EveryMinute, Daily, EmailFeedback)


@dataclass(frozen=True)
class Routes:
    """A backend of the one HTTP API: its routes, and how they authenticate (for cdk-nag's record)."""

    name: str
    routes: Sequence[tuple[str, str]]
    authentication: str
    proxies: Sequence[str] = ()


@dataclass(frozen=True)
class Function:
    construct_id: str
    code: str
    sized_as: str
    reads: frozenset[str]
    writes: frozenset[str]
    handler: str = "handler.handler"
    told: tuple[Told, ...] = ()
    allowed: tuple[Allowed, ...] = ()
    routes: Routes | None = None
    triggers: tuple[Trigger, ...] = ()
    reports: bool = False  # queues reporting webhook events where outcomes and subscription changes happen

    @property
    def tables(self) -> frozenset[str]:
        return self.reads | self.writes


FUNCTIONS: tuple[Function, ...] = (
    # Authenticates against workspace credentials (read only) and writes everything else, deliveries
    # included (metrics reported by clients and SDKs, the in-app inbox). Client metrics on campaign
    # messages count on their campaign.
    Function(
        "Track",
        code="track",
        sized_as="track",
        reads=frozenset({"workspaces"}),
        writes=frozenset({"people", "events", "objects", "segments", "deliveries"}),
        told=(Told.TRACK_URL,),
        allowed=(Allowed.RECORD_CAMPAIGN_METRICS,),
        routes=Routes(
            "Track",
            [(route.method, route.path) for route in TRACK_ROUTES],
            "Customer.io's Track API authenticates with HTTP Basic (site id and API key) per "
            "workspace: the function checks it against the hashed key on every request.",
        ),
        reports=True,
    ),
    # The App API: authenticates app keys against workspaces, where it also reads delivery settings; reads
    # activities (a person's, the workspace's) from the events table (events and page views) and the
    # activity log (everything else); writes people (a transactional send creates its recipient if
    # missing), segments (definitions, the dependency index, manual memberships), billing (asking for this
    # period's usage opens the workspace's first period, and its opening invoice, if absent), deliveries
    # (transactional sends, templates, layouts, snippets) and campaigns (definitions, states and the
    # trigger index; a broadcast's status and request), and the console's members and sessions (console).
    # Workspaces stay read only: only the operator writes them. Template previews render the message
    # (signed links, the default sender), and delivery settings carry the webhook signing key derived from
    # the link secret.
    Function(
        "Api",
        code="api",
        sized_as="api",
        reads=frozenset({"workspaces", "events", "activities"}),
        writes=frozenset({"people", "segments", "billing", "deliveries", "campaigns", "exports", "console"}),
        told=(Told.LINK_SECRET, Told.DEFAULT_FROM, Told.LINKS_URL),
        allowed=(Allowed.SIGN_IN_CONSOLE_USERS, Allowed.START_EXPORTS, Allowed.DEPLOY_CAMPAIGNS),
        routes=Routes(
            "App",
            [(route.method, route.path) for route in APP_ROUTES],
            "Customer.io's App API authenticates with a Bearer app key per workspace: the function "
            "looks the key's hash up in the workspaces table on every request. The web console "
            "signs in at POST /v1/session (Cognito checks the password) and sends a session cookie "
            "whose hash, and the user's role in the workspace, the function looks up the same way.",
            proxies=[APP_OLDER_BASE.proxy_path],
        ),
    ),
    # The exports worker: people (the index and profiles) and segment memberships for a customers export,
    # deliveries for a deliveries export, all read; its exports' records and progress written.
    Function(
        "Exports",
        code="exports",
        sized_as="exports",
        reads=frozenset({"people", "segments", "deliveries"}),
        writes=frozenset({"exports"}),
    ),
    # Evaluation from the streams: reads a person's profile and devices, events, objects and
    # relationships, and a workspace's billing anchor; writes memberships, re-checks and backfill progress
    # to segments, usage metering (counters, identities, once-only markers) to billing, campaign entries
    # to campaigns (the trigger index and campaigns read; journey claims and date triggers written), and
    # attribute changes and segment entries and exits to the activity log. It also reads the workspace's
    # reporting webhooks (deliveries) to queue subscription changes for them.
    Function(
        "Evaluate",
        code="evaluate",
        sized_as="evaluate",
        reads=frozenset({"workspaces", "people", "events", "objects", "deliveries"}),
        writes=frozenset({"segments", "billing", "campaigns", "activities"}),
        allowed=(Allowed.START_CAMPAIGNS,),
        triggers=(Stream("StreamEvaluation", consumer="evaluate"),),
        reports=True,
    ),
    # The sweep runs the evaluate function's code but only the segment re-checks, which never meter usage,
    # and the campaign date triggers: evaluation's segment access (memberships, re-checks, the sweep's
    # bookmark), and campaigns (due date triggers through their index, consumed; journey claims; the date
    # sweep's bookmark). A re-checked condition on subscription topics reads their defaults (deliveries).
    Function(
        "Sweep",
        code="evaluate",
        handler="handler.sweep",
        sized_as="sweep",
        reads=frozenset({"people", "events", "objects", "deliveries"}),
        writes=frozenset({"segments", "campaigns"}),
        allowed=(Allowed.START_CAMPAIGNS,),
        triggers=(EveryMinute("SegmentRechecks", name="segment re-check sweep"),),
    ),
    # The daily billing run: scans workspaces (read only); reads usage counters and credits, and writes
    # periods, invoices and applied credits, all in billing; queues each invoice's email as a delivery.
    # 00:05 UTC, just after the day's period boundaries (periods start at midnight UTC). The run bills as
    # of its event's time and catches up on periods a missed day left open.
    Function(
        "Billing",
        code="billing",
        sized_as="billing",
        reads=frozenset({"workspaces"}),
        writes=frozenset({"billing", "deliveries"}),
        triggers=(Daily("BillingRuns", name="billing run", hour=0, minute=5),),
    ),
    # Sending, from the deliveries stream: reads a workspace's billing anchor, and a person's profile and
    # devices; reads delivery settings and templates, claims and records deliveries (and the inbox,
    # blocked addresses and limit counters beside them), meters each message into billing, and records
    # each metric a message reaches in the activity log.
    Function(
        "Send",
        code="send",
        sized_as="send",
        reads=frozenset({"workspaces", "people"}),
        writes=frozenset({"deliveries", "billing", "activities"}),
        told=(
            Told.LINK_SECRET,
            Told.SES_CONFIGURATION_SET,
            Told.DEFAULT_FROM,
            Told.PUSH_APPLICATION,
            Told.SMS_SENDER_ID,
            Told.LINKS_URL,
        ),
        allowed=(Allowed.SEND_EMAIL, Allowed.SEND_SMS, Allowed.SEND_PUSH),
        # Only records whose new image is a delivery: the inbox, counters and templates beside them and
        # removals never invoke the function. It sends the newly queued ones and records the metrics the
        # others reached in the activity log.
        triggers=(
            Stream("StreamSending", consumer="send", filters=[lambda_.FilterCriteria.filter(STREAM_FILTER)]),
        ),
        reports=True,
    ),
    # The scheduled-delivery release runs the send function's code but only queues deliveries whose time
    # came (and keeps its bookmark), all in deliveries.
    Function(
        "ReleaseScheduled",
        code="send",
        handler="handler.release_scheduled",
        sized_as="release",
        reads=frozenset(),
        writes=frozenset({"deliveries"}),
        triggers=(EveryMinute("ScheduledReleases", name="scheduled-delivery release"),),
    ),
    # The public links: record opens, clicks and unsubscribes on deliveries (and on their campaign), and
    # unsubscribe the person through identify (profile and identifier look-ups, in people). Nothing of the
    # workspace is read.
    Function(
        "Links",
        code="links",
        sized_as="links",
        reads=frozenset(),
        writes=frozenset({"deliveries", "people"}),
        told=(Told.LINK_SECRET,),
        allowed=(Allowed.RECORD_CAMPAIGN_METRICS,),
        routes=Routes(
            "Links",
            [(route.method, route.path) for route in LINK_ROUTES],
            "Public by design: these are the links in sent messages, followed by recipients' mail "
            "clients and browsers, which hold no credentials. Each path carries a token signed "
            "(HMAC) with the link secret, verified by the function, naming the one delivery it may "
            "touch; a forged or altered token is refused.",
        ),
        reports=True,
    ),
    # SES feedback: metrics on deliveries (and on their campaign), blocked addresses beside them, and
    # complaints unsubscribe the person through identify; a delivery whose send outcome was unknown is
    # metered once SES reports on it (billing, against the workspace's billing anchor).
    Function(
        "Feedback",
        code="feedback",
        sized_as="feedback",
        reads=frozenset({"workspaces"}),
        writes=frozenset({"deliveries", "people", "billing"}),
        allowed=(Allowed.RECORD_CAMPAIGN_METRICS,),
        triggers=(EmailFeedback("FeedbackSubscription"),),
        reports=True,
    ),
    # The campaigns function, every Task of every campaign's state machine and each page of a broadcast:
    # journeys, metrics, broadcasts and date triggers in campaigns; people identified (set attribute) and
    # created (a broadcast to unknown ids or emails); messages queued as deliveries; manual segment
    # memberships added and removed; events and objects (relationships, related objects) only read, by
    # conditions, filters and goals. Nothing of the workspace is read.
    Function(
        "Campaigns",
        code="campaigns",
        sized_as="campaigns",
        reads=frozenset({"events", "objects"}),
        writes=frozenset({"campaigns", "people", "deliveries", "segments"}),
        allowed=(Allowed.START_CAMPAIGNS,),
    ),
    # The reporting webhooks' worker: a webhook and the delivery an event is about (deliveries), and the
    # person's identifiers (people), all read; it writes nothing. It signs events with a key derived from
    # the link secret.
    Function(
        "Reporting",
        code="reporting",
        sized_as="reporting",
        reads=frozenset({"deliveries", "people"}),
        writes=frozenset(),
        told=(Told.LINK_SECRET,),
    ),
)
