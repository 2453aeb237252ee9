"""The local runtime's campaign workflows port: moto's Step Functions engine through
:class:`~nudge.local.stepfunctions.LocalStepFunctions` (here, not in ``nudge.campaigns``, because the local
runtime's code is never shipped to Lambda)."""

from __future__ import annotations

import threading
from typing import Any

from nudge.campaigns import broadcast_machine
from nudge.campaigns.workflows import CAMPAIGNS_FUNCTION, LOCAL_BROADCAST_MACHINE, AwsWorkflows, machine_name
from nudge.local.stepfunctions import LocalStepFunctions
from nudge.settings import get_settings


class LocalWorkflows:
    """The local runtime's port: moto's Step Functions engine through :class:`LocalStepFunctions`.

    moto 5.2 cannot start an execution on a version ARN (see that module's docstring), so ``deploy``
    answers the unqualified ARN twice: locally, new executions run the latest definition (an execution
    already running keeps the definition it started with, as moto snapshots it at start)."""

    def __init__(self, local_sfn: LocalStepFunctions, client: Any = None, *, stage: str = "local") -> None:
        self._sfn = local_sfn
        self._client = client
        self._stage = stage
        self._broadcast_arn: str | None = None
        self._lock = threading.Lock()

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
        arn = self._sfn.deploy(machine_name(self._stage, workspace_id, campaign_id), asl)
        return arn, arn

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        return AwsWorkflows(self.client).start(target_arn, name, payload)

    def broadcast_machine_arn(self) -> str:
        """Deployed on first use: the stack deploys it in AWS, nobody does locally."""

        with self._lock:
            if self._broadcast_arn is None:
                definition = broadcast_machine.definition(self._sfn.function_arn(CAMPAIGNS_FUNCTION))
                self._broadcast_arn = self._sfn.deploy(LOCAL_BROADCAST_MACHINE, definition)
            return self._broadcast_arn
