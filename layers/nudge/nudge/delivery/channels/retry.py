"""One backoff policy for every channel adapter: exponential backoff with full jitter.

The adapter decides what is worth retrying (``transient``); this helper only repeats the call, sleeping
``uniform(0, base_delay * 2**n)`` (capped at ``max_delay``) between attempts, and re-raises the last
error once the attempts are used up. Errors that are not transient are re-raised at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def backoff_delay(attempt: int, base_delay: float, max_delay: float) -> float:
    """The full-jitter delay before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
    return random.uniform(0.0, min(max_delay, base_delay * 2**attempt))  # noqa: S311 - jitter, not a secret


def with_retries(
    call: Callable[[], T],
    *,
    transient: Callable[[BaseException], bool],
    attempts: int,
    base_delay: float,
    sleep: Callable[[float], None],
    max_delay: float = 20.0,
) -> T:
    """Run ``call`` up to ``attempts`` times while it fails with an error ``transient`` accepts."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:
            if attempt == attempts - 1 or not transient(error):
                raise
            sleep(backoff_delay(attempt, base_delay, max_delay))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
