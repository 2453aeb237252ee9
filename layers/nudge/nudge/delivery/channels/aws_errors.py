"""How the AWS adapters (SES, SNS, Pinpoint) read botocore errors: throttling, 5xx answers and connection
failures are worth retrying; any other client error means the provider refused the message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from nudge.delivery.channels.retry import with_retries
from nudge.delivery.messages import PermanentSendError, TransientSendError

T = TypeVar("T")

# Throttling codes across SES v2, SNS and Pinpoint (their 4xx answers that are not about the message).
THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "Throttled",
        "LimitExceededException",
        "KMSThrottling",
        "KMSThrottlingException",
        "RequestLimitExceeded",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "Unknown")


def status_code(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_transient(error: BaseException) -> bool:
    """Throttled, a 5xx answer, or no answer at all (connection refused, closed, timed out)."""
    if isinstance(error, ClientError):
        return error_code(error) in THROTTLING_CODES or status_code(error) >= 500
    # EndpointConnectionError, ConnectTimeoutError (ConnectionError); ConnectionClosedError,
    # ReadTimeoutError (HTTPClientError).
    return isinstance(error, ConnectionError | HTTPClientError)


def reason(error: ClientError) -> str:
    """``"<Code>: <Message>"``: the provider's words, never the message body."""
    message = str(error.response.get("Error", {}).get("Message") or "").strip()
    return f"{error_code(error)}: {message}" if message else error_code(error)


def describe(error: BaseException) -> str:
    """A short description of a transient failure, for TransientSendError."""
    if isinstance(error, ClientError):
        return f"{reason(error)} (HTTP {status_code(error)})"
    return f"{type(error).__name__}: {error}"


def client(service: str) -> Any:
    """A client for an adapter that owns its retry policy: botocore's own retries would multiply it."""
    import boto3

    make: Any = boto3.client  # typed per service name; any of the adapters' services is fine here
    return make(service, config=Config(retries={"total_max_attempts": 1}))


def send(
    provider: str,
    call: Callable[[], T],
    *,
    attempts: int,
    base_delay: float,
    sleep: Callable[[float], None],
) -> T:
    """Make ``call`` with backoff on transient errors; what still fails becomes a TransientSendError
    (nothing went out: try later) or a PermanentSendError (the provider refused the message)."""
    try:
        return with_retries(
            call, transient=is_transient, attempts=attempts, base_delay=base_delay, sleep=sleep
        )
    except ClientError as error:
        if is_transient(error):
            raise TransientSendError(f"{provider}: {describe(error)}") from error
        raise PermanentSendError(reason(error)) from error
    except (ConnectionError, HTTPClientError) as error:
        raise TransientSendError(f"{provider}: {describe(error)}") from error
