"""A validated campaign workflow to Amazon States Language: one Step Functions execution per person per
entry, its Task states answered by the ``campaigns`` function (``nudge.campaigns.steps``).

Input: the definition as ``definition`` normalizes it (defaults filled). Output: the ASL as a dict. The
state machine is created as STANDARD (``STATE_MACHINE_TYPE``).

State names (only ``[A-Za-z0-9_-]`` and ``.``, which AWS accepts and its history and logs show as is):

- ``journey.enter``: Task ``enter``, the first state; records the entry.
- ``block.<id>``: a block's first state, so an edge to block ``<id>`` always targets it. Its other states
  are ``block.<id>.<part>``: ``.route`` (the Choice after branch, multi_split, random_split),
  ``.check``/``.checked`` (the Task re-checking filters and goal after a wait, and its Choice),
  ``.poll``/``.polled``/``.wait``/``.timeout`` (wait_until), ``.open``/``.wait`` (time_window).
- ``journey.completed`` / ``journey.exited`` / ``journey.converted`` / ``journey.failed``: Task ``end``
  with that outcome, then ``journey.done`` (Succeed) or, after ``failed``, ``journey.fail`` (Fail). An
  ``exit`` block and a wait_until timing out with ``on_timeout: exit`` end through their own ``end`` Task
  (``block.<id>`` / ``block.<id>.timeout``) so the exit is counted on the block.

Block ids are ``[A-Za-z0-9_-]{1,64}`` (``definition``), so the longest name, ``block.<id>.checked``, has
78 characters of the 80 allowed; an id outside that pattern is named by a hash (``block.h<16 hex>``).

Every Task calls the function through the ``lambda:invoke`` integration with the payload contract the
steps read (``_payload``): the person and execution from the input and context object, and what the step
needs from *this* version of the definition (filters, goal, settings, block parameters) embedded at
compile time, so a running execution finishes on the version it started with whatever is activated
later. Unreachable states are left out (AWS rejects a definition that has any).

Waiting (the ``waiting`` metric) costs no state: a Task whose outcome leads straight into a wait carries
``waits``, ``{outcome: wait block id}`` (``steps`` explains the outcomes), and its step counts the person
in; the ``check`` after the wait counts them out. A delay is a bare Wait state, so the Tasks before it
carry it (``next``, a branch's ``true``/``false``, a split's branch index or ``default``, a check's
``next``); a wait_until's first poll (``false``) and a closed time_window (``wait``) carry their own
block, since the person arrives at those Tasks. Outcomes leading elsewhere are left out, and so is
``waits`` when none leads to a wait.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from typing import Any

from nudge.campaigns import journey_outcomes
from nudge.campaigns.definition import send_topic
from nudge.settings import CAMPAIGNS_FUNCTION_ENV, get_settings

FUNCTION_ENV = CAMPAIGNS_FUNCTION_ENV
DEFAULT_FUNCTION = "nudge-campaigns"

# STANDARD, not EXPRESS: journeys wait for days (delays, wait_until, time windows) and an Express execution
# ends after 5 minutes. Standard also gives exactly-once state transitions and a year of run time; its
# price is per state transition (see the cost note in the tests: 8 for send -> delay -> send).
STATE_MACHINE_TYPE = "STANDARD"

ENTER = "journey.enter"
COMPLETED = "journey.completed"
EXITED = "journey.exited"
CONVERTED = "journey.converted"
FAILED = "journey.failed"
DONE = "journey.done"
FAIL = "journey.fail"

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# Lambda's own transient failures, retried with backoff.
TRANSIENT_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# A step whose read or write failed for now (DynamoDB throttling, a 5xx, no answer) raises
# ``steps.TransientStorageError``; Lambda reports the class name as the errorType, which is the error name
# a Retry matches. Retried with backoff (2 s doubling: about two minutes over six tries), which is safe
# since every step's writes are idempotent. Any other step error is not retried: steps raise only for
# what a retry would not fix (bad data), and the Catch ends the journey as failed.
TRANSIENT_STORAGE_ERROR = "TransientStorageError"
RETRY = [
    {"ErrorEquals": TRANSIENT_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0},
    {"ErrorEquals": [TRANSIENT_STORAGE_ERROR], "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0},
]

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the definition's block id pattern
_NEXT_KEYS = ("next", "true", "false", "default")


class CompileError(ValueError):
    """The definition cannot be compiled (it was not validated, or validation missed something)."""


def function_reference() -> str:
    """The campaigns function's name or ARN, as the deployment sets it for whoever compiles."""
    return get_settings().campaigns_function or DEFAULT_FUNCTION


