"""Run the real state machines on moto's Step Functions engine, with their Lambda tasks answered by the
real handlers running in this process.

The local runtime starts a ``ThreadedMotoServer`` in this process. moto executes ASL once
``{"stepfunctions": {"execute_state_machine": True}}`` is set, but a Lambda Task makes the engine call
``lambda:Invoke`` over HTTP on ``http://localhost:$MOTO_PORT`` (hence ``MOTO_PORT`` must name the server's
port), and moto's Lambda would then start a Docker container. We turn Docker off
(``{"lambda": {"use_docker": False}}``), which makes moto answer every invocation from
``LambdaSimpleBackend.invoke``, and replace that one method with a router that calls the in-process
handler registered for the function's name (other functions keep moto's behaviour).

Why there and not a ``before-call.lambda.Invoke`` hook on a botocore session: the engine builds its client
from boto3's process-wide default session, which ``mock_aws`` and ``boto3.setup_default_session`` replace
(silently dropping the hook), and a hook has to forge botocore's parsed response. The server-side seam is
reached by every Invoke that hits the server, whoever sends it (the engine, our own code, the AWS CLI), and
it answers on the wire as Lambda does: an unhandled exception becomes ``X-Amz-Function-Error: Unhandled``
with ``{"errorType": <exception class name>, ...}``, which the engine itself turns into the ASL error
name that ``Retry``/``Catch`` match (``ValueError``, ``States.TaskFailed``, ``States.ALL``).

The patch only works while the server runs in this process (checked at start-up); ``close()`` restores the
method and moto's configuration.

Versions: every ``deploy`` publishes a version (``<arn>:1``, ``<arn>:2``...). moto 5.2 snapshots the
definition when an execution starts, so an execution keeps the definition it started with whatever is
deployed later, as in AWS. What moto 5.2 lacks: ``StartExecution`` on a version ARN fails (HTTP 500,
``StateMachineVersion`` has no ``_handle_name_input_idempotency``), on an alias ARN it answers
``StateMachineDoesNotExist``, and ``ListStateMachineVersions`` is not implemented. So executions start on
the unqualified ARN (the latest definition); a version ARN can only be described.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import math
import os
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3
import requests
from botocore.exceptions import ClientError
from moto.awslambda.exceptions import LambdaClientError, UnknownFunctionException
from moto.awslambda.utils import get_backend as lambda_backend
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.iam.models import get_account_id_from
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

LOG = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

# What the dummy functions declare. The context reports them; nothing enforces them locally.
FUNCTION_TIMEOUT_SECONDS = 60
FUNCTION_MEMORY_MB = 512
ROLE_NAME = "nudge-local"

_MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


class LocalStepFunctionsError(RuntimeError):
    """The local Step Functions set-up cannot work as asked."""


@dataclass(frozen=True)
class LambdaContext:
    """The Lambda context object the Python runtime hands a handler (the parts anyone reads)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""
    deadline: float = field(default=0.0, repr=False)  # time.monotonic() when the timeout would strike

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class _Router:
    """Function name -> handler, shared by every server thread; owns the one patch of moto."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, tuple[object, Handler]] = {}
        self._original: Callable[..., Any] | None = None
        self._engine_original: Callable[..., Any] = lambda_eval_utils._invoke_lambda_function

    def add(self, owner: object, handlers: Mapping[str, Handler]) -> None:
        with self._lock:
            taken = sorted(
                name for name in handlers if name in self._routes and self._routes[name][0] is not owner
            )
            if taken:
                raise LocalStepFunctionsError(
                    f"functions already routed by another LocalStepFunctions: {taken}"
                )
            if self._original is None:
                self._original = LambdaSimpleBackend.__dict__["invoke"]
                # The patch: see the module docstring. setattr, because mypy forbids assigning to a method.
                setattr(LambdaSimpleBackend, "invoke", _routed_invoke)  # noqa: B010
                self._engine_original = lambda_eval_utils._invoke_lambda_function
                lambda_eval_utils._invoke_lambda_function = _engine_invoke
            for name, handler in handlers.items():
                self._routes[name] = (owner, handler)

    def remove(self, owner: object) -> None:
        with self._lock:
            for name in [name for name, (who, _) in self._routes.items() if who is owner]:
                del self._routes[name]
            if not self._routes and self._original is not None:
                # Someone may have patched over us since (a test's mock): then theirs stays.
                if LambdaSimpleBackend.__dict__.get("invoke") is _routed_invoke:
                    setattr(LambdaSimpleBackend, "invoke", self._original)  # noqa: B010
                if lambda_eval_utils._invoke_lambda_function is _engine_invoke:
                    lambda_eval_utils._invoke_lambda_function = self._engine_original
                self._original = None

    def lookup(self, name: str | None) -> tuple[Handler | None, Callable[..., Any] | None]:
        with self._lock:
            route = self._routes.get(name) if name is not None else None
            return (route[1] if route else None), self._original


_ROUTER = _Router()
_MOTO_INVOKE = LambdaSimpleBackend.invoke  # moto's own, for a request that races close()


def _routed_invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> str | bytes | None:
    """Stands in for ``LambdaSimpleBackend.invoke`` (same signature) while a LocalStepFunctions is open."""
    try:
        # moto resolves names, full and partial ARNs and qualifiers; we key on the plain name it finds.
        fn = self.get_function(function_name, qualifier)
    except UnknownFunctionException:
        fn = None
    handler, original = _ROUTER.lookup(fn.function_name if fn is not None else None)
    if fn is None or handler is None:
        # Not ours: moto's behaviour (it echoes the payload). `original` is None only when close() removed
        # the patch while this request was on its way.
        return (original or _MOTO_INVOKE)(self, function_name, qualifier, body, headers, response_headers)

    if function_name.startswith("arn:"):
        invoked_arn = function_name if qualifier is None else f"{function_name}:{qualifier}"
    else:
        invoked_arn = fn.function_arn if qualifier is None else f"{fn.function_arn}:{qualifier}"
    request_id = str(uuid.uuid4())
    context = LambdaContext(
        function_name=fn.function_name,
        invoked_function_arn=invoked_arn,
        memory_limit_in_mb=int(fn.memory_size),
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{fn.function_name}",
        log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id.replace('-', '')}",
        deadline=time.monotonic() + float(fn.timeout),
    )
    try:
        event = json.loads(body) if body else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LambdaClientError(
            "InvalidRequestContentException", "Could not parse request body into json"
        ) from exc

    invocation_type = {k.lower(): v for k, v in headers.items()}.get(
        "x-amz-invocation-type", "RequestResponse"
    )
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        # Lambda answers 202 at once and runs the function later; failures only reach the log.
        threading.Thread(target=_call, args=(handler, event, context), daemon=True).start()
        return b""
    payload, failed = _call(handler, event, context)
    if failed:
        response_headers["x-amz-function-error"] = "Unhandled"
    return payload


_ENGINE_INVOKE = lambda_eval_utils._invoke_lambda_function
_INVOKE_STATUS = {"RequestResponse": 200, "Event": 202, "DryRun": 204}


def _engine_invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
    """The engine's ``lambda:invoke`` Task, handed to ``_routed_invoke`` in this process rather than sent
    as a botocore request to moto's Lambda: the same invocation (context, errors, invocation types) and
    the response botocore would have parsed, without a request's serializing, signing and parsing twice
    (a quarter of a broadcast's time, py-spy). A function that is not routed here, or a request Lambda
    refuses, takes the engine's own path, so its errors reach the engine as a client's would."""
    # moto's Lambda backend, which answers invocations as LambdaSimpleBackend once Docker is off.
    backend: Any = lambda_backend(get_account_id_from(os.environ.get("AWS_ACCESS_KEY_ID", "")), region)
    name, qualifier = parameters["FunctionName"], parameters.get("Qualifier")
    invocation_type = parameters.get("InvocationType", "RequestResponse")
    try:
        handler, _ = _ROUTER.lookup(backend.get_function(name, qualifier).function_name)
    except UnknownFunctionException:
        handler = None
    if handler is None or invocation_type not in _INVOKE_STATUS:
        return dict(_ENGINE_INVOKE(parameters, region, state_credentials))
    response_headers: dict[str, str] = {}
    try:
        payload = _routed_invoke(
            backend,
            name,
            qualifier,
            parameters.get("Payload"),
            {"X-Amz-Invocation-Type": invocation_type},
            response_headers,
        )
    except LambdaClientError:
        return dict(_ENGINE_INVOKE(parameters, region, state_credentials))
    raw = payload.encode() if isinstance(payload, str) else payload or b""
    answer: dict[str, Any] = {
        "StatusCode": _INVOKE_STATUS[invocation_type],
        "ExecutedVersion": "$LATEST",
        "Payload": lambda_eval_utils._from_payload(io.BytesIO(raw)),
    }
    if "x-amz-function-error" in response_headers:
        answer["FunctionError"] = response_headers["x-amz-function-error"]
    return answer


def _call(handler: Handler, event: Any, context: LambdaContext) -> tuple[bytes, bool]:
    """The handler's result as Lambda's response payload, and whether it is a function error."""
    try:
        result = handler(event, context)
    except Exception as exc:  # any exception a function raises is a function error, as in Lambda
        LOG.warning("local Lambda %s failed", context.function_name, exc_info=True)
        return _error_payload(
            type(exc).__name__, str(exc), context, traceback.format_tb(exc.__traceback__)
        ), True
    try:
        return json.dumps(result).encode(), False
    except (TypeError, ValueError) as exc:
        return _error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}", context, []), True


def _error_payload(error_type: str, message: str, context: LambdaContext, stack: list[str]) -> bytes:
    # The Python runtime's shape: the engine reads errorType as the ASL error name.
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": context.aws_request_id,
            "stackTrace": stack,
        }
    ).encode()


def _dummy_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(
            "index.py", "def handler(event, context):\n    raise NotImplementedError('runs in-process')\n"
        )
    return buf.getvalue()


class LocalStepFunctions:
    """State machines on the in-process moto server, their Lambda tasks run by ``handlers``.

    ``handlers`` maps a Lambda function *name* to ``handler(event, context)``. ``time_scale`` divides every
    Wait state's ``Seconds`` at deploy time (see ``scaled``). Call ``close()`` when done.
    """

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        handlers: Mapping[str, Handler],
        *,
        time_scale: float = 1.0,
    ) -> None:
        if not (math.isfinite(time_scale) and time_scale > 0):
            raise ValueError(f"time_scale must be a positive number, not {time_scale!r}")
        self._endpoint = endpoint_url.rstrip("/")
        self._region = region
        self._handlers = dict(handlers)
        self.time_scale = time_scale
        self._owner = object()
        self._deploy_lock = threading.Lock()
        self._closed = True
        self._check_moto_port()

        session = boto3.session.Session(region_name=region)
        self._sfn = session.client("stepfunctions", endpoint_url=self._endpoint)
        self._lambda = session.client("lambda", endpoint_url=self._endpoint)
        self._iam = session.client("iam", endpoint_url=self._endpoint)

        # GET /moto-api/config does not report "stepfunctions"; read what close() must put back here.
        self._saved_config = {key: copy.deepcopy(default_user_config.get(key)) for key in _MOTO_CONFIG}
        self._post_config(_MOTO_CONFIG)
        self._closed = False
        try:
            _ROUTER.add(self._owner, self._handlers)
            self.role_arn = self._ensure_role()
            self._partition, self._account = self.role_arn.split(":")[1], self.role_arn.split(":")[4]
            code = _dummy_zip()
            for name in self._handlers:
                self._ensure_function(name, code)
            self._check_in_process()
        except BaseException:
            self.close()
            raise

    # -- public -------------------------------------------------------------------------------------------

    def function_arn(self, name: str) -> str:
        return f"arn:{self._partition}:lambda:{self._region}:{self._account}:function:{name}"

    def machine_arn(self, name: str) -> str:
        """The unqualified ARN of the state machine called ``name``."""
        return f"arn:{self._partition}:states:{self._region}:{self._account}:stateMachine:{name}"

    def deploy(self, name: str, definition: dict[str, Any], *, role_arn: str | None = None) -> str:
        """Create or update the state machine (publishing a version either way); its unqualified ARN."""
        body = json.dumps(self.scaled(definition))
        role = role_arn or self.role_arn
        arn = self.machine_arn(name)
        with self._deploy_lock:
            try:
                self._sfn.describe_state_machine(stateMachineArn=arn)
            except self._sfn.exceptions.StateMachineDoesNotExist:
                # moto's CreateStateMachine quietly returns an existing machine of that name unchanged,
                # hence the look-up first.
                created = self._sfn.create_state_machine(
                    name=name, definition=body, roleArn=role, publish=True
                )
                return str(created["stateMachineArn"])
            self._sfn.update_state_machine(stateMachineArn=arn, definition=body, roleArn=role, publish=True)
            return arn

    def scaled(self, definition: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``definition`` with every Wait state's integer ``Seconds`` divided by ``time_scale``.

        Seconds are rounded to the nearest whole second (halves up), never below 0: moto's ASL grammar, like
        AWS, only accepts an integer there (``"Seconds": 0.5`` fails to parse). Left alone: ``SecondsPath``
        (the value comes from the input at run time), ``Timestamp``/``TimestampPath`` (absolute times),
        JSONata ``Seconds`` strings, and Retry intervals and timeouts. Recurses into Parallel branches and
        Map ``Iterator``/``ItemProcessor``.
        """
        result = copy.deepcopy(definition)
        self._scale_states(result.get("States", {}))
        return result

    def close(self) -> None:
        """Remove this instance's routes (the moto patch with the last one) and put moto's config back.

        Idempotent. Works after the server has stopped, too. Let executions finish (or stop them) first: a
        Lambda task after close() gets moto's echo, and with the old config moto reads another Step
        Functions backend. The moto data (functions, state machines, executions) is left for whoever owns
        the server to reset.
        """
        if self._closed:
            return
        self._closed = True
        _ROUTER.remove(self._owner)
        try:
            self._post_config(self._saved_config)
        except requests.ConnectionError:
            # The server is gone; its config is this process's moto config, so restore it directly.
            for key, value in self._saved_config.items():
                default_user_config[key] = value  # type: ignore[literal-required]

    # -- internals ----------------------------------------------------------------------------------------

    def _scale_states(self, states: dict[str, Any]) -> None:
        for state in states.values():
            kind = state.get("Type")
            seconds = state.get("Seconds")
            if kind == "Wait" and isinstance(seconds, int | float) and not isinstance(seconds, bool):
                state["Seconds"] = max(0, math.floor(seconds / self.time_scale + 0.5))
            elif kind == "Parallel":
                for branch in state.get("Branches", []):
                    self._scale_states(branch.get("States", {}))
            elif kind == "Map":
                for key in ("ItemProcessor", "Iterator"):
                    if key in state:
                        self._scale_states(state[key].get("States", {}))

    def _check_moto_port(self) -> None:
        port = urlsplit(self._endpoint).port
        if port is None or os.environ.get("MOTO_PORT") != str(port):
            raise LocalStepFunctionsError(
                f"MOTO_PORT is {os.environ.get('MOTO_PORT')!r} but the server listens on {self._endpoint}: "
                "moto's Step Functions engine calls Lambda at http://localhost:$MOTO_PORT"
            )

    def _post_config(self, config: Mapping[str, Any]) -> None:
        response = requests.post(f"{self._endpoint}/moto-api/config", json=dict(config), timeout=10)
        response.raise_for_status()

    def _ensure_role(self) -> str:
        try:
            role = self._iam.create_role(
                RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY)
            )
        except self._iam.exceptions.EntityAlreadyExistsException:
            role = self._iam.get_role(RoleName=ROLE_NAME)
        return str(role["Role"]["Arn"])

    def _ensure_function(self, name: str, code: bytes) -> None:
        # Lambda needs the function to exist for the ARN to resolve; its code never runs.
        try:
            self._lambda.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=self.role_arn,
                Handler="index.handler",
                Code={"ZipFile": code},
                Timeout=FUNCTION_TIMEOUT_SECONDS,
                MemorySize=FUNCTION_MEMORY_MB,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceConflictException":  # left by an earlier instance
                raise

    def _check_in_process(self) -> None:
        # The routing patches this process's moto; a server in another process would never see it.
        if not self._handlers:
            return
        name = next(iter(self._handlers))
        try:
            lambda_backend(self._account, self._region).get_function(name)
        except UnknownFunctionException as exc:
            raise LocalStepFunctionsError(
                f"the moto server at {self._endpoint} does not run in this process: "
                "its Lambda tasks cannot reach in-process handlers"
            ) from exc
