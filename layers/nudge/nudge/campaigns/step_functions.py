"""The Step Functions port: deploy a campaign's state machine, start executions on it.

Campaign executions are Standard workflows. A journey waits for days (delays, wait-until, time windows)
and Express workflows end after five minutes; Standard is billed per state transition, not per second
waited, and its execution names are unique per state machine for 90 days after an execution ends, which
is what makes a duplicate start impossible (see :mod:`nudge.campaigns.executions`).

Versions: each activation publishes a version of the campaign's one state machine, and new executions
start on that version's ARN, so an execution that is running finishes on the definition it started with
while later entries run the new one.

``get()`` answers the process's port: :class:`AwsWorkflows` built from the environment, unless
``install`` put another in place (the local runtime installs
``nudge_tools.local.campaign_workflows.LocalWorkflows``; tests install a fake). Environment:

- ``NUDGE_STAGE``: part of every state machine's name (``nudge-<stage>-<ws>-<campaign_id>``);
- ``NUDGE_CAMPAIGN_ROLE_ARN``: the role campaign state machines run as (``lambda:InvokeFunction`` on the
  campaigns function);
- ``NUDGE_CAMPAIGN_LOG_GROUP_ARN`` (optional): execution errors go there, level ERROR and without
  execution data, so no personal data reaches the logs;
- ``NUDGE_BROADCAST_MACHINE_ARN``: the broadcast fan-out machine (:mod:`nudge.campaigns.broadcast_machine`),
  deployed once per deployment by the stack.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Protocol

from nudge import aws_clients
from nudge.settings import get_settings

MAX_NAME = 80  # Step Functions' limit for state machine and execution names
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
LOCAL_BROADCAST_MACHINE = "nudge-local-broadcasts"
CAMPAIGNS_FUNCTION = "nudge-campaigns"  # the local Lambda name of functions/campaigns


class WorkflowsNotConfigured(RuntimeError):
    """The environment does not say where or as whom campaign state machines run."""


class Workflows(Protocol):
    def deploy(self, workspace_id: str, campaign_id: str, asl: dict[str, Any]) -> tuple[str, str]:
        """Create or update the campaign's state machine, publishing a version: (its ARN, the ARN new
        executions start on)."""
        ...

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution called ``name``; False when an execution of that name already exists."""
        ...

    def broadcast_machine_arn(self) -> str:
        """The state machine that fans a broadcast out, page by page."""
        ...


def machine_name(stage: str, workspace_id: str, campaign_id: str) -> str:
    """``nudge-<stage>-<ws>-<campaign_id>`` in the characters Step Functions allows, cut to 80."""
    return _UNSAFE.sub("_", f"nudge-{stage}-{workspace_id}-{campaign_id}")[:MAX_NAME]


def _stage() -> str:
    return get_settings().stage


class AwsWorkflows:
    """Step Functions through botocore. ``client`` is a ``stepfunctions`` client (built lazily if omitted)."""

    def __init__(
        self,
        client: Any = None,
        *,
        stage: str | None = None,
        role_arn: str | None = None,
        log_group_arn: str | None = None,
        broadcast_arn: str | None = None,
    ) -> None:
        self._client = client
        self._stage = stage or _stage()
        self._role_arn = role_arn
        self._log_group_arn = log_group_arn
        self._broadcast_arn = broadcast_arn

    @classmethod
    def from_env(cls) -> AwsWorkflows:
        settings = get_settings()
        return cls(
            stage=settings.stage,
            role_arn=settings.campaign_role_arn,
            log_group_arn=settings.campaign_log_group_arn,
            broadcast_arn=settings.broadcast_machine_arn,
        )

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_clients.client("stepfunctions")
        return self._client

    def deploy(self, workspace_id: str, campaign_id: str, asl: dict[str, Any]) -> tuple[str, str]:
        if not self._role_arn:
            raise WorkflowsNotConfigured("NUDGE_CAMPAIGN_ROLE_ARN is not set: campaigns cannot be deployed")
        name = machine_name(self._stage, workspace_id, campaign_id)
        common: dict[str, Any] = {
            "definition": json.dumps(asl),
            "roleArn": self._role_arn,
            "loggingConfiguration": self._logging(),
            "tracingConfiguration": {"enabled": False},
            "publish": True,
            "versionDescription": f"campaign {campaign_id}"[:256],
        }
        arn = self._arn(name)
        client = self.client
        try:
            client.describe_state_machine(stateMachineArn=arn)
        except client.exceptions.StateMachineDoesNotExist:
            try:
                created = client.create_state_machine(name=name, type="STANDARD", **common)
                return str(created["stateMachineArn"]), str(created["stateMachineVersionArn"])
            except client.exceptions.StateMachineAlreadyExists:
                pass  # a concurrent activation created it meanwhile: publish ours on top
        updated = client.update_state_machine(stateMachineArn=arn, **common)
        return arn, str(updated["stateMachineVersionArn"])

    def start(self, target_arn: str, name: str, payload: dict[str, Any]) -> bool:
        client = self.client
        try:
            client.start_execution(stateMachineArn=target_arn, name=name, input=json.dumps(payload))
        except client.exceptions.ExecutionAlreadyExists:
            return False
        return True

    def broadcast_machine_arn(self) -> str:
        if not self._broadcast_arn:
            raise WorkflowsNotConfigured("NUDGE_BROADCAST_MACHINE_ARN is not set: broadcasts cannot run")
        return self._broadcast_arn

    def _logging(self) -> dict[str, Any]:
        if not self._log_group_arn:
            return {"level": "OFF"}
        return {
            "level": "ERROR",
            "includeExecutionData": False,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": self._log_group_arn}}],
        }

    def _arn(self, name: str) -> str:
        # The role lives in the same account and partition as the state machines it runs.
        assert self._role_arn is not None
        parts = self._role_arn.split(":")
        if len(parts) < 5 or not parts[4]:
            raise WorkflowsNotConfigured(
                f"NUDGE_CAMPAIGN_ROLE_ARN is not an IAM role ARN: {self._role_arn!r}"
            )
        region = self.client.meta.region_name
        return f"arn:{parts[1]}:states:{region}:{parts[4]}:stateMachine:{name}"


_lock = threading.Lock()


_installed: Workflows | None = None


def get() -> Workflows:
    """The installed port, or Step Functions as the environment describes it (built once)."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = AwsWorkflows.from_env()
        return _installed


def install(workflows: Workflows | None) -> None:
    """Replace the port (the local runtime, tests); None goes back to the environment's."""
    global _installed
    with _lock:
        _installed = workflows