def block_state(block_id: str) -> str:
    """The name of a block's first state."""
    return f"block.{_state_id(block_id)}"


def _state_id(block_id: str) -> str:
    if _SAFE_ID.match(block_id):
        return block_id
    # Anything else could hold characters AWS forbids in state names, or a "." that would collide with
    # another block's part names.
    return "h" + hashlib.sha256(block_id.encode()).hexdigest()[:16]


def compile_workflow(
    campaign_id: str, version: int, definition: dict[str, Any], *, function: str | None = None
) -> dict[str, Any]:
    """The ASL of ``definition``'s workflow. ``function`` overrides ``function_reference()``."""
    return _Compiler(campaign_id, version, definition, function or function_reference()).compile()


class _Compiler:
    def __init__(self, campaign_id: str, version: int, definition: dict[str, Any], function: str) -> None:
        self.campaign_id = campaign_id
        self.version = version
        self.definition = definition
        self.function = function
        workflow = definition.get("workflow") or {}
        self.blocks: dict[str, dict[str, Any]] = workflow.get("blocks") or {}
        self.start = workflow.get("start")
        self.settings: dict[str, Any] = definition.get("settings") or {}
        self.states: dict[str, dict[str, Any]] = {}
        self.cyclic = _blocks_on_cycles(self.blocks)

    # -- the machine ------------------------------------------------------------------------------------

    def compile(self) -> dict[str, Any]:
        if not isinstance(self.start, str) or self.start not in self.blocks:
            raise CompileError(f"workflow.start {self.start!r} is not a block")
        waits = self._waits({"next": self.start})
        enter = self._task("enter", None, {}, self._target(self.start), waits=waits)
        self._add(ENTER, enter)
        for block_id, block in self.blocks.items():
            self._block(block_id, block)
        self._add(COMPLETED, self._end_task(journey_outcomes.COMPLETED, None))
        self._add(EXITED, self._end_task(journey_outcomes.EXITED, "$.step.value.block"))
        self._add(CONVERTED, self._end_task(journey_outcomes.CONVERTED, "$.step.value.block"))
        failed = self._task("end", None, {"outcome": journey_outcomes.FAILED}, FAIL, catch=False)
        failed["Parameters"]["Payload"]["error.$"] = "$.error"
        self._add(FAILED, failed)
        self._add(DONE, {"Type": "Succeed"})
        self._add(FAIL, {"Type": "Fail", "Error": "Campaign.StepFailed", "Cause": "a campaign step failed"})
        return {
            "Comment": f"Nudge campaign {self.campaign_id} version {self.version}",
            "StartAt": ENTER,
            "States": {name: self.states[name] for name in _reachable(ENTER, self.states)},
        }

    def _add(self, name: str, state: dict[str, Any]) -> None:
        if name in self.states:
            raise CompileError(f"two states named {name}")  # only two block ids hashing alike
        self.states[name] = state

    def _target(self, block_id: Any) -> str:
        """The state an edge to ``block_id`` leads to; no block ends the journey."""
        if block_id is None:
            return COMPLETED
        if not isinstance(block_id, str) or block_id not in self.blocks:
            raise CompileError(f"edge to unknown block {block_id!r}")
        return block_state(block_id)

    # -- blocks -----------------------------------------------------------------------------------------

    def _block(self, block_id: str, block: dict[str, Any]) -> None:
        kind = block.get("type")
        compile_kind = getattr(self, f"_compile_{kind}", None)
        if not isinstance(kind, str) or compile_kind is None:
            raise CompileError(f"block {block_id}: unknown type {kind!r}")
        compile_kind(block_id, block, block_state(block_id))

    def _compile_send(self, block_id: str, block: dict[str, Any], name: str) -> None:
        params: dict[str, Any] = {
            "channel": block.get("channel"),
            "template_id": block.get("template_id"),
            "campaign_name": self.definition.get("name"),
            "topic": send_topic(block),
            "filters": self.definition.get("filters"),
        }
        task = self._task(
            "send", block_id, params, self._target(block.get("next")), waits=self._next_waits(block)
        )
        if block_id in self.cyclic:
            # The block can run more than once in one execution: each visit is its own message. A retried
            # Task keeps the time its state was entered, so a retry is still the same message.
            task["Parameters"]["Payload"]["visit.$"] = "$$.State.EnteredTime"
        self._add(name, task)

    def _compile_delay(self, block_id: str, block: dict[str, Any], name: str) -> None:
        seconds = _seconds(block.get("seconds"), f"block {block_id}: seconds")
        self._add(name, {"Type": "Wait", "Seconds": seconds, "Next": f"{name}.check"})
        self._after_wait(block_id, block.get("next"))

    def _compile_wait_until(self, block_id: str, block: dict[str, Any], name: str) -> None:
        """Poll the condition: matched goes on; else wait ``poll_seconds`` and poll again, until
        ``max_seconds`` (if given) have been waited. The poll count rides through the condition step
        (``States.MathAdd`` in its payload, echoed back), so a poll costs three transitions."""
        after = self._target(block.get("next"))
        check = f"{name}.check"
        poll, polled, wait = f"{name}.poll", f"{name}.polled", f"{name}.wait"
        poll_seconds = _seconds(block.get("poll_seconds", 3600), f"block {block_id}: poll_seconds", 1)
        max_seconds = block.get("max_seconds")
        choices: list[dict[str, Any]] = [
            # Matched at the first poll: nothing was waited, so nothing to re-check.
            {
                "And": [_is_true("$.step.value.matched"), _number_equals("$.step.value.poll", 1)],
                "Next": after,
            },
            {**_is_true("$.step.value.matched"), "Next": check},
        ]
        if max_seconds is not None:
            max_seconds = _seconds(max_seconds, f"block {block_id}: max_seconds", 1)
            poll_seconds = min(poll_seconds, max_seconds)
            polls = math.ceil(max_seconds / poll_seconds)  # waits before giving up
            on_timeout = f"{name}.timeout" if block.get("on_timeout", "continue") == "exit" else check
            choices.append({"Variable": "$.step.value.poll", "NumericGreaterThan": polls, "Next": on_timeout})
        self._add(
            name,
            {"Type": "Pass", "Result": {"value": {"poll": 0}}, "ResultPath": "$.step", "Next": poll},
        )
        # The first poll is where the person arrives: not matched, they wait here; matched, they go on.
        waits = {**self._waits({"true": block.get("next")}), "false": block_id}
        task = self._task("condition", block_id, {"condition": block.get("condition")}, polled, waits=waits)
        task["Parameters"]["Payload"]["poll.$"] = "States.MathAdd($.step.value.poll, 1)"
        self._add(poll, task)
        self._add(polled, {"Type": "Choice", "Choices": choices, "Default": wait})
        self._add(wait, {"Type": "Wait", "Seconds": poll_seconds, "Next": poll})
        if max_seconds is not None and on_timeout != check:
            self._add(on_timeout, self._end_task(journey_outcomes.EXITED, None, block=block_id))
        self._after_wait(block_id, block.get("next"))

    def _compile_time_window(self, block_id: str, block: dict[str, Any], name: str) -> None:
        after = self._target(block.get("next"))
        params = {
            "hours": block.get("hours"),
            "days": block.get("days"),
            "timezone": self.settings.get("timezone", "UTC"),
        }
        waits = {"wait": block_id, **self._next_waits(block)}  # closed: the person waits here
        self._add(name, self._task("window", block_id, params, f"{name}.open", waits=waits))
        self._add(
            f"{name}.open",
            {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.step.value.wait_seconds", "NumericGreaterThan": 0, "Next": f"{name}.wait"}
                ],
                "Default": after,
            },
        )
        # SecondsPath: the step already converted the wait to real seconds (clock.real_seconds).
        self._add(
            f"{name}.wait",
            {"Type": "Wait", "SecondsPath": "$.step.value.wait_seconds", "Next": f"{name}.check"},
        )
        self._after_wait(block_id, block.get("next"))

    def _compile_branch(self, block_id: str, block: dict[str, Any], name: str) -> None:
        route = f"{name}.route"
        waits = self._waits({"true": block.get("true"), "false": block.get("false")})
        self._add(
            name, self._task("condition", block_id, {"condition": block.get("condition")}, route, waits=waits)
        )
        self._add(
            route,
            {
                "Type": "Choice",
                "Choices": [{**_is_true("$.step.value.matched"), "Next": self._target(block.get("true"))}],
                "Default": self._target(block.get("false")),
            },
        )

    def _compile_multi_split(self, block_id: str, block: dict[str, Any], name: str) -> None:
        branches = block.get("branches") or []
        if not branches:
            raise CompileError(f"block {block_id}: a multi_split needs branches")
        route = f"{name}.route"
        params = {"conditions": [branch.get("condition") for branch in branches]}
        waits = self._waits({**_branch_outcomes(branches), "default": block.get("default")})
        self._add(name, self._task("split", block_id, params, route, waits=waits))
        self._add(route, self._index_choice(branches, self._target(block.get("default"))))

    def _compile_random_split(self, block_id: str, block: dict[str, Any], name: str) -> None:
        branches = block.get("branches") or []
        if not branches:
            raise CompileError(f"block {block_id}: a random_split needs branches")
        route = f"{name}.route"
        params = {"percents": [branch.get("percent") for branch in branches]}
        self._add(
            name, self._task("cohort", block_id, params, route, waits=self._waits(_branch_outcomes(branches)))
        )
        # The step always answers an index; the default keeps the Choice total.
        last = self._target(branches[-1].get("next"))
        self._add(route, self._index_choice(branches[:-1], last))

    def _compile_set_attribute(self, block_id: str, block: dict[str, Any], name: str) -> None:
        if not isinstance(block.get("attribute"), str):
            raise CompileError(f"block {block_id}: attribute must be a string")
        # The value as JSON text: an object value's keys would otherwise be read as ASL paths ("x.$").
        params = {"attribute": block["attribute"], "value_json": json.dumps(block.get("value"))}
        after = self._target(block.get("next"))
        self._add(name, self._task("set_attribute", block_id, params, after, waits=self._next_waits(block)))

    def _compile_segment(self, block_id: str, block: dict[str, Any], name: str) -> None:
        operation = block.get("action")
        if operation not in ("add", "remove"):
            raise CompileError(f"block {block_id}: action must be add or remove")
        # "operation", because "action" names the step in every payload.
        params = {"operation": operation, "segment_id": block.get("segment_id")}
        after = self._target(block.get("next"))
        self._add(name, self._task("segment", block_id, params, after, waits=self._next_waits(block)))

    def _compile_exit(self, block_id: str, block: dict[str, Any], name: str) -> None:  # noqa: ARG002 (every _compile_<kind> takes what the dispatch passes)
        self._add(name, self._end_task(journey_outcomes.EXITED, None, block=block_id))

    # -- shared pieces ----------------------------------------------------------------------------------

    def _after_wait(self, block_id: str, next_block: Any) -> None:
        """``block.<id>.check``: the re-check after a wait (filters, exit conditions, goal), and its
        Choice, going on to ``next_block`` unless the person exits."""
        after = self._target(next_block)
        name = block_state(block_id)
        check, checked = f"{name}.check", f"{name}.checked"
        params = {
            "filters": self.definition.get("filters"),
            "goal": self.settings.get("goal"),
            "settings": {
                "exit": self.settings.get("exit", "at_end"),
                "goal_window_seconds": self.settings.get("goal_window_seconds", 604800),
            },
        }
        self._add(
            check, self._task("check", block_id, params, checked, waits=self._waits({"next": next_block}))
        )
        exit_now = _is_true("$.step.value.exit")
        self._add(
            checked,
            {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            exit_now,
                            {"Variable": "$.step.value.reason", "StringEquals": "converted"},
                        ],
                        "Next": CONVERTED,
                    },
                    {**exit_now, "Next": EXITED},
                ],
                "Default": after,
            },
        )

    def _index_choice(self, branches: list[dict[str, Any]], default: str) -> dict[str, Any]:
        choices = [
            {**_number_equals("$.step.value.branch", index), "Next": self._target(branch.get("next"))}
            for index, branch in enumerate(branches)
        ]
        if not choices:  # a single-branch random split: nothing to choose
            return {"Type": "Pass", "Next": default}
        return {"Type": "Choice", "Choices": choices, "Default": default}

    def _end_task(self, outcome: str, block_path: str | None, *, block: str | None = None) -> dict[str, Any]:
        task = self._task("end", block, {"outcome": outcome}, DONE)
        if block_path is not None:
            task["Parameters"]["Payload"]["block.$"] = block_path
            del task["Parameters"]["Payload"]["block"]
        return task

    def _waits(self, outcomes: dict[str, Any]) -> dict[str, str]:
        """The outcomes (to next block ids) whose next block is a delay: the person enters its Wait
        state straight from this Task, so this Task's step counts them in."""
        return {
            outcome: target
            for outcome, target in outcomes.items()
            if isinstance(target, str) and (self.blocks.get(target) or {}).get("type") == "delay"
        }

    def _next_waits(self, block: dict[str, Any]) -> dict[str, str]:
        return self._waits({"next": block.get("next")})

    def _task(
        self,
        action: str,
        block: str | None,
        params: dict[str, Any],
        next_state: str,
        *,
        catch: bool = True,
        waits: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        _check_literal(params, f"block {block}")
        payload = self._payload(action, block, params)
        if waits:
            payload["waits"] = waits
        task: dict[str, Any] = {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": self.function, "Payload": payload},
            "ResultSelector": {"value.$": "$.Payload"},
            "ResultPath": "$.step",
            "Retry": RETRY,
            "Next": next_state,
        }
        if catch:
            # A step that keeps failing ends the journey as failed, never leaving it "running".
            task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}]
        return task

    def _payload(self, action: str, block: str | None, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "action": action,
            "workspace_id.$": "$.workspace_id",
            "campaign_id.$": "$.campaign_id",
            "cio_id.$": "$.cio_id",
            "execution.$": "$$.Execution.Name",
            "entered_at.$": "$.entered_at",
            "trigger.$": "$.trigger",
            "version": self.version,
            "block": block,
            **params,
        }


