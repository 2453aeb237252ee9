"""Sending a newsletter (``newsletters``): now, at a time, or at a local time in each recipient's time
zone, with an optional A/B test; cancelling one before it starts; test sends; metrics per variant.

Sending stores the schedule on the newsletter, moves it to ``sending`` and starts its broadcasts through
the broadcast fan-out (``broadcasts.fan_out``), which queues each page's messages itself
(``direct_sends``):

- without an A/B test, one broadcast to the whole audience, the variants (if several) split evenly;
- with one, two: the *test* broadcast sends the variants, split evenly, to ``test_percent`` of the
  audience (a deterministic bucket per person); the *rest* broadcast waits until ``wait_seconds`` after
  the test began, then its first page picks the variant with the best open or click rate (opened or
  clicked per message sent, from the variants' counters) and sends it to everyone outside the test group.

A schedule (``scheduled_at``) makes the broadcasts wait for it; ``local_time`` queues each message for
that wall-clock time in the person's ``timezone`` attribute (the newsletter's ``timezone`` otherwise, UTC
by default) as a scheduled delivery, released by the minutely sweep when its time comes.

Cancelling is for a newsletter not yet started: a draft, or one whose broadcasts have not run a page
(waiting for ``scheduled_at``). Its broadcasts then find it canceled and end without sending.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from pynamodb.exceptions import UpdateError

from nudge import clock
from nudge.campaigns import broadcasts, metrics, newsletters
from nudge.delivery import records, settings, states
from nudge.delivery.request_shapes import read
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model.base import condition_failed
from nudge.model.campaigns import BroadcastRequest, Newsletter
from nudge.segments.conditions import SegmentCondition, SegmentOperator, parse
from nudge.tracking import people
from nudge.tracking.identifiers import from_map

AB_SALT = "ab_test"  # the bucket every A/B test group is drawn from
VARIANT_METRICS = (
    states.SENT,
    states.DELIVERED,
    states.OPENED,
    states.CLICKED,
    states.CONVERTED,
    states.BOUNCED,
    states.UNSUBSCRIBED,
    states.FAILED,
)


def create(workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/newsletters``: store it, and send it when the body says when."""
    language = settings.load(workspace_id).template_language
    definition = newsletters.parse_definition(workspace_id, body, language)
    schedule = _schedule(body)
    if schedule is not None:
        _check_combination(definition, schedule)
    item = newsletters.create(workspace_id, definition)
    if schedule is not None:
        item = _send(workspace_id, item, schedule)
    return view(workspace_id, item)


