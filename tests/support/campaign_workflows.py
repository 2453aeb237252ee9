"""Campaign workflows for tests: definitions built by hand, an ASL sanity check, and compiled machines run
on moto's Step Functions engine inside the test's ``mock_aws`` account.

The engine (``CampaignEngine``) runs under the same ``mock_aws`` as the tables, so the steps it calls read
and write the very DynamoDB the test inspects. moto executes ASL once
``{"stepfunctions": {"execute_state_machine": True}}`` is set; its ``lambda:invoke`` integration calls
Lambda through the mock, and with ``{"lambda": {"use_docker": False}}`` every invocation lands in
``LambdaSimpleBackend.invoke``, which we replace (for the engine's lifetime) with a call of the campaigns
handler in this process, answering as Lambda does (an exception becomes ``X-Amz-Function-Error`` with the
class name as ``errorType``, the ASL error name Catch matches). Wait states sleep in real time: tests use
seconds.
"""

from __future__ import annotations

import io
import json
import time
import traceback
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import boto3
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config

from nudge import clock
from nudge.campaigns import compiler
from nudge_tools.local.stepfunctions import LambdaContext

REGION = "us-east-1"
FUNCTION = compiler.DEFAULT_FUNCTION
_FORBIDDEN = set(' \t\n<>{}[]?*"#%\\^|~`$&,;:/')  # what AWS refuses in a state name


