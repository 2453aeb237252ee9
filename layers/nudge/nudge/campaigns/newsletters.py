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
import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from nudge import clock
from nudge.campaigns.definition import TOPIC_CHANNELS
from nudge.delivery import states, templates
from nudge.delivery.channel_names import cio_name
from nudge.delivery.request_shapes import INLINE, INLINE_REQUIRED, SEND_CHANNELS, read
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model.base import condition_failed
from nudge.model.campaigns import Newsletter, NewsletterCounter
from nudge.segments import definitions
from nudge.segments.conditions import (
    CONDITION_SCHEMA,
    Condition,
    ConditionError,
    parse,
    referenced_segments,
    to_json,
)
from nudge.shapes import NOT_BLANK, Defs, Described, Leaf, Path, ShapeError
from nudge.subscriptions import topics
from nudge.tracking.identifiers import identifiers_schema

PREFIX = "nl-"
DRAFT, SENDING, CANCELED = "draft", "sending", "canceled"
# A newsletter's ``type`` -> its channel: a transactional send's channels, each also by Customer.io's name.
CHANNEL_NAMES = {
    name: channel for channel in SEND_CHANNELS for name in dict.fromkeys((channel, cio_name(channel)))
}
MAX_VARIANTS = 5
MAX_NAME = 190
LONGEST_WAIT = 30 * 86400  # an A/B test's wait_seconds
METRICS = {"open": states.OPENED, "click": states.CLICKED}  # an A/B test's metric -> what it counts
_SK_COUNTER = "counter"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def newsletters_pk(workspace_id: str) -> str:
    return f"{workspace_id}#newsletters"


def campaign_id(newsletter_id: float | str) -> str:
    """The campaign id a newsletter's broadcasts, messages and metrics go under."""
    return f"{PREFIX}{int(newsletter_id)}"


def is_newsletter(campaign: str) -> bool:
    return campaign.startswith(PREFIX)


def block_of(content_id: int) -> str:
    return f"v{content_id}"