def update(workspace_id: str, newsletter_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``PUT /v1/newsletters/{id}``: a draft's definition replaced by a create's body (without a schedule:
    ``POST .../send`` sends it); 409 once it is no longer a draft."""
    item = newsletters.load(workspace_id, newsletter_id)
    if _schedule(body) is not None:
        given = next(k for k in newsletters.SCHEDULE_FIELDS if body.get(k) not in (None, False))
        raise InvalidRequest(f"{given}: a draft is sent by POST /v1/newsletters/{{id}}/send", field=given)
    if item.state != newsletters.DRAFT:
        raise Conflict(f"newsletter {newsletter_id} is {item.state}: only a draft can be changed")
    language = settings.load(workspace_id).template_language
    definition = newsletters.parse_definition(workspace_id, body, language)
    newsletters.replace_definition(item, definition)
    return view(workspace_id, newsletters.load(workspace_id, newsletter_id))


def delete(workspace_id: str, newsletter_id: str) -> None:
    """``DELETE /v1/newsletters/{id}``: a draft or a canceled newsletter; 409 for one sending or sent."""
    newsletters.delete(newsletters.load(workspace_id, newsletter_id))


def send(workspace_id: str, newsletter_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/newsletters/{id}/send``: a draft sent now (``send_now`` or no field), at
    ``scheduled_at``, or at ``local_time``."""
    item = newsletters.load(workspace_id, newsletter_id)
    schedule = _schedule(body) or {"send_now": True}
    _check_combination(newsletters.definition_of(item), schedule)
    return view(workspace_id, _send(workspace_id, item, schedule))


def _schedule(body: dict[str, Any]) -> dict[str, Any] | None:
    schedule: dict[str, Any] | None = read(newsletters.SCHEDULE, body, ())
    return schedule


def _check_combination(definition: dict[str, Any], schedule: dict[str, Any]) -> None:
    if definition.get("ab_test") and "local_time" in schedule:
        # The test group's messages would go out over a day of time zones: no moment to judge them at.
        raise InvalidRequest("an A/B test cannot be sent at each recipient's local time", field="local_time")


def _send(workspace_id: str, item: Newsletter, schedule: dict[str, Any]) -> Newsletter:
    definition = newsletters.definition_of(item)
    definition["schedule"] = schedule
    now = clock.now()
    try:
        item.update(
            actions=[
                Newsletter.state.set(newsletters.SENDING),
                Newsletter.definition_json.set(json.dumps(definition, separators=(",", ":"))),
                Newsletter.sent_at.set(now),
                Newsletter.updated_at.set(now),
            ],
            condition=Newsletter.state == newsletters.DRAFT,
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise Conflict(f"newsletter {item.newsletter_id} is {item.state}, not a draft") from exc
        raise
    campaign_id = newsletters.campaign_id(item.newsletter_id)
    for phase, spec in _broadcasts(definition, schedule, now):
        broadcasts.fan_out(workspace_id, campaign_id, trigger_id(workspace_id, item, phase), spec)
    return item


def trigger_id(workspace_id: str, item: Newsletter, phase: str) -> str:
    """Unique across workspaces: the broadcast machine names its executions by it."""
    digest = hashlib.sha256(json.dumps([workspace_id, int(item.newsletter_id), phase]).encode()).hexdigest()
    return f"n{digest[:23]}"


PHASES = ("all", "test", "rest")


def _broadcasts(
    definition: dict[str, Any], schedule: dict[str, Any], now: int
) -> list[tuple[str, dict[str, Any]]]:
    audience = _audience(definition.get("recipients"))
    if "local_time" in schedule:
        audience["local_time"] = {**schedule["local_time"], "timezone": definition.get("timezone", "UTC")}
    test = definition.get("ab_test")
    if not test:
        return [("all", audience)]
    percent = test["test_percent"]
    start = max(now, int(schedule.get("scheduled_at") or now))
    blocks = [newsletters.block_of(n) for n in range(1, len(definition["variants"]) + 1)]
    return [
        ("test", {**audience, "cohort": {"salt": AB_SALT, "percent": percent, "part": "in"}}),
        (
            "rest",
            {
                **audience,
                "cohort": {"salt": AB_SALT, "percent": percent, "part": "out"},
                "winner_of": {"metric": newsletters.METRICS[test["metric"]], "blocks": blocks},
                "not_before": start + int(test["wait_seconds"]),
            },
        ),
    ]


def _audience(recipients: dict[str, Any] | None) -> dict[str, Any]:
    """The broadcast's recipient spec: a segment's members, a filter over everyone, or everyone."""
    if recipients is None:
        return {"kind": "filter", "condition": None, "data": {}}
    condition = parse(recipients)
    if isinstance(condition, SegmentCondition) and condition.operator is SegmentOperator.IN:
        return {"kind": "segment", "segment_id": condition.segment_id, "data": {}}
    return {"kind": "filter", "condition": recipients, "data": {}}


def cancel(workspace_id: str, newsletter_id: str) -> dict[str, Any]:
    """Cancel a newsletter that has not started: a draft, or one whose broadcasts ran no page yet."""
    item = newsletters.load(workspace_id, newsletter_id)
    if item.state == newsletters.SENDING and any(
        status not in (None, broadcasts.QUEUED) for status in _statuses(workspace_id, item).values()
    ):
        raise Conflict(f"newsletter {newsletter_id} has started sending: it can no longer be canceled")
    if item.state not in (newsletters.DRAFT, newsletters.SENDING):
        raise Conflict(f"newsletter {newsletter_id} is {item.state}")
    try:
        item.update(
            actions=[Newsletter.state.set(newsletters.CANCELED), Newsletter.updated_at.set(clock.now())],
            condition=Newsletter.state == item.state,
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise Conflict(f"newsletter {newsletter_id} changed meanwhile; read it again") from exc
        raise
    return view(workspace_id, item)


def _statuses(workspace_id: str, item: Newsletter) -> dict[str, str | None]:
    campaign_id = newsletters.campaign_id(item.newsletter_id)
    return {
        phase: broadcasts.status_of(workspace_id, campaign_id, trigger_id(workspace_id, item, phase))
        for phase in PHASES
    }


def view(workspace_id: str, item: Newsletter) -> dict[str, Any]:
    """The newsletter, with its broadcasts' progress and, once decided, its A/B test's winner."""
    found = newsletters.view(item)
    campaign_id = newsletters.campaign_id(item.newsletter_id)
    progress = {}
    for phase, status in _statuses(workspace_id, item).items():
        if status is None:
            continue
        known = broadcasts.status_view(workspace_id, campaign_id, trigger_id(workspace_id, item, phase))
        progress[phase] = {key: known[key] for key in ("status", "recipients", "started", "skipped")}
    found["broadcasts"] = progress
    if (
        item.state == newsletters.SENDING
        and progress
        and all(p["status"] == "done" for p in progress.values())
    ):
        found["state"] = "sent"
    found["winner_content_id"] = _winner(workspace_id, item)
    return found


def _winner(workspace_id: str, item: Newsletter) -> int | None:
    pk = broadcasts.broadcast_pk(
        workspace_id, newsletters.campaign_id(item.newsletter_id), trigger_id(workspace_id, item, "rest")
    )
    try:
        request = BroadcastRequest.get(pk, broadcasts.REQUEST_SK, consistent_read=True)
    except BroadcastRequest.DoesNotExist:
        return None
    return int(request.winner.removeprefix("v")) if request.winner else None


# --- metrics ---------------------------------------------------------------------------------------


def metrics_view(workspace_id: str, newsletter_id: str) -> dict[str, Any]:
    """The newsletter's totals and each variant's (content id): sent, delivered, opened, clicked,
    converted, bounced, unsubscribed, failed."""
    item = newsletters.load(workspace_id, newsletter_id)
    counts = metrics.read(workspace_id, newsletters.campaign_id(item.newsletter_id))
    variants = len(newsletters.definition_of(item)["variants"])
    by_block = counts["blocks"]
    per_variant = {
        str(n): _metrics_of(by_block.get(newsletters.block_of(n)) or {}) for n in range(1, variants + 1)
    }
    return {"metric": _metrics_of(counts["campaign"]), "variants": per_variant}


def variant_metrics(workspace_id: str, newsletter_id: str, content_id: int) -> dict[str, Any]:
    item = newsletters.load(workspace_id, newsletter_id)
    newsletters.variant_view(item, content_id)  # 404 for an unknown content id
    counts = metrics.read(workspace_id, newsletters.campaign_id(item.newsletter_id))["blocks"]
    return {"metric": _metrics_of(counts.get(newsletters.block_of(content_id)) or {})}


def _metrics_of(counts: dict[str, int]) -> dict[str, int]:
    return {name: int(counts.get(name, 0)) for name in VARIANT_METRICS}


# --- test sends ------------------------------------------------------------------------------------


def test_send(workspace_id: str, newsletter_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Send one variant (``content_id``, 1 by default) to one person (``identifiers``) now, whatever the
    newsletter's state: not counted in its metrics, not against the message limit, sent even to an
    unsubscribed person (they asked for a proof)."""
    item = newsletters.load(workspace_id, newsletter_id)
    content_id = read(newsletters.CONTENT_ID, body.get("content_id", 1), ("content_id",))
    try:
        variant = newsletters.variant_view(item, content_id)
    except NotFound as exc:
        raise InvalidRequest(str(exc), field="content_id") from exc
    ref = from_map(body.get("identifiers"), allow_phone=False)
    cio_id = people.resolve_cio_id(workspace_id, ref)
    if cio_id is None:
        raise NotFound("no such person: test sends go to people already in the workspace")
    definition = newsletters.definition_of(item)
    content = {k: v for k, v in variant.items() if k not in ("id", "newsletter_id")}
    delivery, _ = records.queue(
        workspace_id,
        records.NewDelivery(
            delivery_id=secrets.token_hex(16),  # each test send is its own message
            cio_id=cio_id,
            channel=definition["channel"],
            source="transactional",
            request={
                "content": content,
                "language": definition.get("language"),
                "transactional": True,
                "send_to_unsubscribed": True,
                "newsletter_test": int(item.newsletter_id),
            },
        ),
    )
    return {"delivery_id": delivery.delivery_id, "queued_at": int(delivery.queued_at)}
