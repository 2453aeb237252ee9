"""State machines on an in-process moto server, their Lambda tasks run by in-process handlers.

No ``mock_aws`` here: the server is what the local runtime starts, and the fixture leaves nothing behind
(moto config, the Lambda patch, moto's data, the environment) for the ``mock_aws`` tests that follow.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import boto3
import pytest
import requests
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from nudge_tools.local import stepfunctions
from nudge_tools.local.stepfunctions import LocalStepFunctions, LocalStepFunctionsError

REGION = "us-east-1"
TIMEOUT = 10.0  # seconds any execution here may take before the test gives up

Factory = Callable[..., LocalStepFunctions]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("MOTO_PORT", str(port))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    try:
        yield url
    finally:
        # moto's data lives in this process's globals, not in the server: drop it before the next test.
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()


@pytest.fixture
def local_sfn(endpoint: str) -> Iterator[Factory]:
    """Builds LocalStepFunctions on the test's server and closes them all afterwards."""
    made: list[LocalStepFunctions] = []
    config_before = json.dumps(default_user_config, sort_keys=True, default=str)
    invoke_before = LambdaSimpleBackend.__dict__["invoke"]

    def make(handlers: Mapping[str, Callable[[Any, Any], Any]], **kwargs: Any) -> LocalStepFunctions:
        made.append(LocalStepFunctions(endpoint, REGION, handlers, **kwargs))
        return made[-1]

    yield make
    for sfn in made:
        sfn.close()
    assert LambdaSimpleBackend.__dict__["invoke"] is invoke_before
    assert json.dumps(default_user_config, sort_keys=True, default=str) == config_before


@pytest.fixture
def sfn_client(endpoint: str) -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def _start(sfn_client: Any, arn: str, payload: Any = None) -> str:
    # Always named: moto's executing backend names an unnamed execution "None", so a second unnamed start
    # would collide with the first (AWS generates a UUID).
    started = sfn_client.start_execution(
        stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(payload or {})
    )
    return str(started["executionArn"])


def _run(sfn_client: Any, arn: str, payload: Any = None, timeout: float = TIMEOUT) -> dict[str, Any]:
    return _finished(sfn_client, _start(sfn_client, arn, payload), timeout)


def _finished(sfn_client: Any, execution_arn: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn_client.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            pytest.fail(f"{execution_arn} still RUNNING after {timeout} s")
        time.sleep(0.05)


def _output(described: dict[str, Any]) -> Any:
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


def test_two_lambda_tasks_pass_data_along(local_sfn: Factory, sfn_client: Any) -> None:
    contexts: list[Any] = []

    def segment(event: dict[str, Any], context: Any) -> dict[str, Any]:
        contexts.append(context)
        return {**event, "segment": "vip"}

    def render(event: dict[str, Any], context: Any) -> dict[str, Any]:
        contexts.append(context)
        return {"subject": f"Hi {event['name']} ({event['segment']})"}

    local = local_sfn({"nudge-segment": segment, "nudge-render": render})
    arn = local.deploy(
        "campaign",
        {
            "StartAt": "Segment",
            "States": {
                "Segment": {
                    "Type": "Task",
                    "Resource": local.function_arn("nudge-segment"),
                    "Next": "Render",
                },
                "Render": {"Type": "Task", "Resource": local.function_arn("nudge-render"), "End": True},
            },
        },
    )

    assert _output(_run(sfn_client, arn, {"name": "Ada"})) == {"subject": "Hi Ada (vip)"}
    first = contexts[0]
    assert first.function_name == "nudge-segment"
    assert first.invoked_function_arn == local.function_arn("nudge-segment")
    assert first.memory_limit_in_mb > 0
    assert 0 < first.get_remaining_time_in_millis() <= 60_000
    assert first.aws_request_id != contexts[1].aws_request_id


def test_lambda_invoke_integration_wraps_the_result_in_payload(local_sfn: Factory, sfn_client: Any) -> None:
    local = local_sfn({"nudge-double": lambda event, context: {"n": event["n"] * 2}})
    arn = local.deploy(
        "integration",
        {
            "StartAt": "ByName",
            "States": {
                "ByName": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "nudge-double", "Payload.$": "$"},
                    "ResultSelector": {"n.$": "$.Payload.n"},
                    "Next": "ByArn",
                },
                "ByArn": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": local.function_arn("nudge-double"), "Payload.$": "$"},
                    "End": True,
                },
            },
        },
    )

    output = _output(_run(sfn_client, arn, {"n": 3}))
    assert output["Payload"] == {"n": 12}
    assert output["StatusCode"] == 200