def definition(
    blocks: dict[str, dict[str, Any]],
    start: str | None = None,
    *,
    filters: Any = None,
    name: str = "Test campaign",
    trigger: dict[str, Any] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """A normalized definition, as ``definition`` would hand it over (defaults filled)."""
    return {
        "name": name,
        "trigger": trigger or {"type": "event", "name": "signed_up", "filters": None},
        "filters": filters,
        "workflow": {"start": start or next(iter(blocks)), "blocks": blocks},
        "settings": {
            "frequency": {"type": "once"},
            "exit": "at_end",
            "goal": None,
            "goal_window_seconds": 604800,
            "audience": "current_and_future",
            "timezone": "UTC",
            **settings,
        },
    }


def asl_problems(asl: dict[str, Any]) -> list[str]:
    """What AWS's validator would refuse (as far as we know it) in a compiled machine: dangling or missing
    transitions, unreachable states, Choices without rules, names AWS does not allow."""
    problems: list[str] = []
    states: dict[str, dict[str, Any]] = asl.get("States", {})
    if asl.get("StartAt") not in states:
        problems.append(f"StartAt {asl.get('StartAt')!r} is not a state")
    for name, state in states.items():
        problems.extend(_state_problems(name, state, states))
    seen, stack = set(), [asl.get("StartAt")]
    while stack:
        current = stack.pop()
        if current in seen or current not in states:
            continue
        seen.add(current)
        stack.extend(_targets(states[current]))
    problems.extend(f"{name}: unreachable" for name in states if name not in seen)
    return problems


def _state_problems(name: str, state: dict[str, Any], states: dict[str, dict[str, Any]]) -> list[str]:
    """One state's problems: its name, its transitions, its type's own fields."""
    problems: list[str] = []
    if not 1 <= len(name) <= 80 or _FORBIDDEN & set(name):
        problems.append(f"{name}: not a valid state name")
    kind = state.get("Type")
    for target in _targets(state):
        if target not in states:
            problems.append(f"{name}: transition to missing state {target}")
    if kind in ("Succeed", "Fail"):
        if "Next" in state or "End" in state:
            problems.append(f"{name}: a {kind} state has no Next or End")
    elif kind == "Choice":
        if not state.get("Choices"):
            problems.append(f"{name}: a Choice needs rules")
        if "Default" not in state:
            problems.append(f"{name}: a Choice without Default fails on no match")
    elif ("Next" in state) == bool(state.get("End")):
        problems.append(f"{name}: exactly one of Next and End")
    if kind == "Wait" and sum(k in state for k in ("Seconds", "SecondsPath", "Timestamp")) != 1:
        problems.append(f"{name}: a Wait needs exactly one duration")
    if kind == "Wait" and "Seconds" in state:
        seconds = state["Seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            problems.append(f"{name}: Seconds must be a non-negative integer")
    return problems


def _targets(state: dict[str, Any]) -> list[str]:
    found = [state[key] for key in ("Next", "Default") if key in state]
    found += [rule["Next"] for rule in state.get("Choices", [])]
    found += [catcher["Next"] for catcher in state.get("Catch", [])]
    return found


def tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Task states' payloads by state name."""
    return {
        name: state["Parameters"]["Payload"]
        for name, state in asl["States"].items()
        if state["Type"] == "Task"
    }


# -- running machines -----------------------------------------------------------------------------------


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    raise NotImplementedError\n")
    return buf.getvalue()


@dataclass
class CampaignEngine:
    """Compiled campaigns deployed on moto's engine; the ``nudge-campaigns`` function runs in-process."""

    sfn: Any
    role_arn: str
    calls: list[dict[str, Any]] = field(default_factory=list)  # every payload the function received

    def deploy(self, campaign_id: str, version: int, definition: dict[str, Any]) -> str:
        asl = compiler.compile_workflow(campaign_id, version, definition)
        created = self.sfn.create_state_machine(
            name=f"campaign-{campaign_id}-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(asl),
            roleArn=self.role_arn,
            type=compiler.STATE_MACHINE_TYPE,
        )
        return str(created["stateMachineArn"])

    def start(
        self,
        machine_arn: str,
        workspace_id: str,
        campaign_id: str,
        cio_id: str,
        *,
        trigger: dict[str, Any] | None = None,
        entered_at: int | None = None,
        name: str | None = None,
    ) -> str:
        payload = {
            "workspace_id": workspace_id,
            "campaign_id": campaign_id,
            "version": 1,
            "cio_id": cio_id,
            "trigger": trigger or {},
            "entered_at": clock.now() if entered_at is None else entered_at,
        }
        started = self.sfn.start_execution(
            stateMachineArn=machine_arn, name=name or uuid.uuid4().hex, input=json.dumps(payload)
        )
        return str(started["executionArn"])

    def finished(self, execution_arn: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"{execution_arn} still RUNNING after {timeout} s")
            time.sleep(0.05)

    def run(self, machine_arn: str, *args: Any, timeout: float = 20.0, **kwargs: Any) -> dict[str, Any]:
        return self.finished(self.start(machine_arn, *args, **kwargs), timeout)

    def entered(self, execution_arn: str) -> list[str]:
        """The names of the states the execution entered, in order (a state entered twice, twice)."""
        history = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in history
            if event["type"].endswith("Entered")
        ]

    def actions(self, execution_name: str) -> list[tuple[str, str | None]]:
        """(action, block) of each call the execution made, in order."""
        return [(c["action"], c.get("block")) for c in self.calls if c.get("execution") == execution_name]


@contextmanager
def campaign_engine() -> Iterator[CampaignEngine]:
    """Inside a ``mock_aws`` (the ``account`` fixture): state machines execute, and the campaigns
    function is ``functions.campaigns.handler.handler`` in this process."""
    from functions.campaigns import handler as campaigns

    engine_holder: list[CampaignEngine] = []

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        event = json.loads(body) if body else {}
        engine_holder[0].calls.append(event)
        # The runtime's stand-in has every attribute a handler reads; Powertools types the real one.
        context: Any = LambdaContext(
            function_name=FUNCTION,
            invoked_function_arn=function_name,
            memory_limit_in_mb=512,
            deadline=time.monotonic() + 60,
        )
        try:
            return json.dumps(campaigns.handler(event, context)).encode()
        except Exception as exc:  # as Lambda does: any exception is a function error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with ExitStack() as stack:
        stack.enter_context(patch.dict(default_user_config, config))
        stack.enter_context(patch.object(LambdaSimpleBackend, "invoke", invoke))
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="nudge-campaigns-test", AssumeRolePolicyDocument="{}")
        boto3.client("lambda", region_name=REGION).create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="index.handler",
            Code={"ZipFile": _dummy_zip()},
        )
        engine = CampaignEngine(boto3.client("stepfunctions", region_name=REGION), role["Role"]["Arn"])
        engine_holder.append(engine)
        try:
            yield engine
        finally:
            _stop_running(engine)


def _stop_running(engine: CampaignEngine) -> None:
    # A test that failed midway leaves executions waiting; stop them before the mock goes away under them.
    for machine in engine.sfn.list_state_machines()["stateMachines"]:
        for execution in engine.sfn.list_executions(
            stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
        )["executions"]:
            engine.sfn.stop_execution(executionArn=execution["executionArn"])
