"""How a journey ends, named once: the compiled state machine's end Tasks carry the outcome, the steps
function counts it (``steps``), and the journey record checks it (``journeys.finished``). Pure names, so
the compiler, which the stack imports at synth time, needs nothing of the storage layer for them."""

from __future__ import annotations

from typing import Literal, get_args

Outcome = Literal["completed", "exited", "converted", "failed"]
COMPLETED: Outcome = "completed"  # reached the end of the workflow
EXITED: Outcome = "exited"  # left early: stopped matching, an exit block, a wait's time-out
CONVERTED: Outcome = "converted"  # met the campaign's goal (and left, when the goal exits)
FAILED: Outcome = "failed"  # a step failed past its retries
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