@pytest.mark.parametrize("form", ["function-arn", "lambda:invoke"])
def test_handler_error_is_retried_by_asl_retry(local_sfn: Factory, sfn_client: Any, form: str) -> None:
    calls: list[dict[str, Any]] = []

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        if len(calls) == 1:
            raise ValueError("first attempt fails")
        return {"sent": True}

    local = local_sfn({"nudge-send": flaky})
    task: dict[str, Any] = (
        {"Resource": local.function_arn("nudge-send")}
        if form == "function-arn"
        else {
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "nudge-send", "Payload.$": "$"},
            "OutputPath": "$.Payload",
        }
    )
    arn = local.deploy(
        "retry",
        {
            "StartAt": "Send",
            "States": {
                "Send": {
                    "Type": "Task",
                    **task,
                    "Retry": [{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                    "End": True,
                }
            },
        },
    )

    assert _output(_run(sfn_client, arn, {"to": "ada@example.com"})) == {"sent": True}
    assert calls == [{"to": "ada@example.com"}, {"to": "ada@example.com"}]


def test_catch_routes_a_function_error_to_the_fallback(local_sfn: Factory, sfn_client: Any) -> None:
    def broken(event: dict[str, Any], context: Any) -> None:
        raise RuntimeError("template missing")

    local = local_sfn({"nudge-render": broken})
    arn = local.deploy(
        "catch",
        {
            "StartAt": "Render",
            "States": {
                "Render": {
                    "Type": "Task",
                    "Resource": local.function_arn("nudge-render"),
                    "Catch": [
                        {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Fallback"}
                    ],
                    "End": True,
                },
                "Fallback": {
                    "Type": "Pass",
                    "Parameters": {"fallback": True, "error.$": "$.error"},
                    "End": True,
                },
            },
        },
    )

    output = _output(_run(sfn_client, arn))
    assert output["fallback"] is True
    assert output["error"]["Error"] == "RuntimeError"
    cause = json.loads(output["error"]["Cause"])
    assert cause["errorType"] == "RuntimeError"
    assert cause["errorMessage"] == "template missing"


def test_an_uncaught_function_error_fails_the_execution_with_its_class_name(
    local_sfn: Factory, sfn_client: Any
) -> None:
    def broken(event: dict[str, Any], context: Any) -> None:
        raise KeyError("email")

    local = local_sfn({"nudge-render": broken})
    arn = local.deploy(
        "uncaught",
        {
            "StartAt": "R",
            "States": {"R": {"Type": "Task", "Resource": local.function_arn("nudge-render"), "End": True}},
        },
    )

    described = _run(sfn_client, arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "KeyError"


def test_wait_is_shortened_by_the_time_scale(local_sfn: Factory, sfn_client: Any) -> None:
    local = local_sfn({}, time_scale=3600)
    arn = local.deploy(
        "wait",
        {
            "StartAt": "OneHour",
            "States": {
                "OneHour": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
                "Done": {"Type": "Pass", "Result": {"waited": True}, "End": True},
            },
        },
    )

    deployed = json.loads(sfn_client.describe_state_machine(stateMachineArn=arn)["definition"])
    assert deployed["States"]["OneHour"]["Seconds"] == 1
    # One real second; the bound only proves the hour did not pass.
    assert _output(_run(sfn_client, arn, timeout=5.0)) == {"waited": True}


def test_scaled_recurses_rounds_and_leaves_paths_alone(endpoint: str) -> None:
    local = LocalStepFunctions(endpoint, REGION, {}, time_scale=3600)
    try:
        wait = {"Type": "Wait", "Seconds": 86_400, "End": True}
        definition: dict[str, Any] = {
            "StartAt": "P",
            "States": {
                "Short": {"Type": "Wait", "Seconds": 1700, "Next": "Half"},  # 0.47 s -> 0
                "Half": {"Type": "Wait", "Seconds": 1800, "Next": "Path"},  # 0.5 s -> 1 (halves up)
                "Path": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "At"},
                "At": {"Type": "Wait", "Timestamp": "2030-01-01T00:00:00Z", "Next": "P"},
                "P": {
                    "Type": "Parallel",
                    "Branches": [{"StartAt": "W", "States": {"W": dict(wait)}}],
                    "Next": "M",
                },
                "M": {"Type": "Map", "Iterator": {"StartAt": "W", "States": {"W": dict(wait)}}, "Next": "M2"},
                "M2": {
                    "Type": "Map",
                    "ItemProcessor": {"StartAt": "W", "States": {"W": dict(wait)}},
                    "End": True,
                },
            },
        }
        before = json.dumps(definition)

        scaled = local.scaled(definition)

        assert json.dumps(definition) == before  # pure
        states = scaled["States"]
        assert states["Short"]["Seconds"] == 0
        assert states["Half"]["Seconds"] == 1
        assert states["Path"] == definition["States"]["Path"]
        assert states["At"] == definition["States"]["At"]
        assert states["P"]["Branches"][0]["States"]["W"]["Seconds"] == 24
        assert states["M"]["Iterator"]["States"]["W"]["Seconds"] == 24
        assert states["M2"]["ItemProcessor"]["States"]["W"]["Seconds"] == 24
    finally:
        local.close()


def test_update_publishes_a_version_and_a_running_execution_keeps_its_definition(
    local_sfn: Factory, sfn_client: Any
) -> None:
    entered, release = threading.Event(), threading.Event()

    def gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        entered.set()
        release.wait(TIMEOUT)  # holds the first execution inside version 1 while version 2 is deployed
        return event

    local = local_sfn({"nudge-gate": gate})

    def version(label: str) -> dict[str, Any]:
        return {
            "StartAt": "Gate",
            "States": {
                "Gate": {"Type": "Task", "Resource": local.function_arn("nudge-gate"), "Next": "Label"},
                "Label": {"Type": "Pass", "Result": {"label": label}, "End": True},
            },
        }

    arn = local.deploy("versions", version("v1"))
    old = _start(sfn_client, arn)
    assert entered.wait(TIMEOUT)

    assert local.deploy("versions", version("v2")) == arn
    new = _start(sfn_client, arn)
    release.set()

    assert _output(_finished(sfn_client, old)) == {"label": "v1"}
    assert _output(_finished(sfn_client, new)) == {"label": "v2"}
    labels = {
        v: json.loads(sfn_client.describe_state_machine(stateMachineArn=f"{arn}:{v}")["definition"])[
            "States"
        ]["Label"]["Result"]["label"]
        for v in (1, 2)
    }
    assert labels == {1: "v1", 2: "v2"}


def test_other_clients_reach_the_handlers_through_lambda_invoke(local_sfn: Factory, endpoint: str) -> None:
    def answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {"echo": event, "by": context.function_name}

    local_sfn({"nudge-echo": answer})
    lam = boto3.client("lambda", region_name=REGION)

    ok = lam.invoke(FunctionName="nudge-echo", Payload=json.dumps({"a": 1}))
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read()) == {"echo": {"a": 1}, "by": "nudge-echo"}

    failed = lam.invoke(FunctionName="nudge-echo", Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"


def test_the_engine_s_lambda_tasks_are_answered_in_process_and_only_others_go_through_a_request(
    local_sfn: Factory, sfn_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    requested: list[str] = []
    engine_path = stepfunctions._ENGINE_INVOKE

    def counted(parameters: dict[str, Any], region: str, credentials: Any) -> Any:
        requested.append(parameters["FunctionName"])
        return engine_path(parameters, region, credentials)

    monkeypatch.setattr(stepfunctions, "_ENGINE_INVOKE", counted)

    def broken(event: dict[str, Any], context: Any) -> None:
        raise KeyError("missing")

    local = local_sfn({"nudge-double": lambda event, context: {"n": event["n"] * 2}, "nudge-broken": broken})
    # A function of moto's own, not routed here: moto answers by echoing the payload.
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="nudge-echo",
        Runtime="python3.12",
        Role=local.role_arn,
        Handler="index.handler",
        Code={"ZipFile": stepfunctions._dummy_zip()},
    )

    def task(function: str, then: str | None) -> dict[str, Any]:
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function, "Payload.$": "$"},
            "OutputPath": "$.Payload",
        }
        return {**state, "Next": then} if then else {**state, "End": True}

    arn = local.deploy(
        "in-process",
        {
            "StartAt": "Double",
            "States": {
                "Double": task("nudge-double", "Echo"),
                "Echo": task("nudge-echo", "Broken"),
                "Broken": {
                    **task("nudge-broken", None),
                    "Catch": [{"ErrorEquals": ["KeyError"], "ResultPath": "$.error", "Next": "Caught"}],
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        },
    )

    output = _output(_run(sfn_client, arn, {"n": 4}))
    assert output["n"] == 8 and output["error"]["Error"] == "KeyError"
    assert requested == ["nudge-echo"]


def test_close_puts_moto_back(endpoint: str) -> None:
    invoke_before = LambdaSimpleBackend.__dict__["invoke"]
    engine_before = lambda_eval_utils._invoke_lambda_function
    lambda_before = dict(default_user_config["lambda"])

    local = LocalStepFunctions(endpoint, REGION, {"nudge-x": lambda event, context: None})
    assert LambdaSimpleBackend.__dict__["invoke"] is not invoke_before
    assert lambda_eval_utils._invoke_lambda_function is not engine_before
    assert default_user_config["stepfunctions"]["execute_state_machine"] is True
    local.close()
    local.close()  # idempotent

    assert LambdaSimpleBackend.__dict__["invoke"] is invoke_before
    assert lambda_eval_utils._invoke_lambda_function is engine_before
    assert default_user_config["lambda"] == lambda_before
    assert default_user_config["stepfunctions"].get("execute_state_machine", False) is False


def test_a_wrong_moto_port_is_refused(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_PORT", "5000")
    with pytest.raises(LocalStepFunctionsError, match="MOTO_PORT"):
        LocalStepFunctions(endpoint, REGION, {})
