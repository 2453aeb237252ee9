"""An in-memory Workflows port: records deployments and started executions, and refuses a second
execution of a name on a state machine, as Step Functions does (ExecutionAlreadyExists)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nudge.campaigns import step_functions

BROADCAST_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:fake-broadcasts"


@dataclass(frozen=True)
class Started:
    target_arn: str
    name: str
    payload: dict[str, Any]


@dataclass
class FakeWorkflows:
    deployments: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # ws, campaign, asl
    started: list[Started] = field(default_factory=list)
    refused: list[Started] = field(default_factory=list)  # starts refused for a duplicate name
    fail_next: list[Exception] = field(default_factory=list)  # raised by the next starts, in order
    _versions: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deploy(self, workspace_id: str, campaign_id: str, asl: dict[str, Any]) -> tuple[str, str]:
        with self._lock:
            arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:fake-{workspace_id}-{campaign_id}"
            self._versions[arn] = self._versions.get(arn, 0) + 1
            self.deployments.append((workspace_id, campaign_id, copy.deepcopy(asl)))
            return arn, f"{arn}:{self._versions[arn]}"

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        with self._lock:
            if self.fail_next:
                raise self.fail_next.pop(0)
            started = Started(target_arn, name, copy.deepcopy(payload))
            machine = _unqualified(target_arn)
            if any(_unqualified(s.target_arn) == machine and s.name == name for s in self.started):
                self.refused.append(started)
                return False
            self.started.append(started)
            return True

    def broadcast_machine_arn(self) -> str:
        return BROADCAST_MACHINE

    # --- what tests ask -------------------------------------------------------------------------------

    def journeys(self) -> list[Started]:
        """Campaign executions started (the broadcast machine's own executions left out)."""
        return [s for s in self.started if s.target_arn != BROADCAST_MACHINE]

    def broadcasts(self) -> list[Started]:
        return [s for s in self.started if s.target_arn == BROADCAST_MACHINE]

    def people(self) -> list[str]:
        return sorted(s.payload["cio_id"] for s in self.journeys())


def _unqualified(arn: str) -> str:
    """A version ARN (``...:stateMachine:name:3``) names the same state machine as its unqualified ARN:
    execution names are unique per state machine, across its versions."""
    parts = arn.split(":")
    return ":".join(parts[:7])


@contextmanager
def fake_workflows() -> Iterator[FakeWorkflows]:
    fake = FakeWorkflows()
    step_functions.install(fake)
    try:
        yield fake
    finally:
        step_functions.install(None)
