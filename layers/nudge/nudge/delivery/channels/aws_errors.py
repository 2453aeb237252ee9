"""How the AWS adapters (SES, SNS, Pinpoint) read botocore errors, in three kinds:

- not sent, worth retrying: throttling, a 5xx answer, or no connection at all (refused, unreachable,
  connect timeout, TLS handshake): the request never reached the provider or was answered "not taken";
- ambiguous: the request was written and its answer lost (read timeout, connection closed or reset):
  the provider may have accepted it, so it is never resent (``AmbiguousSendError``);
- refused: any other client error, about the message itself (``PermanentSendError``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError
from pynamodb.exceptions import PynamoDBException

from nudge import aws_clients
from nudge.delivery.channels.retry import with_retries
from nudge.delivery.messages import AmbiguousSendError, PermanentSendError, SendError, TransientSendError

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
        "ProvisionedThroughputExceededException",  # DynamoDB (the in-app inbox, the pipeline's own reads)
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "Unknown")


def status_code(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_transient(error: BaseException) -> bool:
    """Not sent, and worth trying again: throttled, a 5xx answer, or the connection never made.

    botocore's ConnectionError family (EndpointConnectionError, ConnectTimeoutError, SSLError,
    ProxyConnectionError) is raised before the request is written. HTTPClientError (ReadTimeoutError,
    ConnectionClosedError) comes after it was: that is ``is_ambiguous``, never retried."""
    if isinstance(error, ClientError):
        return error_code(error) in THROTTLING_CODES or status_code(error) >= 500
    return isinstance(error, ConnectionError)


def is_ambiguous(error: BaseException) -> bool:
    """The request was sent and no answer came back: the provider may have taken the message."""
    return isinstance(error, HTTPClientError)


# What reading or writing a table can raise: PynamoDB wraps botocore's errors; raw clients raise them.
STORAGE_ERRORS = (PynamoDBException, BotoCoreError, ClientError)


def cause_of(error: BaseException) -> BaseException:
    """The botocore error under a PynamoDB one (which says what happened), else the error itself."""
    cause = error.cause if isinstance(error, PynamoDBException) else None
    return cause or error


def is_transient_storage(error: BaseException) -> bool:
    """A read or an idempotent write of a table that failed for now: throttled, a 5xx answer, or no
    answer at all. For storage a lost answer is as good as a retry, since repeating it changes nothing."""
    cause = cause_of(error)
    return is_transient(cause) or is_ambiguous(cause)


def storage_send_error(what: str, error: PynamoDBException) -> SendError:
    """A DynamoDB write that is itself the send (the in-app inbox), read like a provider's answer."""
    cause = error.cause
    if cause is not None and is_transient(cause):
        return TransientSendError(f"{what}: {describe(cause)}")
    if isinstance(cause, ClientError):
        return PermanentSendError(f"{what}: {reason(cause)}")
    return AmbiguousSendError(f"{what}: no answer from storage: {describe(cause or error)}")


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
    return aws_clients.client(service, config=Config(retries={"total_max_attempts": 1}))


def send(
    provider: str,
    call: Callable[[], T],
    *,
    attempts: int,
    base_delay: float,
    sleep: Callable[[float], None],
) -> T:
    """Make ``call`` with backoff on errors that mean "not sent"; what still fails becomes a
    TransientSendError (nothing went out: try later), an AmbiguousSendError (the answer was lost: at once,
    never retried) or a PermanentSendError (the provider refused the message)."""
    try:
        return with_retries(
            call, transient=is_transient, attempts=attempts, base_delay=base_delay, sleep=sleep
        )
    except ClientError as error:
        if is_transient(error):
            raise TransientSendError(f"{provider}: {describe(error)}") from error
        raise PermanentSendError(reason(error)) from error
    except ConnectionError as error:
        raise TransientSendError(f"{provider}: {describe(error)}") from error
    except HTTPClientError as error:
        raise AmbiguousSendError(
            f"{provider}: no answer after the request was sent: {describe(error)}"
        ) from error
