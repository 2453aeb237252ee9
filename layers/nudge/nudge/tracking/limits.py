"""Customer.io's Track API limits, with its exact error strings."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from nudge.errors import InvalidRequest

MAX_IDENTIFIER_BYTES = 150
MAX_ATTRIBUTES = 300
MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_EVENT_NAME_BYTES = 100
MAX_EVENT_DATA_BYTES = 100_000
MAX_OBJECT_ATTRIBUTES_BYTES = 100_000
MAX_V1_BODY_BYTES = 1_000_000
MAX_V2_OP_BYTES = 32_000
MAX_V2_BATCH_BYTES = 500_000
MAX_SEGMENT_IDS = 1000
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: the largest plausible unix timestamp
# Customer.io documents no nesting limit; DynamoDB stores documents at most 32 levels deep, so nothing
# deeper could be kept anyway. Checked before parsing: json.loads recurses once per level, so about
# 1,000 levels (a few KB) would otherwise raise RecursionError on any route.
MAX_JSON_DEPTH = 32


def byte_len(value: Any) -> int:
    """Size of a value as Customer.io counts it: a string's UTF-8 bytes, anything else as JSON."""
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


_MAX_NUMBER_DIGITS = 38
_STORABLE_NUMBER = "a number DynamoDB can store (at most 38 significant digits, magnitude 1e-130 to 1e126)"


def _storable_number(value: int | float) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return len(str(abs(value)).rstrip("0")) <= _MAX_NUMBER_DIGITS and abs(value) < 10**126
    return value == 0 or 1e-130 <= abs(value) < 1e126


def unstorable(value: Any) -> bool:
    """True when ``value`` holds a number DynamoDB would refuse (found before anything is written)."""
    if isinstance(value, int | float):
        return not _storable_number(value)
    if isinstance(value, dict):
        return any(unstorable(v) for v in value.values())
    if isinstance(value, list):
        return any(unstorable(v) for v in value)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    # 1e999 is valid JSON that Python reads as infinity, which nothing downstream can store or compare.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# A \u escape of a UTF-16 surrogate: a pair is a valid character, a lone one is not (it cannot be
# encoded as UTF-8, so every later byte count and write would fail).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest (brackets inside strings do not count), found in
    linear time without recursion. Text that is not JSON still gets an answer; the parser judges it."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_json_object(raw: str | bytes | None, *, limit: int, what: str = "request body") -> dict[str, Any]:
    """Parse a request body. An absent body is ``{}`` (the Go client sends none on DELETE).

    Every rule a body can break answers 400 naming it: size, UTF-8, nesting depth, JSON syntax (numbers
    too big for a float included), and being an object."""
    if raw is None or raw in ("", b""):
        return {}
    not_utf8 = InvalidRequest(f"{what} must be valid UTF-8", field="body", reason="encoding")
    try:
        # Bytes are decoded here, not by json.loads, which would also guess UTF-16 and UTF-32.
        text, data = (raw, raw.encode()) if isinstance(raw, str) else (raw.decode(), raw)
    except UnicodeError as exc:  # undecodable bytes, or a str holding a lone surrogate
        raise not_utf8 from exc
    if len(data) > limit:
        raise InvalidRequest(f"{what} cannot be longer than {limit} bytes", field="body", reason="too_long")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"{what} cannot be nested more than {MAX_JSON_DEPTH} levels deep", field="body", reason="too_deep"
        )
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as exc:
        raise InvalidRequest(f"{what} is not valid JSON: {exc}", field="body", reason="parse") from exc
    if not isinstance(body, dict):
        raise InvalidRequest(f"{what} must be a JSON object", field="body", reason="type")
    if _SURROGATE_ESCAPE.search(text) and not _encodable(body):
        raise not_utf8
    return body


