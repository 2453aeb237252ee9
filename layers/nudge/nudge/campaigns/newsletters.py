"""Newsletters: one message (or A/B variants of it) sent once to an audience, Customer.io's shape
(``POST /v1/newsletters``), stored here; sent by ``newsletter_sends`` through the broadcast fan-out.

A newsletter runs as a campaign would, under the campaign id ``nl-<id>`` (:func:`campaign_id`): its
messages are campaign messages of that id, each variant a send block (``v1``, ``v2``...: the variant's
``content_id`` is its number), so its broadcasts, per-variant metrics (the blocks' counters) and
delivery feedback are the campaigns' own. :func:`as_campaign` is the campaign a broadcast page reads:
one send block, or a random split over the variants; either way the page queues the messages itself,
with no execution per person (``direct_sends``).

The body (``POST /v1/newsletters``)::

    {"name": "Weekly", "type": "email",                         # email | sms (or twilio) | push | in_app
     "recipients": <filter: and / or / not of segment {id} and attribute conditions>,   # absent: everyone
     "subject": "...", "body": "...", "from": "...", ...       # one message: the channel's inline fields
     "variants": [{"subject": ..., "body": ..., "from": ...}, ...],   # or A/B variants (2..5)
     "ab_test": {"test_percent": 20, "metric": "open" | "click", "wait_seconds": 3600},  # optional
     "send_now": true | "scheduled_at": <unix seconds> |
     "local_time": {"date": "2026-12-24", "time": "09:00"},   # each recipient's own time zone
     "timezone": "Europe/Paris",                               # for people without a valid ``timezone``
     "subscription_topic_id": 4}                               # optional: the topic its messages belong to

Without ``send_now``, ``scheduled_at`` or ``local_time`` it is a draft, sent later by
``POST /v1/newsletters/{id}/send`` (which takes the same schedule fields).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from nudge import clock
from nudge.campaigns.definition import TOPIC_CHANNELS
from nudge.delivery import states, templates
from nudge.delivery.channel_names import cio_name
from nudge.delivery.request_shapes import INLINE, INLINE_REQUIRED, SEND_CHANNELS
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model.base import condition_failed
from nudge.model.campaigns import Newsletter, NewsletterCounter
from nudge.segments import definitions
from nudge.segments.conditions import ConditionError, parse, referenced_segments, to_json
from nudge.subscriptions import topics

PREFIX = "nl-"
DRAFT, SENDING, CANCELED = "draft", "sending", "canceled"
# A newsletter's ``type`` -> its channel: a transactional send's channels, each also by Customer.io's name.
CHANNEL_NAMES = {
    name: channel for channel in SEND_CHANNELS for name in dict.fromkeys((channel, cio_name(channel)))
}
MAX_VARIANTS = 5
MAX_NAME = 190
METRICS = {"open": states.OPENED, "click": states.CLICKED}  # an A/B test's metric -> what it counts
_SK_COUNTER = "counter"


def newsletters_pk(workspace_id: str) -> str:
    return f"{workspace_id}#newsletters"


def campaign_id(newsletter_id: float | str) -> str:
    """The campaign id a newsletter's broadcasts, messages and metrics go under."""
    return f"{PREFIX}{int(newsletter_id)}"


def is_newsletter(campaign: str) -> bool:
    return campaign.startswith(PREFIX)


def block_of(content_id: int) -> str:
    return f"v{content_id}"


# --- the definition --------------------------------------------------------------------------------


def parse_definition(workspace_id: str, body: dict[str, Any], language: str) -> dict[str, Any]:
    """The body as stored: ``{name, channel, variants: [content], recipients, ab_test, timezone}``, or
    InvalidRequest naming the field and the rule."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidRequest(f"name must be a string of 1 to {MAX_NAME} characters", field="name")
    kind = body.get("type", "email")
    channel = CHANNEL_NAMES.get(kind) if isinstance(kind, str) else None
    if channel is None:
        raise InvalidRequest(f"type must be one of {', '.join(CHANNEL_NAMES)}", field="type")
    if body.get("variants") is not None:
        raw = body["variants"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VARIANTS:
            raise InvalidRequest(f"variants must be a list of 1 to {MAX_VARIANTS} messages", field="variants")
        variants = [_content(channel, v, f"variants.{i}", language) for i, v in enumerate(raw)]
    else:
        variants = [_content(channel, body, "", language)]
    definition: dict[str, Any] = {
        "name": name.strip(),
        "channel": channel,
        "language": language,
        "variants": variants,
        "recipients": _recipients(workspace_id, body.get("recipients")),
        "ab_test": _ab_test(body.get("ab_test"), len(variants)),
        "timezone": _timezone(body.get("timezone"), "timezone"),
    }
    if body.get("subscription_topic_id") is not None:
        definition["topic_id"] = _topic(workspace_id, channel, body["subscription_topic_id"])
    return definition


def _topic(workspace_id: str, channel: str, value: Any) -> int:
    """The subscription topic the newsletter's messages carry: the send gate then skips people who left
    it (or never joined an opt-in one), as it does for a campaign's send block naming it."""
    field = "subscription_topic_id"
    if channel not in TOPIC_CHANNELS:
        raise InvalidRequest(f"{field} applies to {', '.join(TOPIC_CHANNELS)} newsletters only", field=field)
    topic_id = topics.parse_id(value, field)
    if topics.find(topics.list_topics(workspace_id), topic_id) is None:
        raise InvalidRequest(f"{field} names no subscription topic of this workspace: {value}", field=field)
    return topic_id


