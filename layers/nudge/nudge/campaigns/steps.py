"""What a campaign workflow's Task states do: the ``campaigns`` function dispatches each payload's
``action`` here (``ACTIONS``).

A payload (built by ``compiler``) carries the person and execution (``workspace_id``, ``campaign_id``,
``cio_id``, ``execution``, ``entered_at``, ``trigger``), the ``block`` and what the step needs from the
definition version the execution runs (filters, goal, settings, block parameters): steps never read the
campaign's current definition.

Step Functions may run a Task more than once (its Retry, or an invocation delivered twice), so every step
is idempotent: writes are conditional on the execution (journeys), deliveries have ids derived from the
execution and block, and attribute and segment changes set a state rather than toggle one.

Waiting (the ``waiting`` metric: people at a wait block now) adds no state, since each would be a billed
transition per person. The steps on either side of a wait count the person in and out
(``metrics.move_waiting``, idempotent through a mark on the journey). The compiler embeds ``waits`` in a
Task's payload, ``{outcome: wait block}``, for the outcomes that lead straight into a wait; a step maps
its answer to an outcome and enters the block found there. Outcomes: ``next`` (a step with one way on,
and a check not exiting), ``true``/``false`` (a condition), the branch index as text (split, cohort;
``default`` for a split's default), ``wait``/``next`` (a time_window closed, so the person waits at it,
or open). A delay is a bare Wait state, so the Task before it counts the person in; a wait_until's
first poll and a time_window's step are where the person arrives, so they count their own block: the
first poll not matched (``false``), the window closed (``wait``); an open window or a condition already
true waits for nothing and counts nothing. Later polls change nothing (a match then goes through the
check). The ``check`` after a wait counts the person out of its block; the end step out of whatever
wait the journey is still marked at (a step failing after the wait, a wait_until timing out to exit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aws_lambda_powertools import Logger

from nudge import clock
from nudge.campaigns import journey_outcomes, journeys, metrics
from nudge.campaigns.cohorts import cohort_of
from nudge.campaigns.messages import JourneyRef, campaign_delivery
from nudge.delivery import records
from nudge.delivery.channels import aws_errors
from nudge.errors import NotFound, NudgeError
from nudge.segments.conditions import evaluate, parse
from nudge.segments.context import StoredPerson
from nudge.tracking import segments
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.identify_request import IdentifyRequest
from nudge.tracking.people import identify

logger = Logger(child=True)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
_OUTCOME_METRIC = {
    journey_outcomes.COMPLETED: metrics.COMPLETED,
    journey_outcomes.EXITED: metrics.EXITED,
    journey_outcomes.CONVERTED: metrics.EXITED,  # the conversion itself was counted when the goal was met
    journey_outcomes.FAILED: metrics.FAILED,
}
NEXT = "next"  # the outcome of a step with one way on (``waits``)
_HOUR = 3600
_SCAN_HOURS = 8 * 24 + 1  # every hour of a week, and then some: a window opens within them or never


class UnknownAction(NudgeError):
    """The payload names no step (a state machine compiled by another version of the compiler)."""


class TransientStorageError(NudgeError):
    """A step's read or write failed for now (throttled, a 5xx answer, no answer). Its class name is the
    Lambda ``errorType`` the state machine's Retry matches (``compiler.TRANSIENT_STORAGE_ERROR``): the
    Task is run again with backoff, which is safe because every step is idempotent, instead of the journey
    ending as failed."""


class MalformedPayload(NudgeError):
    """The payload lacks a field every step reads (a state machine compiled by another version of the
    compiler, or a payload written by hand): named, rather than a bare KeyError from deep in a step."""


# What ``Step.of`` cannot do without; ``trigger`` and ``block`` may be absent.
_STEP_FIELDS = ("workspace_id", "campaign_id", "cio_id", "execution", "entered_at")


@dataclass(frozen=True)
class Step:
    """The part of every payload that says who, where and in which execution."""

    workspace_id: str
    campaign_id: str
    cio_id: str
    execution: str
    entered_at: int
    trigger: dict[str, Any]
    block: str | None
    journey: str  # the sort key of this journey's item (``executions.journey_key``)

    @classmethod
    def of(cls, event: dict[str, Any]) -> Step:
        missing = [name for name in _STEP_FIELDS if name not in event]
        if missing:
            raise MalformedPayload(f"campaign step payload lacks {', '.join(missing)}")
        return cls(
            workspace_id=str(event["workspace_id"]),
            campaign_id=str(event["campaign_id"]),
            cio_id=str(event["cio_id"]),
            execution=str(event["execution"]),
            entered_at=int(event["entered_at"]),
            trigger=dict(event.get("trigger") or {}),
            block=event.get("block"),
            # In the trigger because every compiled version passes it to every Task; journeys started
            # before concurrent journeys existed have none and own the person's one journey item.
            journey=str((event.get("trigger") or {}).get("journey") or journeys.SK),
        )

    def person(self) -> StoredPerson | None:
        return StoredPerson.load(self.workspace_id, self.cio_id)

    def count(self, metric: str, *, block: str | None = None) -> None:
        metrics.increment(self.workspace_id, self.campaign_id, block, metric, shard_key=self.cio_id)

    def wait(self, event: dict[str, Any], outcome: str | None, *, leaving: str | None = None) -> None:
        """Move the journey's waiting mark: out of ``leaving``, into the wait block (if any) the payload's
        ``waits`` puts at ``outcome``."""
        waits = event.get("waits") or {}
        entering = waits.get(outcome) if outcome is not None else None
        if leaving is None and entering is None:
            return
        metrics.move_waiting(
            self.workspace_id,
            self.campaign_id,
            self.cio_id,
            self.execution,
            leaving,
            None if entering is None else str(entering),
            self.journey,
        )


def _matches(person: StoredPerson | None, condition: Any) -> bool:
    """Whether the person satisfies a segment condition; a person deleted meanwhile satisfies none."""
    if person is None:
        return False
    return evaluate(parse(condition), person).matched


# -- journey ends ---------------------------------------------------------------------------------------


def enter(event: dict[str, Any]) -> dict[str, Any]:
    """The journey's first state: record the entry (once per execution) and count it."""
    step = Step.of(event)
    created = journeys.entered(
        step.workspace_id, step.campaign_id, step.cio_id, step.execution, step.entered_at, step.journey
    )
    if created:
        step.count(metrics.ENTERED)
    step.wait(event, NEXT)
    return {"entered": created}