def page_limit(raw: str | None, *, default: int, maximum: int) -> int:
    """A ``limit`` query parameter: 1 to ``maximum``, in ASCII digits (``str.isdigit`` also accepts "²",
    which ``int`` refuses)."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise InvalidRequest(f"limit must be between 1 and {maximum}", field="limit")
    return int(raw)


# What ``check_identifier`` accepts. JSON Schema counts characters, not bytes: at most
# MAX_IDENTIFIER_BYTES characters is the nearest bound that never refuses a valid identifier. Written
# without type lists, so OpenAPI 3.0 documents (the Track API's) can hold it too.
IDENTIFIER_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_IDENTIFIER_BYTES}, {"type": "integer"}]
}
# What ``optional_identifier`` reads: also null and "" (both read as not given).
OPTIONAL_IDENTIFIER_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": MAX_IDENTIFIER_BYTES},
        {"type": "integer"},
        {"type": "null"},
    ]
}


def check_identifier(value: Any, field: str = "id") -> str:
    """An identifier is a non-blank string (numbers are accepted and stringified) of at most 150 bytes."""
    if (
        isinstance(value, bool)
        or not isinstance(value, str | int)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise InvalidRequest(f"{field} must be a string", field=field, reason="type")
    text = str(value).strip()
    if not text:
        raise InvalidRequest(f"{field} attribute must be present", field=field, reason="required")
    if byte_len(text) > MAX_IDENTIFIER_BYTES:
        raise InvalidRequest(
            f"{field} cannot be longer than {MAX_IDENTIFIER_BYTES} bytes", field=field, reason="too_long"
        )
    return text


def optional_identifier(value: Any, field: str) -> str | None:
    """An identifier a body may leave out: absent, null and "" read as None."""
    return None if value in (None, "") else check_identifier(value, field)


def check_attributes(attributes: dict[str, Any]) -> None:
    """Customer.io's attribute limits; every broken rule is reported, not just the first."""
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidRequest(
            f"cannot identify more than {MAX_ATTRIBUTES} attributes in one request",
            field="attributes",
            reason="too_many",
        )
    problems: list[str] = []
    field, reason = "attributes", "too_long"
    for name, value in attributes.items():
        if not name.strip():  # nothing could name it again: not a segment, a template, nor an export
            problems.append("attribute name must not be blank")
            field, reason = "attributes", "invalid"
        elif byte_len(name) > MAX_ATTRIBUTE_NAME_BYTES:
            problems.append(f"attribute name cannot be longer than {MAX_ATTRIBUTE_NAME_BYTES} bytes")
            field = "attributes"
        elif byte_len(value) > MAX_ATTRIBUTE_VALUE_BYTES:
            problems.append(
                f"value for attribute '{name}' cannot be longer than {MAX_ATTRIBUTE_VALUE_BYTES} bytes"
            )
            field = f"attributes.{name}"
        elif unstorable(value):
            problems.append(f"value for attribute '{name}' must be {_STORABLE_NUMBER}")
            field, reason = f"attributes.{name}", "invalid"
    if problems:
        raise InvalidRequest(*problems, field=field if len(problems) == 1 else "attributes", reason=reason)


# What ``check_event_name`` accepts (characters bound the bytes, as for identifiers).
EVENT_NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": r"\S", "maxLength": MAX_EVENT_NAME_BYTES}


def check_event_name(name: Any) -> str:
    if name is None or (isinstance(name, str) and not name.strip()):
        raise InvalidRequest("event name must not be blank", field="name", reason="required")
    if not isinstance(name, str):
        raise InvalidRequest("event name must be a string", field="name", reason="type")
    name = name.strip()
    if byte_len(name) > MAX_EVENT_NAME_BYTES:
        raise InvalidRequest(
            f"event name cannot be longer than {MAX_EVENT_NAME_BYTES} bytes", field="name", reason="too_long"
        )
    return name


EVENT_DATA_SCHEMA: dict[str, Any] = {"type": "object"}  # what ``check_event_data`` accepts


def check_event_data(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidRequest("event data must be a hash", field="data", reason="type")
    if byte_len(data) > MAX_EVENT_DATA_BYTES:
        raise InvalidRequest(
            f"event data cannot be longer than {MAX_EVENT_DATA_BYTES} bytes", field="data", reason="too_long"
        )
    if unstorable(data):
        raise InvalidRequest(f"event data numbers must each be {_STORABLE_NUMBER}", field="data")
    return data


# What ``check_timestamp`` accepts, as documented: it also reads a float (truncated) and a string of
# digits, which clients sometimes send.
# What ``check_timestamp`` reads: a number (a float truncated) or a string of digits.
TIMESTAMP_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "exclusiveMaximum": MAX_TIMESTAMP + 1},
        {"type": "string", "pattern": r"^\s*\d+\s*$"},
    ]
}


def check_timestamp(value: Any, field: str = "timestamp") -> int | None:
    """Unix seconds. Floats are truncated; strings of digits are accepted as clients sometimes send them."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequest(f"{field} must be a unix timestamp in seconds", field=field, reason="type")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if not isinstance(value, int) or value < 0 or value > MAX_TIMESTAMP:
        raise InvalidRequest(f"{field} must be a unix timestamp in seconds", field=field, reason="type")
    return value
