"""The local runtime's campaign workflows port: moto's Step Functions engine through
:class:`~nudge_tools.local.stepfunctions.LocalStepFunctions` (here, not in ``nudge.campaigns``, because the
local runtime's code is never shipped to Lambda)."""

from __future__ import annotations

import threading
from typing import Any

from nudge.campaigns import broadcast_machine
from nudge.campaigns.compiler import resumable
from nudge.campaigns.step_functions import (
    CAMPAIGNS_FUNCTION,
    LOCAL_BROADCAST_MACHINE,
    AwsWorkflows,
    machine_name,
)
from nudge.settings import get_settings
from nudge_tools.local.stepfunctions import LocalStepFunctions


class LocalWorkflows:
    """The local runtime's port: moto's Step Functions engine through :class:`LocalStepFunctions`.

    moto 5.2 cannot start an execution on a version ARN (see that module's docstring), so ``deploy``
    answers the unqualified ARN twice: locally, new executions run the latest definition (an execution
    already running keeps the definition it started with, as moto snapshots it at start).

    Every machine is deployed ``resumable`` and remembered (``machines``: name -> the ASL as given), so
    a restarted runtime deploys them again (``restore``) and starts each execution that was running at
    the state it was in (``resume``)."""

    def __init__(self, local_sfn: LocalStepFunctions, client: Any = None, *, stage: str = "local") -> None:
        self._sfn = local_sfn
        self._client = client
        self._stage = stage
        self._broadcast_arn: str | None = None
        self._lock = threading.Lock()
        self._machines: dict[str, dict[str, Any]] = {}
        self._machines_lock = threading.Lock()  # not _lock: broadcast_machine_arn deploys holding that

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            settings = get_settings()
            self._client = boto3.client(
                "stepfunctions", region_name=settings.region, endpoint_url=settings.endpoint_url
            )
        return self._client

    def deploy(self, workspace_id: str, campaign_id: str, asl: dict[str, Any]) -> tuple[str, str]:
        arn = self._deploy(machine_name(self._stage, workspace_id, campaign_id), asl)
        return arn, arn

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        return AwsWorkflows(self.client).start(target_arn, name, payload)

    def broadcast_machine_arn(self) -> str:
        """Deployed on first use: the stack deploys it in AWS, nobody does locally."""

        with self._lock:
            if self._broadcast_arn is None:
                definition = broadcast_machine.definition(self._sfn.function_arn(CAMPAIGNS_FUNCTION))
                self._broadcast_arn = self._deploy(LOCAL_BROADCAST_MACHINE, definition)
            return self._broadcast_arn

    def machines(self) -> dict[str, dict[str, Any]]:
        """Every machine deployed here: name -> its ASL as given (not yet resumable or scaled)."""
        with self._machines_lock:
            return dict(self._machines)

    def restore(self, machines: dict[str, dict[str, Any]]) -> None:
        """Deploy again the machines a previous run deployed (``machines()``), at this run's time scale."""
        for name, asl in machines.items():
            arn = self._deploy(name, asl)
            if name == LOCAL_BROADCAST_MACHINE:
                with self._lock:
                    self._broadcast_arn = arn

    def resume(self, machine: str, name: str, payload: dict[str, Any]) -> bool:
        """Start execution ``name`` on the machine called ``machine`` (deployed here) with ``payload``,
        which says where to resume (``compiler.resumable``); False when that execution already exists."""
        return self.start(self._sfn.machine_arn(machine), name, payload)

    def _deploy(self, name: str, asl: dict[str, Any]) -> str:
        arn = self._sfn.deploy(name, resumable(asl))
        with self._machines_lock:
            self._machines[name] = asl
        return arn
