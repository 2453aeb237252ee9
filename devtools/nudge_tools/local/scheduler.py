"""Fires what EventBridge rules and EventBridge Scheduler would fire in AWS, on one thread.

Time can be scaled so a campaign's three-day wait passes in seconds: with ``time_scale=86400`` one real
second is one simulated day. Delays and intervals are given in simulated seconds; the real wait is the
simulated one divided by the scale.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

logger = logging.getLogger("nudge.local")

# Finished one-off jobs stay visible in status() for a while; a long run with many waits would
# otherwise keep every one of them forever.
_FINISHED_KEPT = 100


@dataclass(eq=False)
class _Job:
    name: str
    kind: Literal["once", "every"]
    action: Callable[[], None]
    due: float | None  # the monotonic time it next runs at; None once a one-off job has run
    interval: float = 0.0  # real seconds between runs of a recurring job
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    sequence: int = 0


class Scheduler:
    def __init__(self, time_scale: float = 1.0) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, not {time_scale!r}")
        self.time_scale = time_scale
        self._wakeup = threading.Condition()
        # (due, sequence, job): equal due times run in the order they were scheduled.
        self._queue: list[tuple[float, int, _Job]] = []
        self._finished: deque[_Job] = deque(maxlen=_FINISHED_KEPT)
        self._running: _Job | None = None  # off the queue while its action runs
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._clock = time.monotonic  # a seam for tests

    def at(self, delay_seconds: float, name: str, action: Callable[[], None]) -> None:
        """Run ``action`` once, ``delay_seconds`` of simulated time from now (now if the delay is past)."""
        job = _Job(name, "once", action, due=self._clock() + max(0.0, self._real(delay_seconds)))
        self._enqueue(job)

    def every(
        self,
        interval_seconds: float,
        name: str,
        action: Callable[[], None],
        *,
        first_after: float | None = None,
    ) -> None:
        """Run ``action`` every ``interval_seconds`` of simulated time, first after ``first_after``
        (default: one interval). Like an EventBridge rate rule, runs missed while busy are skipped."""
        interval = self._real(interval_seconds)
        if interval <= 0:
            raise ValueError(f"interval_seconds must be positive, not {interval_seconds!r}")
        first = interval if first_after is None else max(0.0, self._real(first_after))
        self._enqueue(_Job(name, "every", action, due=self._clock() + first, interval=interval))

    def start(self) -> None:
        with self._wakeup:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError("the scheduler is already running")
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="nudge-local-scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the action running now, if any; jobs not yet due stay queued for a later start()."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
            thread = self._thread
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("scheduler: an action is still running %.1f s after stop()", timeout)

    def status(self) -> list[dict[str, Any]]:
        """The running job, pending jobs in the order they will run, then recently finished one-off jobs."""
        now = self._clock()
        with self._wakeup:
            pending = [job for _, _, job in sorted(self._queue, key=lambda entry: entry[:2])]
            if self._running is not None and self._running not in pending:
                pending.insert(0, self._running)
            finished = list(self._finished)
        return [self._describe(job, now) for job in pending + finished]

    def _describe(self, job: _Job, now: float) -> dict[str, Any]:
        due_in = None if job.due is None else max(0.0, job.due - now) * self.time_scale
        return {
            "name": job.name,
            "kind": job.kind,
            "due_in_seconds": due_in,
            "runs": job.runs,
            "failures": job.failures,
            "last_error": job.last_error,
        }

    def _real(self, simulated_seconds: float) -> float:
        if not math.isfinite(simulated_seconds):
            raise ValueError(f"a delay must be a finite number of seconds, not {simulated_seconds!r}")
        return simulated_seconds / self.time_scale

    def _enqueue(self, job: _Job) -> None:
        assert job.due is not None
        with self._wakeup:
            job.sequence = next(self._sequence)
            heapq.heappush(self._queue, (job.due, job.sequence, job))
            # The thread may be sleeping until a later job; let it look again.
            self._wakeup.notify_all()

    def _run(self) -> None:
        while (job := self._next_due()) is not None:
            error = self._execute(job)
            with self._wakeup:  # status() reads the counters from other threads
                self._running = None
                job.runs += 1
                if error is not None:
                    job.failures += 1
                    job.last_error = error
                if job.kind == "every":
                    self._reschedule(job)
                else:
                    job.due = None
                    self._finished.append(job)

    def _next_due(self) -> _Job | None:
        """Wait until the earliest job is due and take it off the queue; None once stopping."""
        with self._wakeup:
            while not self._stopping:
                if not self._queue:
                    self._wakeup.wait()
                    continue
                wait = self._queue[0][0] - self._clock()
                if wait > 0:
                    self._wakeup.wait(wait)
                    continue
                self._running = heapq.heappop(self._queue)[2]
                return self._running
            return None

    def _execute(self, job: _Job) -> str | None:
        """Run the action; the error it raised as ``"Type: message"``, or None."""
        try:
            job.action()
        # The scheduler stands in for EventBridge, which never stops firing because one target failed:
        # whatever an action raises is the action's problem, so it is logged and counted, and the
        # scheduler and the job's later runs carry on.
        except Exception as error:
            logger.exception("scheduler: job %r failed", job.name)
            return f"{type(error).__name__}: {error}"
        return None

    def _reschedule(self, job: _Job) -> None:
        # Fixed rate from the previous due time, so the schedule doesn't drift by how long actions take;
        # if the action overran whole intervals, skip those runs rather than firing them back to back.
        assert job.due is not None
        now = self._clock()
        job.due += job.interval
        if job.due <= now:
            job.due += (math.floor((now - job.due) / job.interval) + 1) * job.interval
        job.sequence = next(self._sequence)
        heapq.heappush(self._queue, (job.due, job.sequence, job))
