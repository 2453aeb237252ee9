"""How the AWS adapters (SES, SNS, Pinpoint) read botocore errors: throttling, 5xx answers and connection
failures are worth retrying; any other client error means the provider refused the message."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

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
