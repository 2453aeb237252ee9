"""The Pipelines API's calls (Customer.io's Data Pipelines, Segment's spec) as the Track API calls they
stand for: each one is translated and handed to the same domain functions the Track API's routes call, so
a call lands exactly as its Track API twin would (people, events, page views, objects, merges, and what
the streams do with them: segments, campaign triggers, metering).

| call | lands as |
|---|---|
| ``identify`` {userId, traits, anonymousId} | ``PUT /api/v1/customers/{userId}``: traits, ``anonymous_id`` |
| ``track`` {event, properties} | an event (``/customers/{userId}/events``, or ``/api/v1/events`` anonymous) |
| ``page`` {name, properties.url} | an event of type ``page`` named by its URL |
| ``screen`` {name} | an event of type ``screen`` named by the screen |
| ``group`` {groupId, traits.objectTypeId} | a v2 object identify, related to the person |
| ``alias`` {previousId, userId} | ``merge_customers``: previousId's person and events go to userId |

``userId`` is read as a Track API path identifier is (``cio_<x>``, an email, or else an id). ``messageId``
is an event's id, so a track, page or screen call sent twice is stored once; an identify carries its
``timestamp`` as ``_timestamp``, so a repeat (or an older call arriving late) never overwrites anything
newer; a merge re-run is harmless. ``timestamp`` is corrected for the sender's clock by ``sentAt`` as
Segment does: the call happened ``sentAt - timestamp`` before the request arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nudge.errors import InvalidRequest
from nudge.http import track_operations
from nudge.tracking import events, merge, people
from nudge.tracking.identifiers import PersonRef, from_identifier
from nudge.tracking.identify_request import IdentifyRequest
from nudge.tracking.limits import byte_len, check_identifier, check_timestamp, optional_identifier

# Customer.io: "A request is limited to 32KB. A batch request is limited to 500KB total and 32KB per call
# in the request." Its Python client counts 32 << 10 bytes a call, so that much must be accepted.
MAX_CALL_BYTES = 32 << 10
MAX_BATCH_BYTES = 500 << 10
CALL_TYPES = ("identify", "track", "page", "screen", "group", "alias")
# A group call names its object type in traits.objectTypeId; Customer.io's default type is "1".
DEFAULT_OBJECT_TYPE_ID = "1"
_OBJECT_TYPE_TRAITS = ("objectTypeId", "object_type_id")
_RELATIONSHIP_TRAITS = ("relationshipAttributes", "relationship_attributes")


@dataclass(frozen=True)
class Arrival:
    """What a request tells about when its calls were made: when it arrived, and the sender's ``sentAt``
    (a batch's, which each call may override)."""

    received_at: float
    sent_at: float | None = None


def check_call_type(value: Any) -> str:
    if not isinstance(value, str) or value not in CALL_TYPES:
        raise InvalidRequest(f"type must be one of {', '.join(CALL_TYPES)}", field="type")
    return value


def parse_time(value: Any, field: str) -> float | None:
    """An ISO-8601 date-time (Segment's spec; without an offset it is UTC), or unix seconds."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidRequest(
                f"{field} must be an ISO-8601 date-time", field=field, reason="type"
            ) from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        seconds = parsed.timestamp()
        check_timestamp(int(seconds), field)  # within the years anything can store
        return seconds
    return float(check_timestamp(value, field) or 0)


def apply(workspace_id: str, call: Any, arrival: Arrival, call_type: str | None = None) -> None:
    """Apply one call (``call_type`` is the route's; a batch's calls name their own ``type``). Raises
    ``InvalidRequest`` for a call that breaks a rule, before anything of it is written."""
    if not isinstance(call, dict):
        raise InvalidRequest("each call must be a JSON object", field="batch", reason="type")
    if byte_len(call) > MAX_CALL_BYTES:
        raise InvalidRequest(
            f"a call cannot be longer than {MAX_CALL_BYTES} bytes", field="", reason="too_long"
        )
    kind = call_type or check_call_type(call.get("type"))
    _APPLY[kind](workspace_id, _Call.parse(call, arrival))


@dataclass(frozen=True)
class _Call:
    body: dict[str, Any]
    user: PersonRef | None
    anonymous_id: str | None
    message_id: str | None
    timestamp: int | None

    @classmethod
    def parse(cls, call: dict[str, Any], arrival: Arrival) -> _Call:
        user_id = optional_identifier(call.get("userId"), "userId")
        sent = parse_time(call.get("sentAt"), "sentAt")
        return cls(
            call,
            None if user_id is None else from_identifier(user_id, "userId"),
            optional_identifier(call.get("anonymousId"), "anonymousId"),
            optional_identifier(call.get("messageId"), "messageId"),
            _corrected(parse_time(call.get("timestamp"), "timestamp"), sent or arrival.sent_at, arrival),
        )

    def object(self, name: str) -> dict[str, Any]:
        value = self.body.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise InvalidRequest(f"{name} must be an object", field=name, reason="type")
        return value

    def person(self) -> PersonRef:
        if self.user is None:
            raise InvalidRequest("userId must be present", field="userId", reason="required")
        return self.user


def _corrected(timestamp: float | None, sent_at: float | None, arrival: Arrival) -> int | None:
    """Segment's clock-skew correction: a sender whose clock is off by some minutes is off by as much in
    ``timestamp`` and ``sentAt``, so the call happened ``sentAt - timestamp`` before the request arrived."""
    if timestamp is None:
        return None
    if sent_at is not None:
        timestamp = arrival.received_at - (sent_at - timestamp)
    return check_timestamp(int(max(timestamp, 0)))


def _identify(workspace_id: str, call: _Call) -> None:
    traits = call.object("traits")
    ref = call.user
    if ref is None:
        # Nudge keeps no anonymous profiles (an anonymous id's events wait for the identify naming it), so
        # an identify needs a person: its userId, or else an email trait, as Customer.io identifies by.
        email = traits.get("email")
        if email in (None, ""):
            raise InvalidRequest(
                "userId (or traits.email) must be present", field="userId", reason="required"
            )
        ref = from_identifier(email, "traits.email")
    body = dict(traits)
    # Segment's reserved trait for the signup date, as the Track API's created_at (unix seconds).
    if "createdAt" in body and "created_at" not in body:
        created = parse_time(body.pop("createdAt"), "traits.createdAt")
        body["created_at"] = None if created is None else int(created)
    if call.anonymous_id is not None:
        body["anonymous_id"] = call.anonymous_id
    if call.timestamp is not None:
        body["_timestamp"] = call.timestamp
    people.identify(workspace_id, ref, IdentifyRequest.parse(body, ref))


def _event(event_type: str) -> Any:
    def run(workspace_id: str, call: _Call) -> None:
        properties = call.object("properties")
        data = dict(properties)
        if event_type == "event":
            name = call.body.get("event")
        else:
            # A page view is named by its URL (as the Track API's are, and page conditions match); a
            # screen by its name. The call's own name and category stay with the event's data.
            for key in ("name", "category"):
                if call.body.get(key) not in (None, "") and key not in data:
                    data[key] = call.body[key]
            name = _page_url(call, properties) if event_type == "page" else call.body.get("name")
            if name in (None, ""):
                name = properties.get("name")
        event = events.EventRequest.parse(
            {"name": name, "data": data, "timestamp": call.timestamp, "id": call.message_id},
            event_type=event_type,
        )
        if call.user is not None:
            events.track(workspace_id, call.user, event)
        elif call.anonymous_id is not None:
            events.track_anonymous(workspace_id, call.anonymous_id, event)
        else:
            raise InvalidRequest("userId or anonymousId must be present", field="userId", reason="required")

    return run


def _page_url(call: _Call, properties: dict[str, Any]) -> Any:
    if properties.get("url") not in (None, ""):
        return properties["url"]
    context = call.body.get("context")
    page = context.get("page") if isinstance(context, dict) else None
    if isinstance(page, dict) and page.get("url") not in (None, ""):
        return page["url"]
    return call.body.get("name")


def _group(workspace_id: str, call: _Call) -> None:
    group_id = check_identifier(call.body.get("groupId"), "groupId")
    traits = dict(call.object("traits"))
    type_id: Any = DEFAULT_OBJECT_TYPE_ID
    for key in _OBJECT_TYPE_TRAITS:
        if key in traits:
            found = traits.pop(key)
            type_id = found if found not in (None, "") else type_id
    relationship: Any = None
    for key in _RELATIONSHIP_TRAITS:
        if key in traits:
            relationship = traits.pop(key)
    op: dict[str, Any] = {
        "type": "object",
        "action": "identify",
        "identifiers": {
            "object_type_id": check_identifier(type_id, "traits.objectTypeId"),
            "object_id": group_id,
        },
        "attributes": traits,
    }
    if call.user is not None:
        link: dict[str, Any] = {"identifiers": {call.user.kind: call.user.value}}
        if relationship is not None:
            link["relationship_attributes"] = relationship
        op["cio_relationships"] = [link]
    # Without a userId the call updates the object alone, as Segment's spec allows.
    track_operations.apply(workspace_id, op)


def _alias(workspace_id: str, call: _Call) -> None:
    primary = call.person()
    previous_id = check_identifier(call.body.get("previousId"), "previousId")
    secondary = from_identifier(previous_id, "previousId")
    # previousId's history becomes userId's: the person is created if this is their first call.
    cio_id = people.find_or_create(workspace_id, primary)
    if cio_id is None:
        return  # suppressed: dropped, as the Track API drops writes for a suppressed identifier
    merge.merge(workspace_id, primary, secondary)  # harmless when previousId names no person
    if secondary.kind == "id":
        # previousId is often the anonymous id the person browsed under: their events come along.
        events.merge_anonymous(workspace_id, cio_id, previous_id)


_APPLY = {
    "identify": _identify,
    "track": _event("event"),
    "page": _event("page"),
    "screen": _event("screen"),
    "group": _group,
    "alias": _alias,
}
