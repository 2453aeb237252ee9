"""Customer.io's audience filter (``POST /v1/customers``'s ``filter``, an export's ``filters``) read into
Nudge's condition language, so the segment evaluator decides who matches.

Customer.io's filter is ``and`` / ``or`` / ``not`` of ``segment: {id}`` and ``attribute: {field, operator,
value}``; Nudge's condition language has more kinds, which a filter does not take (an event condition
would cost a query per person tested).
"""

from __future__ import annotations

from typing import Any

from nudge.errors import InvalidRequest
from nudge.segments import conditions

FILTER_KINDS = ("and", "or", "not", "segment", "attribute")
# The filter in a request body's schema: the condition language's schema documents the kinds; ``parse``
# refuses those a filter does not take (the condition language's other kinds).
SCHEMA: dict[str, Any] = {
    "description": "Customer.io's filter: and / or / not of segment and attribute conditions "
    "(the condition language's other kinds are refused)",
    "allOf": [conditions.CONDITION_SCHEMA],
}


def parse(data: Any, field: str = "filter") -> conditions.Condition:
    """The filter as a condition; a 400 naming ``<field>.<path>`` and the rule it breaks otherwise."""
    try:
        return conditions.parse(_to_condition(data, ""))
    except conditions.ConditionError as exc:
        raise InvalidRequest(
            f"{field}.{exc.path}: {exc.message}" if exc.path else f"{field}: {exc.message}",
            field=f"{field}.{exc.path}" if exc.path else field,
            reason=exc.rule,
        ) from exc


def _to_condition(data: Any, path: str) -> Any:
    """Only the kinds a filter takes; the condition parser reads each (``segment: {id}``, the id a number or
    a string and no operator, is membership there) and refuses what is wrong with its path and rule."""
    if not isinstance(data, dict) or len(data) != 1:
        return data
    ((kind, body),) = data.items()
    here = f"{path}.{kind}" if path else kind
    if kind not in FILTER_KINDS:
        raise conditions.ConditionError(
            here, "unsupported", f"a search filter takes {', '.join(FILTER_KINDS)}"
        )
    if kind in ("and", "or") and isinstance(body, list):
        return {kind: [_to_condition(child, f"{here}[{i}]") for i, child in enumerate(body)]}
    if kind == "not":
        return {kind: _to_condition(body, here)}
    return data
