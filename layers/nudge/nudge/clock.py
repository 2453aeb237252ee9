"""The current time, in one place, so the local runtime can make it pass faster.

In AWS this is the wall clock. The local runtime sets ``NUDGE_TIME_SCALE`` (and the epoch it counts
from) so that "within the last 7 days" or a 3-day campaign delay plays out in seconds, with every
handler in the process agreeing on what time it is.
"""

from __future__ import annotations

import math
import os
import time

from nudge.settings import get_settings

_scale = get_settings().time_scale
_epoch = get_settings().time_epoch


def configure(scale: float, epoch: float | None = None) -> None:
    """Make time pass ``scale`` times faster from ``epoch`` (default: now). Local runtime only."""
    global _scale, _epoch
    _epoch = time.time() if epoch is None else epoch
    _scale = scale
    os.environ["NUDGE_TIME_SCALE"] = repr(scale)
    os.environ["NUDGE_TIME_EPOCH"] = repr(_epoch)


def now() -> int:
    """Unix seconds."""
    real = time.time()
    if _scale == 1:
        return int(real)
    return int(_epoch + (real - _epoch) * _scale)


def real_seconds(virtual_seconds: int | float) -> int:
    """How many wall-clock seconds ``virtual_seconds`` of ``now()`` time take, rounded up (so a wait never
    ends early). For a wait computed at run time (a Step Functions ``SecondsPath``), which the local
    runtime cannot shorten the way it shortens a Wait state's literal ``Seconds``."""
    if virtual_seconds <= 0:
        return 0
    return math.ceil(virtual_seconds / _scale)


def wall_now() -> int:
    """Unix seconds on the wall clock, whatever the local runtime's time scale: for what people live
    through in real time (a console session's idle timeout is an hour of theirs, not of simulated time)."""
    return int(time.time())