def end(event: dict[str, Any]) -> dict[str, Any]:
    """The journey's last state: ``outcome`` completed, exited, converted or failed. Counted on the
    campaign, and on the block too when a block (an exit block, a check after a wait) ended it."""
    step = Step.of(event)
    outcome = str(event["outcome"])
    if outcome not in _OUTCOME_METRIC:
        raise ValueError(f"unknown outcome {outcome!r}")
    if outcome == journey_outcomes.FAILED:
        # The error's name only: its cause can quote personal data (a message, an address).
        error = event.get("error")
        name = error.get("Error") if isinstance(error, dict) else None
        logger.warning("campaign journey failed", error=name, block=step.block)
    # Out of any wait first: once the journey is no longer running, nothing would take it out.
    metrics.leave_waiting(step.workspace_id, step.campaign_id, step.cio_id, step.execution, step.journey)
    ended = journeys.finished(
        step.workspace_id, step.campaign_id, step.cio_id, step.execution, outcome, step.journey
    )
    if ended:
        step.count(_OUTCOME_METRIC[outcome])
        if step.block:
            step.count(_OUTCOME_METRIC[outcome], block=step.block)
    return {"outcome": outcome, "ended": ended}


# -- messages -------------------------------------------------------------------------------------------


def send(event: dict[str, Any]) -> dict[str, Any]:
    """Queue the block's message through the delivery pipeline, unless the person no longer matches the
    campaign's filters (checked before every message, whatever the exit setting)."""
    step = Step.of(event)
    filters = event.get("filters")
    if filters is not None and not _matches(step.person(), filters):
        step.wait(event, NEXT)  # no message, but the journey goes on all the same
        return {"queued": False, "skipped": "unmatched"}
    block = str(step.block)
    new = campaign_delivery(
        JourneyRef(step.workspace_id, step.campaign_id, step.cio_id, step.execution),
        block,
        step.trigger,
        event,
        visit=str(event["visit"]) if event.get("visit") else None,
    )
    delivery_id = new.delivery_id
    _, created = records.queue(step.workspace_id, new)
    if created:
        step.count(metrics.SENT, block=block)
        step.count(metrics.SENT)
    step.wait(event, NEXT)
    return {"queued": True, "delivery_id": delivery_id, "created": created}


