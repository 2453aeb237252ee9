"""What an export is asked for: Customer.io's ``POST /v1/exports/customers`` and ``/v1/exports/deliveries``
bodies, validated once (a 400 naming the field), stored with the export as plain JSON and read back by
the worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nudge.delivery import states
from nudge.errors import InvalidRequest
from nudge.segments import conditions, search_filter

CUSTOMERS, DELIVERIES = "customers", "deliveries"
ATTRIBUTES_MAX = 100
ATTRIBUTE_NAME_MAX = 150
ID_MAX = 150
TIMESTAMP_MAX = 10**11  # unix seconds, year 5138: a bigger number is a millisecond timestamp by mistake
# Customer.io: without start and end, the last 6 months; a window longer than 12 months is cut to the 12
# months before its end.
DEFAULT_WINDOW = 183 * 86400
LONGEST_WINDOW = 366 * 86400
# Customer.io's delivery export metrics; "created" is every delivery created in the window.
METRICS = (
    "created",
    states.ATTEMPTED,
    states.SENT,
    states.DELIVERED,
    states.OPENED,
    states.CLICKED,
    states.CONVERTED,
    states.BOUNCED,
    states.SPAMMED,
    states.UNSUBSCRIBED,
    states.DROPPED,
    states.FAILED,
    states.UNDELIVERABLE,
)


_ATTRIBUTES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": ATTRIBUTES_MAX,
    "items": {"type": "string", "minLength": 1, "maxLength": ATTRIBUTE_NAME_MAX},
    "description": "attributes to add as columns",
}
_ID_SCHEMA: dict[str, Any] = {"type": ["integer", "string"], "minLength": 1, "maxLength": ID_MAX}
_TIMESTAMP_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": TIMESTAMP_MAX - 1}
# POST /v1/exports/customers, as ``customers`` reads it.
CUSTOMERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["filters"],
    "properties": {"filters": search_filter.SCHEMA, "attributes": _ATTRIBUTES_SCHEMA},
}
# POST /v1/exports/deliveries, as ``deliveries`` reads it.
DELIVERIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "newsletter_id": _ID_SCHEMA,
        "campaign_id": {**_ID_SCHEMA, "description": "or newsletter_id, not both"},
        "action_id": _ID_SCHEMA,
        "metric": {"enum": list(METRICS)},
        "drafts": {"type": "boolean"},
        "start": {**_TIMESTAMP_SCHEMA, "description": "unix seconds; default: 6 months before end"},
        "end": {**_TIMESTAMP_SCHEMA, "description": "unix seconds; default: now"},
        "attributes": _ATTRIBUTES_SCHEMA,
    },
    "not": {"required": ["newsletter_id", "campaign_id"]},
}


@dataclass(frozen=True)
class CustomersExport:
    filters: dict[str, Any]  # Customer.io's filter, as given (``condition`` parses it)
    attributes: list[str] = field(default_factory=list)

    def condition(self) -> conditions.Condition:
        return search_filter.parse(self.filters, "filters")

    def segments(self) -> list[str]:
        return sorted(conditions.referenced_segments(self.condition()))

    def describe(self) -> str:
        segments = self.segments()
        named = f" in segment {', '.join(segments)}" if segments else ""
        return f"Customers matching a filter{named}"


@dataclass(frozen=True)
class DeliveriesExport:
    start: int
    end: int
    campaign_id: str | None = None  # also what a newsletter_id names (Nudge's one-off sends are campaigns)
    action_id: str | None = None  # a template: the message of one action
    metric: str = "created"
    drafts: bool = False
    attributes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        what = f"campaign {self.campaign_id}" if self.campaign_id else "all campaigns and sends"
        action = f", action {self.action_id}" if self.action_id else ""
        metric = "" if self.metric == "created" else f", {self.metric}"
        return f"Deliveries of {what}{action}{metric}, created {self.start} to {self.end}"


ExportRequest = CustomersExport | DeliveriesExport


def to_json(request: ExportRequest) -> dict[str, Any]:
    return asdict(request)


def from_json(export_type: str, data: dict[str, Any]) -> ExportRequest:
    """A stored request back (it was validated when the export was created)."""
    if export_type == CUSTOMERS:
        return CustomersExport(**data)
    return DeliveriesExport(**data)


def customers(body: dict[str, Any]) -> CustomersExport:
    if "filters" not in body:
        raise InvalidRequest("filters must be given", field="filters", reason="required")
    filters = body["filters"]
    if not isinstance(filters, dict):
        raise InvalidRequest("filters must be an object", field="filters")
    request = CustomersExport(filters, _attributes(body.get("attributes")))
    request.condition()  # a 400 naming the filter's path now, not a failed export later
    return request


def deliveries(body: dict[str, Any], now: int) -> DeliveriesExport:
    newsletter, campaign = _id(body, "newsletter_id"), _id(body, "campaign_id")
    if newsletter is not None and campaign is not None:
        raise InvalidRequest("give newsletter_id or campaign_id, not both", field="campaign_id")
    metric = body.get("metric", "created")
    if metric not in METRICS:
        raise InvalidRequest(f"metric must be one of {', '.join(METRICS)}", field="metric")
    drafts = body.get("drafts", False)
    if not isinstance(drafts, bool):
        raise InvalidRequest("drafts must be true or false", field="drafts")
    start, end = _window(_timestamp(body, "start"), _timestamp(body, "end"), now)
    return DeliveriesExport(
        start=start,
        end=end,
        campaign_id=newsletter if newsletter is not None else campaign,
        action_id=_id(body, "action_id"),
        metric=metric,
        drafts=drafts,
        attributes=_attributes(body.get("attributes")),
    )


def _window(start: int | None, end: int | None, now: int) -> tuple[int, int]:
    if start is not None and end is not None and start > end:
        raise InvalidRequest("start must not be after end", field="start")
    end = end if end is not None else now
    start = start if start is not None else end - DEFAULT_WINDOW
    return max(start, end - LONGEST_WINDOW), end


def _attributes(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest("attributes must be a list of attribute names", field="attributes")
    if len(value) > ATTRIBUTES_MAX:
        raise InvalidRequest(f"attributes must name at most {ATTRIBUTES_MAX} attributes", field="attributes")
    names: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not 0 < len(name) <= ATTRIBUTE_NAME_MAX:
            raise InvalidRequest(
                f"attributes[{i}] must be a name of 1 to {ATTRIBUTE_NAME_MAX} characters",
                field=f"attributes.{i}",
            )
        if name not in names:
            names.append(name)
    return names


def _id(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not 0 < len(str(value)) <= ID_MAX:
        raise InvalidRequest(f"{name} must be a number or a string of 1 to {ID_MAX} characters", field=name)
    return str(value)


def _timestamp(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < TIMESTAMP_MAX:
        raise InvalidRequest(f"{name} must be a unix timestamp in seconds", field=name)
    return value