# --- the bodies: each field's check and its schema side by side (``nudge.shapes``) -------------------
#
# ``parse_definition`` reads the fields through these in its own order, between the checks that need the
# workspace (segments, topics, the template language) or a sibling (the channel, the variant count);
# ``body_schema`` writes the routes' JSON Schemas from the same declarations.


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _read_name(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise ShapeError(path, "invalid", f"name must be a string of 1 to {MAX_NAME} characters")
    return value.strip()


def _read_type(value: Any, path: Path) -> str:
    channel = CHANNEL_NAMES.get(value) if isinstance(value, str) else None
    if channel is None:
        raise ShapeError(path, "invalid", f"type must be one of {', '.join(CHANNEL_NAMES)}")
    return channel


def _read_variants(value: Any, path: Path) -> list[Any] | None:
    """The list; each variant's content is read for the channel (``_content``)."""
    if value is None:
        return None
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VARIANTS:
        raise ShapeError(path, "invalid", f"variants must be a list of 1 to {MAX_VARIANTS} messages")
    return value


def _read_recipients(value: Any, path: Path) -> Condition | None:
    """The filter (None: everyone); the segments it names are looked up after (``_recipients``)."""
    if value is None:
        return None
    try:
        return parse(value)
    except ConditionError as exc:
        where = (*path, *exc.path.split(".")) if exc.path else path
        raise ShapeError(where, exc.rule, f"{'.'.join(map(str, where))}: {exc.message}") from None


def _read_ab_test(value: Any, path: Path) -> dict[str, Any] | None:
    """The test's settings (that there are variants to test is checked with the variants)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ShapeError(path, "invalid", "ab_test must be an object")
    percent = value.get("test_percent")
    if not _whole(percent, 1, 99):
        raise ShapeError((*path, "test_percent"), "invalid", "test_percent must be an integer from 1 to 99")
    metric = value.get("metric", "open")
    if metric not in METRICS:
        raise ShapeError((*path, "metric"), "invalid", "metric must be open or click")
    wait = value.get("wait_seconds")
    if not _whole(wait, 60, LONGEST_WAIT):
        message = f"wait_seconds must be an integer from 60 to {LONGEST_WAIT}"
        raise ShapeError((*path, "wait_seconds"), "invalid", message)
    return {"test_percent": percent, "metric": metric, "wait_seconds": wait}


def _read_timezone(value: Any, path: Path) -> str:
    if value is None:
        return "UTC"
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ShapeError(path, "invalid", f"{path[-1]} must be an IANA time zone name") from None
    return str(value)


def _read_schedule(body: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """When to send (None: not said): one of send_now, scheduled_at, local_time; null or false is not
    given."""
    given = [k for k in SCHEDULE_FIELDS if body.get(k) not in (None, False)]
    if len(given) > 1:
        raise ShapeError((*path, given[1]), "invalid", "give one of send_now, scheduled_at or local_time")
    if not given:
        return None
    if given[0] == "send_now":
        if body["send_now"] is not True:
            raise ShapeError((*path, "send_now"), "invalid", "send_now must be true or false")
        return {"send_now": True}
    if given[0] == "scheduled_at":
        at = body["scheduled_at"]
        if isinstance(at, bool) or not isinstance(at, int) or at < 0:
            raise ShapeError((*path, "scheduled_at"), "invalid", "scheduled_at must be unix seconds")
        return {"scheduled_at": at}
    return {"local_time": _read_local_time(body["local_time"], (*path, "local_time"))}


def _is_date(text: str) -> bool:
    """YYYY-MM-DD and a day the calendar has (2026-13-40 would stop the newsletter's send, not its create)."""
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _read_local_time(local: Any, path: Path) -> dict[str, str]:
    if not isinstance(local, dict):
        raise ShapeError(path, "invalid", "local_time must be an object {date, time}")
    if not isinstance(local.get("date"), str) or not _is_date(local["date"]):
        raise ShapeError((*path, "date"), "invalid", "local_time.date must be YYYY-MM-DD")
    if not isinstance(local.get("time"), str) or not _TIME.match(local["time"]):
        raise ShapeError((*path, "time"), "invalid", "local_time.time must be HH:MM (24 hours)")
    return {"date": local["date"], "time": local["time"]}


def _read_content_id(value: Any, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(path, "invalid", "content_id must be an integer")
    return value


def _text(value: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "description": value}


NAME = Leaf(_read_name, {"type": "string", "maxLength": MAX_NAME, "pattern": NOT_BLANK})
TYPE = Described(Leaf(_read_type, {"enum": list(CHANNEL_NAMES)}), "the channel; default email")
# One message: the channel's inline fields (``INLINE``; those of ``INLINE_REQUIRED`` required), each
# template source in the newsletter's language, read by ``_content``.
_INLINE_NAMES = dict.fromkeys(name for names in INLINE.values() for name in names)
_CONTENT: dict[str, Any] = {
    "type": "object",
    "properties": {name: _text("template source") for name in _INLINE_NAMES},
    "description": "; ".join(f"{channel}: {', '.join(names)}" for channel, names in INLINE_REQUIRED.items())
    + " required",
}
VARIANTS = Leaf(
    _read_variants,
    {"type": ["array", "null"], "minItems": 1, "maxItems": MAX_VARIANTS, "items": _CONTENT},
)
RECIPIENTS = Described(
    Leaf(_read_recipients, {"anyOf": [{"type": "null"}, CONDITION_SCHEMA]}),
    "a filter over everyone; absent: everyone",
)
AB_TEST = Described(
    Leaf(
        _read_ab_test,
        {
            "type": ["object", "null"],
            "required": ["test_percent", "wait_seconds"],
            "properties": {
                "test_percent": {"type": "integer", "minimum": 1, "maximum": 99},
                "metric": {"enum": list(METRICS), "description": "default open"},
                "wait_seconds": {"type": "integer", "minimum": 60, "maximum": LONGEST_WAIT},
            },
        },
    ),
    "needs two variants or more",
)
TIMEZONE = Leaf(_read_timezone, _text("an IANA time zone name, for people without a valid one; default UTC"))
# Read by ``_topic`` (``topics.parse_id``, the channel, the workspace's topics).
_TOPIC: dict[str, Any] = {
    "type": ["integer", "string", "null"],
    "description": "a topic's id or identifier (4 or topic_4)",
}
SCHEDULE_FIELDS = ("send_now", "scheduled_at", "local_time")
SCHEDULE = Described(
    Leaf(
        _read_schedule,
        {
            "type": "object",
            "properties": {
                "send_now": {"type": ["boolean", "null"]},
                "scheduled_at": {"type": ["integer", "null"], "minimum": 0, "description": "unix seconds"},
                "local_time": {
                    "type": ["object", "null"],
                    "description": "this wall-clock time in each recipient's timezone attribute",
                    "required": ["date", "time"],
                    "properties": {
                        "date": {"type": "string", "pattern": _DATE.pattern, "format": "date"},
                        "time": {"type": "string", "pattern": _TIME.pattern},
                    },
                },
            },
        },
    ),
    "at most one of send_now, scheduled_at and local_time (null or false: not given)",
)


def body_schema(*, schedule: bool) -> dict[str, Any]:
    """A create's body (``schedule``: with when to send it; an update's has none), as ``parse_definition``
    reads it."""
    defs: Defs = {}
    properties = {
        "name": NAME.schema(defs),
        "type": TYPE.schema(defs),
        "recipients": RECIPIENTS.schema(defs),
        **_CONTENT["properties"],
        "variants": VARIANTS.schema(defs),
        "ab_test": AB_TEST.schema(defs),
        "timezone": TIMEZONE.schema(defs),
        "subscription_topic_id": _TOPIC,
    }
    if not schedule:
        return {"type": "object", "required": ["name"], "properties": properties}
    when = SCHEDULE.schema(defs)
    return {**when, "required": ["name"], "properties": {**properties, **when["properties"]}}


CONTENT_ID = Described(
    Leaf(_read_content_id, {"type": "integer", "minimum": 1}),
    "the variant to send (its content id); default 1",
)
# POST /v1/newsletters/{id}/test_send: ``identifiers`` read by ``from_map``, whose schema this is.
TEST_SEND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["identifiers"],
    "properties": {"identifiers": identifiers_schema(allow_phone=False), "content_id": CONTENT_ID.schema({})},
}


# --- the definition --------------------------------------------------------------------------------


def parse_definition(workspace_id: str, body: dict[str, Any], language: str) -> dict[str, Any]:
    """The body as stored: ``{name, channel, variants: [content], recipients, ab_test, timezone}``, or
    InvalidRequest naming the field and the rule."""
    name = read(NAME, body.get("name"), ("name",))
    channel = read(TYPE, body.get("type", "email"), ("type",))
    raw = read(VARIANTS, body.get("variants"), ("variants",))
    if raw is not None:
        variants = [_content(channel, v, f"variants.{i}", language) for i, v in enumerate(raw)]
    else:
        variants = [_content(channel, body, "", language)]
    definition: dict[str, Any] = {
        "name": name,
        "channel": channel,
        "language": language,
        "variants": variants,
        "recipients": _recipients(workspace_id, read(RECIPIENTS, body.get("recipients"), ("recipients",))),
        "ab_test": _ab_test(body.get("ab_test"), len(variants)),
        "timezone": read(TIMEZONE, body.get("timezone"), ("timezone",)),
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


def _recipients(workspace_id: str, condition: Condition | None) -> dict[str, Any] | None:
    if condition is None:
        return None  # everyone
    for segment in sorted(referenced_segments(condition)):
        try:
            definitions.load(workspace_id, segment)
        except NotFound as exc:
            raise InvalidRequest(f"segment {segment} not found", field="recipients") from exc
    return to_json(condition)


def _ab_test(value: Any, variants: int) -> dict[str, Any] | None:
    if isinstance(value, dict) and variants < 2:  # told after "must be an object", before its fields
        raise InvalidRequest("an A/B test needs at least two variants", field="ab_test")
    ab_test: dict[str, Any] | None = read(AB_TEST, value, ("ab_test",))
    return ab_test


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