# -- after a wait ---------------------------------------------------------------------------------------


def check(event: dict[str, Any]) -> dict[str, Any]:
    """After a wait, before the next block: the goal (record a conversion; exit on it when the campaign
    exits on goal) and the filters (exit when the person no longer matches, if the campaign exits when
    unmatched). ``{"exit": bool, "reason": "converted" | "unmatched" | "missing" | "", "block": ...}``."""
    step = Step.of(event)
    answer = _check(step, event)
    # The wait is over: out of this block, and into the next if it is a delay (not when exiting).
    step.wait(event, None if answer["exit"] else NEXT, leaving=step.block)
    return answer


def _check(step: Step, event: dict[str, Any]) -> dict[str, Any]:
    settings = event.get("settings") or {}
    exit_setting = settings.get("exit", "at_end")
    person = step.person()
    if person is None:
        return {"exit": True, "reason": "missing", "block": step.block}
    goal = event.get("goal")
    if goal and _goal_met(person, goal, step.entered_at, int(settings.get("goal_window_seconds", 604800))):
        if journeys.mark_converted(
            step.workspace_id, step.campaign_id, step.cio_id, step.execution, step.journey
        ):
            step.count(metrics.CONVERTED)
            if step.block:
                step.count(metrics.CONVERTED, block=step.block)
        if exit_setting == "on_goal":
            return {"exit": True, "reason": "converted", "block": step.block}
    filters = event.get("filters")
    if exit_setting == "when_unmatched" and filters is not None and not _matches(person, filters):
        return {"exit": True, "reason": "unmatched", "block": step.block}
    return {"exit": False, "reason": "", "block": step.block}


def _goal_met(person: StoredPerson, goal: dict[str, Any], entered_at: int, window: int) -> bool:
    """The goal event performed since the entry and within the window, or membership of the goal segment
    while the window is open. An event in the entry's own second counts."""
    if goal.get("event"):
        events = person.events(str(goal["event"]), None, entered_at, entered_at + window)
        return next(events, None) is not None
    if goal.get("segment_id"):
        return person.now <= entered_at + window and person.in_segment(str(goal["segment_id"]))
    return False


# -- choosing a way -------------------------------------------------------------------------------------


def condition(event: dict[str, Any]) -> dict[str, Any]:
    """A branch's or wait_until's condition: ``{"matched": bool}`` (and the wait_until's poll count,
    handed back so the state machine can count polls without a state of its own)."""
    step = Step.of(event)
    matched = _matches(step.person(), event["condition"])
    result: dict[str, Any] = {"matched": matched}
    if "poll" in event:
        result["poll"] = event["poll"]
    # A wait_until's later polls: the person is waiting already, and a match goes through the check.
    if "poll" not in event or int(event["poll"]) == 1:
        step.wait(event, "true" if matched else "false")
    return result


def split(event: dict[str, Any]) -> dict[str, Any]:
    """A multi_split: the first branch whose condition matches, -1 for the default."""
    step = Step.of(event)
    person = step.person()
    branch = next(
        (i for i, branch_condition in enumerate(event["conditions"]) if _matches(person, branch_condition)),
        -1,
    )
    step.wait(event, "default" if branch < 0 else str(branch))
    return {"branch": branch}


def cohort(event: dict[str, Any]) -> dict[str, Any]:
    """A random_split: the branch for the person's bucket (0..99, from a hash of campaign, block and
    person), so the same person always lands in the same branch."""
    step = Step.of(event)
    branch = cohort_of(step.campaign_id, str(step.block), step.cio_id, event["percents"])
    step.wait(event, str(branch))
    return {"branch": branch}


# -- time windows ---------------------------------------------------------------------------------------


def window(event: dict[str, Any]) -> dict[str, Any]:
    """A time_window: ``{"wait_seconds": n}``, the real seconds until the window next opens in the
    person's ``timezone`` attribute (else the campaign's), 0 when it is open now."""
    step = Step.of(event)
    person = step.person()
    zone = _zone(person.attributes.get("timezone") if person else None) or _zone(event.get("timezone"))
    now = clock.now()
    virtual = seconds_until_open(now, zone or ZoneInfo("UTC"), event.get("hours"), event.get("days"))
    # The local runtime scales only literal Wait seconds; this one arrives through SecondsPath.
    wait_seconds = clock.real_seconds(virtual)
    step.wait(event, "wait" if wait_seconds > 0 else NEXT)  # open now: no wait, nothing counted
    return {"wait_seconds": wait_seconds}


