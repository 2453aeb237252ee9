"""What an export is asked for: Customer.io's ``POST /v1/exports/customers`` and ``/v1/exports/deliveries``
bodies, validated once (a 400 naming the field), stored with the export as plain JSON and read back by
the worker.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nudge.delivery import states
from nudge.delivery.request_shapes import read as read_body
from nudge.segments import conditions, search_filter
from nudge.shapes import Described, Field, Leaf, Obj, Open, Path, ShapeError

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


# --- the bodies, declared once (``nudge.shapes``): each field's check and its schema side by side ---------

_ABSENT: Any = object()  # a field left out, told apart from one given as null


def _name(path: Path) -> str:
    return ".".join(map(str, path))


def _read_filters(value: Any, path: Path) -> dict[str, Any]:
    if value is _ABSENT:
        raise ShapeError(path, "required", f"{_name(path)} must be given")
    if not isinstance(value, dict):
        raise ShapeError(path, "invalid", f"{_name(path)} must be an object")
    return value  # as given: ``CustomersExport.condition`` parses it


def _read_attributes(value: Any, path: Path) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ShapeError(path, "invalid", "attributes must be a list of attribute names")
    if len(value) > ATTRIBUTES_MAX:
        raise ShapeError(path, "invalid", f"attributes must name at most {ATTRIBUTES_MAX} attributes")
    names: list[str] = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not 0 < len(name) <= ATTRIBUTE_NAME_MAX:
            raise ShapeError(
                (*path, i),
                "invalid",
                f"attributes[{i}] must be a name of 1 to {ATTRIBUTE_NAME_MAX} characters",
            )
        if name not in names:
            names.append(name)
    return names


def _read_id(value: Any, path: Path) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not 0 < len(str(value)) <= ID_MAX:
        message = f"{_name(path)} must be a number or a string of 1 to {ID_MAX} characters"
        raise ShapeError(path, "invalid", message)
    return str(value)


def _read_metric(value: Any, path: Path) -> str:
    if value not in METRICS:
        raise ShapeError(path, "invalid", f"metric must be one of {', '.join(METRICS)}")
    return str(value)


def _read_drafts(value: Any, path: Path) -> bool:
    if not isinstance(value, bool):
        raise ShapeError(path, "invalid", "drafts must be true or false")
    return value


def _read_timestamp(value: Any, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < TIMESTAMP_MAX:
        raise ShapeError(path, "invalid", f"{_name(path)} must be a unix timestamp in seconds")
    return value


_ATTRIBUTES = Field(
    Described(
        Leaf(
            _read_attributes,
            {
                "type": ["array", "null"],
                "maxItems": ATTRIBUTES_MAX,
                "items": {"type": "string", "minLength": 1, "maxLength": ATTRIBUTE_NAME_MAX},
            },
        ),
        "attributes to add as columns",
    ),
    default=None,
)
_ID = Leaf(_read_id, {"type": ["integer", "string", "null"], "minLength": 1, "maxLength": ID_MAX})
_TIMESTAMP = Leaf(_read_timestamp, {"type": ["integer", "null"], "minimum": 0, "maximum": TIMESTAMP_MAX - 1})


def _one_of_the_ids(read: dict[str, Any], value: Any, path: Path) -> None:
    """campaign_id beside a newsletter_id: refused once it is read (its own problem is told first)."""
    if read["newsletter_id"] is not None and _ID.read(value, path) is not None:
        raise ShapeError(path, "invalid", "give newsletter_id or campaign_id, not both")


def _start_before_end(read: dict[str, Any], value: Any, path: Path) -> None:
    """end after a start: compared once it is read (its own problem is told first)."""
    end = _TIMESTAMP.read(value, path)
    if read["start"] is not None and end is not None and read["start"] > end:
        raise ShapeError(("start",), "invalid", "start must not be after end")


# POST /v1/exports/customers. Its filter is read (a 400 naming the filter's path) after the other fields.
_CUSTOMERS = Open(
    Obj(
        {
            "filters": Field(Leaf(_read_filters, search_filter.SCHEMA), default=_ABSENT),
            "attributes": _ATTRIBUTES,
        },
        # what ``_read_filters`` tells when it is left out (with its own message, not Obj's "is required")
        extra={"required": ["filters"]},
    )
)
# POST /v1/exports/deliveries, checked in this order.
_DELIVERIES = Open(
    Obj(
        {
            "newsletter_id": Field(_ID),
            "campaign_id": Field(Described(_ID, "or newsletter_id, not both"), guard=_one_of_the_ids),
            "metric": Field(Leaf(_read_metric, {"enum": list(METRICS)}), default="created"),
            "drafts": Field(Leaf(_read_drafts, {"type": "boolean"}), default=False),
            "start": Field(Described(_TIMESTAMP, "unix seconds; default: 6 months before end")),
            "end": Field(Described(_TIMESTAMP, "unix seconds; default: now"), guard=_start_before_end),
            "action_id": Field(_ID),
            "attributes": _ATTRIBUTES,
        },
        # what ``_one_of_the_ids`` refuses: both given, neither null
        extra={
            "not": {
                "required": ["newsletter_id", "campaign_id"],
                "properties": {
                    "newsletter_id": {"not": {"type": "null"}},
                    "campaign_id": {"not": {"type": "null"}},
                },
            }
        },
    )
)
CUSTOMERS_SCHEMA: dict[str, Any] = _CUSTOMERS.schema({})
DELIVERIES_SCHEMA: dict[str, Any] = _DELIVERIES.schema({})


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
    read: dict[str, Any] = read_body(_CUSTOMERS, body, ())
    request = CustomersExport(read["filters"], read["attributes"])
    request.condition()  # a 400 naming the filter's path now, not a failed export later
    return request


def deliveries(body: dict[str, Any], now: int) -> DeliveriesExport:
    read: dict[str, Any] = read_body(_DELIVERIES, body, ())
    start, end = _window(read["start"], read["end"], now)
    newsletter = read["newsletter_id"]
    return DeliveriesExport(
        start=start,
        end=end,
        campaign_id=newsletter if newsletter is not None else read["campaign_id"],
        action_id=read["action_id"],
        metric=read["metric"],
        drafts=read["drafts"],
        attributes=read["attributes"],
    )


def _window(start: int | None, end: int | None, now: int) -> tuple[int, int]:
    end = end if end is not None else now
    start = start if start is not None else end - DEFAULT_WINDOW
    return max(start, end - LONGEST_WINDOW), end