# -- helpers --------------------------------------------------------------------------------------------


def _is_true(path: str) -> dict[str, Any]:
    return {"Variable": path, "BooleanEquals": True}


def _number_equals(path: str, value: int) -> dict[str, Any]:
    return {"Variable": path, "NumericEquals": value}


def _seconds(value: Any, what: str, minimum: int = 0) -> int:
    # ASL takes only a non-negative integer for Seconds.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CompileError(f"{what} must be an integer of at least {minimum}")
    return value


def _check_literal(value: Any, where: str) -> None:
    """Parameters treat a key ending in ``.$`` as a path: embedded data must hold none."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.endswith(".$"):
                raise CompileError(f"{where}: the key {key!r} cannot be embedded in a state machine")
            _check_literal(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_literal(item, where)


def _branch_outcomes(branches: list[dict[str, Any]]) -> dict[str, Any]:
    """A split's outcomes: each branch's index, as text, to its next block."""
    return {str(index): branch.get("next") for index, branch in enumerate(branches)}


def _edges(block: dict[str, Any]) -> Iterator[str]:
    for key in _NEXT_KEYS:
        if isinstance(block.get(key), str):
            yield block[key]
    for branch in block.get("branches") or []:
        if isinstance(branch, dict) and isinstance(branch.get("next"), str):
            yield branch["next"]


def _blocks_on_cycles(blocks: dict[str, dict[str, Any]]) -> set[str]:
    """The blocks from which the workflow can come back to themselves."""
    graph = {block_id: [n for n in _edges(block) if n in blocks] for block_id, block in blocks.items()}
    on_cycle = set()
    for origin in graph:
        seen: set[str] = set()
        stack = list(graph[origin])
        while stack:
            node = stack.pop()
            if node == origin:
                on_cycle.add(origin)
                break
            if node not in seen:
                seen.add(node)
                stack.extend(graph[node])
    return on_cycle


def _state_targets(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _reachable(start: str, states: dict[str, dict[str, Any]]) -> list[str]:
    """State names reachable from ``start``, in the order they were added."""
    seen = {start}
    stack = [start]
    while stack:
        for target in _state_targets(states[stack.pop()]):
            if target not in states:
                raise CompileError(f"a transition to the missing state {target}")
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return [name for name in states if name in seen]


# -- resuming an execution at a state -------------------------------------------------------------------

RESUME_ENTRY = "resume.entry"
RESUME_ROUTE = "resume.route"
RESUME_UNKNOWN = "resume.unknown"
RESUME_INPUT = "resume"  # the input field: {"state": <a top-level state's name>, "seconds": <a Wait's rest>}


def resumable(asl: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``asl`` whose executions can start at any of its top-level states.

    An execution started with ``{"resume": {"state": <name>, "seconds": <n>}, ...}`` jumps to that state
    with that input (``resume`` included) as the state's input; without ``resume`` it starts at ``StartAt`` as
    before. A Wait state is resumed through a twin that waits ``seconds`` (what was left of its wait,
    ``SecondsPath``) and goes on where the Wait would have. Re-driving an execution that was lost half way
    (the local runtime after a restart, a migration between accounts) then continues it instead of
    restarting the journey, which would send its messages again.

    Costs two Choice transitions per execution (one without ``resume``). A state name that is not in
    the machine (its definition changed since) fails the execution as ``Resume.UnknownState`` rather
    than starting it over from the beginning."""
    asl = json.loads(json.dumps(asl))  # a deep copy: the caller's definition stays as it was
    states: dict[str, dict[str, Any]] = asl["States"]
    taken = [name for name in (RESUME_ENTRY, RESUME_ROUTE, RESUME_UNKNOWN) if name in states]
    if taken:
        raise CompileError(f"the state machine is already resumable (it has {taken[0]})")
    field = f"$.{RESUME_INPUT}"
    choices: list[dict[str, Any]] = []
    twins: dict[str, dict[str, Any]] = {}
    for index, (name, state) in enumerate(states.items()):
        target = name
        if state.get("Type") == "Wait":
            target = f"resume.wait.{index}"  # indexed: "<name>.resume" could pass the 80 characters
            twin = {k: v for k, v in state.items() if k not in _WAIT_DURATION_KEYS}
            twins[target] = {**twin, "SecondsPath": f"{field}.seconds"}
        choices.append({"Variable": f"{field}.state", "StringEquals": name, "Next": target})
    # An execution resumed into a twin can be lost again while it waits there: it resumes at the twin.
    choices += [{"Variable": f"{field}.state", "StringEquals": twin, "Next": twin} for twin in twins]
    entry = {
        "Type": "Choice",
        # Checked on its own: a comparison on a missing field is a runtime error, not a mismatch.
        "Choices": [{"Variable": field, "IsPresent": True, "Next": RESUME_ROUTE}],
        "Default": asl["StartAt"],
    }
    route = {"Type": "Choice", "Choices": choices, "Default": RESUME_UNKNOWN}
    unknown = {
        "Type": "Fail",
        "Error": "Resume.UnknownState",
        "Cause": "the state to resume at is not in this machine",
    }
    return {
        **asl,
        "StartAt": RESUME_ENTRY,
        "States": {RESUME_ENTRY: entry, RESUME_ROUTE: route, RESUME_UNKNOWN: unknown, **states, **twins},
    }


_WAIT_DURATION_KEYS = ("Seconds", "SecondsPath", "Timestamp", "TimestampPath")