def _content(channel: str, value: Any, path: str, language: str) -> dict[str, Any]:
    at = (lambda name: f"{path}.{name}") if path else (lambda name: name)
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path} must be an object", field=path)
    content: dict[str, Any] = {}
    for name in INLINE[channel]:
        text = value.get(name)
        if text is None:
            continue
        if not isinstance(text, str):
            raise InvalidRequest(f"{at(name)} must be a string", field=at(name))
        try:
            templates.check(text, language)
        except templates.TemplateError as exc:
            raise InvalidRequest(f"{at(name)} is not a valid template: {exc.reason}", field=at(name)) from exc
        content[name] = text
    for name in INLINE_REQUIRED[channel]:
        if name not in content:
            raise InvalidRequest(f"{at(name)} is required for a {channel} newsletter", field=at(name))
    return content


def _recipients(workspace_id: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None  # everyone
    try:
        condition = parse(value)
    except ConditionError as exc:
        path = f"recipients.{exc.path}" if exc.path else "recipients"
        raise InvalidRequest(f"{path}: {exc.message}", field=path, reason=exc.rule) from exc
    for segment in sorted(referenced_segments(condition)):
        try:
            definitions.load(workspace_id, segment)
        except NotFound as exc:
            raise InvalidRequest(f"segment {segment} not found", field="recipients") from exc
    return to_json(condition)


def _ab_test(value: Any, variants: int) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest("ab_test must be an object", field="ab_test")
    if variants < 2:
        raise InvalidRequest("an A/B test needs at least two variants", field="ab_test")
    percent = value.get("test_percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
        raise InvalidRequest("test_percent must be an integer from 1 to 99", field="ab_test.test_percent")
    metric = value.get("metric", "open")
    if metric not in METRICS:
        raise InvalidRequest("metric must be open or click", field="ab_test.metric")
    wait = value.get("wait_seconds")
    if isinstance(wait, bool) or not isinstance(wait, int) or not 60 <= wait <= 30 * 86400:
        raise InvalidRequest(
            "wait_seconds must be an integer from 60 to 2592000", field="ab_test.wait_seconds"
        )
    return {"test_percent": percent, "metric": metric, "wait_seconds": wait}


def _timezone(value: Any, field: str) -> str:
    if value is None:
        return "UTC"
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(f"{field} must be an IANA time zone name", field=field) from exc
    return str(value)


# --- storing ---------------------------------------------------------------------------------------


def create(workspace_id: str, definition: dict[str, Any]) -> Newsletter:
    counter = NewsletterCounter(newsletters_pk(workspace_id), _SK_COUNTER, workspace_id=workspace_id)
    counter.update(actions=[NewsletterCounter.value.add(1), NewsletterCounter.kind.set(NewsletterCounter)])
    now = clock.now()
    item = Newsletter(
        newsletters_pk(workspace_id),
        f"n#{int(counter.value):010d}",
        workspace_id=workspace_id,
        newsletter_id=int(counter.value),
        name=definition["name"],
        state=DRAFT,
        definition_json=json.dumps(definition, separators=(",", ":")),
        created_at=now,
        updated_at=now,
    )
    item.save(condition=Newsletter.pk.does_not_exist())
    return item


def load(workspace_id: str, newsletter_id: int | str) -> Newsletter:
    try:
        number = int(str(newsletter_id).removeprefix(PREFIX))
    except ValueError as exc:
        raise NotFound(f"newsletter {newsletter_id} not found") from exc
    try:
        return Newsletter.get(newsletters_pk(workspace_id), f"n#{number:010d}", consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"newsletter {newsletter_id} not found") from exc


def replace_definition(item: Newsletter, definition: dict[str, Any]) -> None:
    """A draft's definition replaced (its name too); Conflict when it is no longer a draft."""
    try:
        item.update(
            actions=[
                Newsletter.name.set(definition["name"]),
                Newsletter.definition_json.set(json.dumps(definition, separators=(",", ":"))),
                Newsletter.updated_at.set(clock.now()),
            ],
            condition=Newsletter.state == DRAFT,
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise Conflict(
                f"newsletter {item.newsletter_id} is not a draft: it can no longer be changed"
            ) from exc
        raise


def delete(item: Newsletter) -> None:
    """A draft or canceled newsletter removed; Conflict for one sending or sent (its messages and metrics
    stay theirs)."""
    try:
        item.delete(condition=Newsletter.state.is_in(DRAFT, CANCELED))
    except DeleteError as exc:
        if condition_failed(exc):
            said = f"newsletter {item.newsletter_id} is {item.state}"
            said += ": only a draft or a canceled one can be deleted"
            raise Conflict(said) from exc
        raise


def list_newsletters(workspace_id: str) -> list[Newsletter]:
    found = Newsletter.query(newsletters_pk(workspace_id), Newsletter.sk.startswith("n#"))
    return [item for item in found if isinstance(item, Newsletter)]


def definition_of(item: Newsletter) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(item.definition_json)
    return loaded


def view(item: Newsletter) -> dict[str, Any]:
    """Customer.io's newsletter object, with Nudge's state and schedule."""
    definition = definition_of(item)
    recipients = definition.get("recipients")
    segments = sorted(referenced_segments(parse(recipients))) if recipients else []
    schedule = definition.get("schedule") or {}
    return {
        "id": int(item.newsletter_id),
        "name": item.name,
        "type": definition["channel"],
        "content_ids": list(range(1, len(definition["variants"]) + 1)),
        "recipient_segment_ids": [int(s) if s.isdigit() else s for s in segments],
        "state": item.state,
        "scheduled_at": schedule.get("scheduled_at"),
        "local_time": schedule.get("local_time"),
        "ab_test": definition.get("ab_test"),
        "subscription_topic_id": definition.get("topic_id"),
        # Nudge's: the audience's filter itself (null: everyone) and the zone for people without one.
        "recipients": recipients,
        "timezone": definition.get("timezone", "UTC"),
        "sent_at": int(item.sent_at) if item.sent_at is not None else None,
        "created": int(item.created_at),
        "updated": int(item.updated_at),
        "deduplicate_id": f"{int(item.newsletter_id)}:{int(item.updated_at)}",
        "tags": [],
    }


def variant_view(item: Newsletter, content_id: int) -> dict[str, Any]:
    variants = definition_of(item)["variants"]
    if not 1 <= content_id <= len(variants):
        raise NotFound(f"content {content_id} of newsletter {item.newsletter_id} not found")
    return {"id": content_id, "newsletter_id": int(item.newsletter_id), **variants[content_id - 1]}


# --- as the broadcast fan-out reads it ---------------------------------------------------------------


def as_campaign(workspace_id: str, newsletter_campaign: str) -> dict[str, Any] | None:
    """The campaign a broadcast page reads for a newsletter, None when there is no such newsletter."""
    try:
        item = load(workspace_id, newsletter_campaign)
    except NotFound:
        return None
    definition = definition_of(item)
    variants = definition["variants"]
    blocks: dict[str, Any] = {
        block_of(n): {
            "type": "send",
            "channel": definition["channel"],
            "content": content,
            **({"topic_id": definition["topic_id"]} if definition.get("topic_id") else {}),
        }
        for n, content in enumerate(variants, start=1)
    }
    if len(variants) == 1:
        workflow = {"start": block_of(1), "blocks": blocks}
    else:
        share = 100 / len(variants)
        split = {
            "type": "random_split",
            "branches": [{"percent": share, "next": block_of(n)} for n in range(1, len(variants) + 1)],
        }
        workflow = {"start": "split", "blocks": {"split": split, **blocks}}
    schedule = definition.get("schedule") or {}
    return {
        "id": campaign_id(item.newsletter_id),
        "name": item.name,
        # Only a newsletter being sent is active: a draft's or a canceled one's pages send nothing.
        "state": "active" if item.state == SENDING else item.state,
        "trigger": {"type": "broadcast", "send_at": schedule.get("scheduled_at")},
        "filters": None,
        "workflow": workflow,
        "settings": {"frequency": {"type": "once"}},
        "language": definition.get("language"),
    }
