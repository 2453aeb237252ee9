"""Which due minutes a minutely sweep reads: the rule the three sweeps share (scheduled deliveries, segment
re-checks, campaign date triggers).

Each sweep keeps a bookmark, the last minute it finished, and resumes from the minute after it however
long ago that was: after an outage it catches up ``MAX_MINUTES_PER_RUN`` minutes per run (each minute is a
few queries, so a run stays well inside its function's timeout) and skips none, so nothing due is ever
stranded. The current minute is never bookmarked: more of it may still come due.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_MINUTES_PER_RUN = 6 * 60


@dataclass(frozen=True)
class SweepWindow:
    first: int  # the first minute to read
    until: int  # the last minute to read (inclusive)
    current: int  # the minute ``now`` falls in

    @property
    def minutes(self) -> range:
        return range(self.first, self.until + 1)

    @property
    def behind(self) -> int:
        """Minutes left for later runs (0 once caught up)."""
        return self.current - self.until

    def bookmark(self) -> int:
        """The bookmark to save once the window is read: its last minute, never the current one."""
        return min(self.until, self.current - 1)


def window(last_swept: int | None, now: int) -> SweepWindow:
    """The minutes to read at ``now`` (epoch seconds) after the bookmark ``last_swept`` (None: never run)."""
    current = now // 60
    first = current - 1 if last_swept is None else last_swept + 1
    return SweepWindow(first, min(current, first + MAX_MINUTES_PER_RUN - 1), current)