def _zone(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # not an IANA name: fall back


def in_window(moment: datetime, hours: Sequence[int] | None, days: Sequence[str] | None) -> bool:
    """Local ``moment`` is on an allowed day and in the allowed hours. ``hours`` [start, end) with
    start > end wrapping past midnight (each hour judged by its own day); none means all day."""
    if days and DAYS[moment.weekday()] not in days:
        return False
    if not hours:
        return True
    start, stop = int(hours[0]), int(hours[1])
    if start == stop:
        return True
    if start < stop:
        return start <= moment.hour < stop
    return moment.hour >= start or moment.hour < stop


def seconds_until_open(
    now: int, zone: ZoneInfo, hours: Sequence[int] | None, days: Sequence[str] | None
) -> int:
    """Seconds from ``now`` until the window opens (0 when open). Windows open on local hour
    boundaries, so the scan walks them (real instants, so DST days are right)."""
    if in_window(datetime.fromtimestamp(now, zone), hours, days):
        return 0
    local = datetime.fromtimestamp(now, zone)
    boundary = int(local.replace(minute=0, second=0, microsecond=0).timestamp())
    for _ in range(_SCAN_HOURS):
        boundary += _HOUR
        if in_window(datetime.fromtimestamp(boundary, zone), hours, days):
            return boundary - now
    return 0  # no allowed hour at all (validation prevents it): do not hold the person forever


# -- changes to the person ------------------------------------------------------------------------------


def set_attribute(event: dict[str, Any]) -> dict[str, Any]:
    """Identify the person with ``{attribute: value}``, as the Track API would, so segments and triggers
    see the change like any other."""
    step = Step.of(event)
    value = json.loads(event["value_json"])
    try:
        attributes = {str(event["attribute"]): value}
        identify(step.workspace_id, PersonRef("cio_id", step.cio_id), IdentifyRequest.parse(attributes))
        done = True
    except NotFound:
        done = False  # the person was deleted meanwhile
    step.wait(event, NEXT)
    return {"set": done}


def segment(event: dict[str, Any]) -> dict[str, Any]:
    """Add the person to, or remove them from, a manual segment (``operation``)."""
    step = Step.of(event)
    body = {"ids": [step.cio_id]}
    segment_id = str(event["segment_id"])
    if event["operation"] == "add":
        segments.add_customers(step.workspace_id, segment_id, body, "cio_id")
    elif event["operation"] == "remove":
        segments.remove_customers(step.workspace_id, segment_id, body, "cio_id")
    else:
        raise ValueError(f"unknown segment operation {event['operation']!r}")
    step.wait(event, NEXT)
    return {"operation": event["operation"], "segment_id": segment_id}


def _broadcast_page(event: dict[str, Any]) -> dict[str, Any]:
    """One page of a broadcast's fan-out (the broadcast state machine's Task)."""
    # Imported here, the one import inside a function that pays: broadcasts (with delivery settings, the
    # segment definitions and the store) adds about 100 ms, a third, to every campaigns function cold
    # start, and only the broadcast machine's Task uses it (bench/README.md, "Import structure").
    from nudge.campaigns.broadcasts import page_step

    return page_step(event)


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "enter": enter,
    "end": end,
    "send": send,
    "check": check,
    "condition": condition,
    "split": split,
    "cohort": cohort,
    "window": window,
    "set_attribute": set_attribute,
    "segment": segment,
    "broadcast_page": _broadcast_page,
}


def run(event: dict[str, Any]) -> dict[str, Any]:
    """The step ``event["action"]`` names, on ``event``."""
    action = event.get("action")
    step = ACTIONS.get(action) if isinstance(action, str) else None
    if step is None:
        raise UnknownAction(f"unknown campaign step {action!r}")
    try:
        return step(event)
    except aws_errors.STORAGE_ERRORS as exc:
        if not aws_errors.is_transient_storage(exc):
            raise  # a refusal a retry cannot fix: the journey's Catch ends it as failed
        reason = aws_errors.describe(aws_errors.cause_of(exc))
        raise TransientStorageError(f"campaign step {action}: {reason}") from exc
