"""Whether a request body's served schema and its reader agree: both accept a body, or both refuse it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from nudge.errors import InvalidRequest


def verdicts(
    schema: dict[str, Any], read: Callable[[dict[str, Any]], Any], body: dict[str, Any]
) -> tuple[bool, bool]:
    """(the schema accepts ``body``, ``read`` accepts it: no 400)."""
    try:
        read(body)
    except InvalidRequest:
        return Draft202012Validator(schema).is_valid(body), False
    return Draft202012Validator(schema).is_valid(body), True
