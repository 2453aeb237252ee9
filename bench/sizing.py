"""DynamoDB item sizes, from items in the wire format (``{"name": {"S": "value"}}``).

The rules are AWS's published ones ("Item sizes and formats" in the DynamoDB developer guide):
attribute names count their UTF-8 bytes; strings their UTF-8 bytes; binaries their raw bytes; a
number about one byte per two significant digits plus one; booleans and nulls one byte; a list or map
three bytes plus one byte per element (plus the element's key for maps); a set the sum of its members.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

Item = dict[str, Any]  # attribute name -> wire-format value, e.g. {"S": "x"}

_CONTAINER_OVERHEAD = 3
_ELEMENT_OVERHEAD = 1


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def number_size(text: str) -> int:
    """AWS documents this one as approximate: leading and trailing zeros are trimmed, then one byte per
    two significant digits, plus one; a negative number's sign takes one more byte."""
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a DynamoDB number: {text!r}") from exc
    digits = "".join(str(d) for d in value.as_tuple().digits).strip("0")
    size = 1 + math.ceil(len(digits) / 2)
    return size + 1 if value < 0 else size


def binary_size(value: bytes | str) -> int:
    # Request bodies carry binaries base64-encoded; parsed responses carry raw bytes.
    return len(base64.b64decode(value)) if isinstance(value, str) else len(value)


# The scalar types' sizes, and each set type's by its members' (a set adds nothing of its own).
_SCALARS: dict[str, Callable[[Any], int]] = {
    "S": utf8_len,
    "N": number_size,
    "B": binary_size,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
}
_SETS: dict[str, Callable[[Any], int]] = {"SS": utf8_len, "NS": number_size, "BS": binary_size}


def value_size(value: dict[str, Any]) -> int:
    """The size of one wire-format attribute value, without its name."""
    if len(value) != 1:
        raise ValueError(f"an attribute value has exactly one type: {value!r}")
    ((kind, data),) = value.items()
    if kind in _SCALARS:
        return _SCALARS[kind](data)
    if kind in _SETS:
        return sum(_SETS[kind](member) for member in data)
    if kind == "L":
        return _CONTAINER_OVERHEAD + sum(_ELEMENT_OVERHEAD + value_size(v) for v in data)
    if kind == "M":
        return _CONTAINER_OVERHEAD + sum(
            _ELEMENT_OVERHEAD + utf8_len(name) + value_size(v) for name, v in data.items()
        )
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(item: Item | None) -> int:
    """Bytes of a whole item; a missing item is 0 bytes."""
    if not item:
        return 0
    return sum(utf8_len(name) + value_size(value) for name, value in item.items())
