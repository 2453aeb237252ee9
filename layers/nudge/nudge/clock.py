"""The current time, in one place so tests and the local runtime can move it."""

from __future__ import annotations

import time


def now() -> int:
    """Unix seconds."""
    return int(time.time())
