"""PushPort on AWS End User Messaging push (the Pinpoint ``SendMessages`` API of a push application),
addressed directly to device tokens: never Pinpoint endpoints, segments or journeys (retired in 2026).

One call carries every device of the person. The answer is per token: the push counts as sent when at
least one device took it; tokens APNs/FCM reject for good (PERMANENT_FAILURE, OPT_OUT) are reported in the
receipt's ``invalid_tokens`` so the caller can drop them. When no device took it and every failure was a
definite "not sent" (THROTTLED, TEMPORARY_FAILURE), the whole call is retried with backoff (no device got
it, so nothing is duplicated). A TIMEOUT or UNKNOWN_FAILURE means the push service's answer was lost: that
device may have it, so the send is ambiguous and never repeated, like a lost answer from Pinpoint itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from nudge.delivery.channels import aws_errors
from nudge.delivery.channels.retry import with_retries
from nudge.delivery.messages import AmbiguousSendError, PermanentSendError, Push, Receipt, TransientSendError

SUCCESSFUL = "SUCCESSFUL"
INVALID_TOKEN = frozenset({"PERMANENT_FAILURE", "OPT_OUT"})
RETRYABLE = frozenset({"TEMPORARY_FAILURE", "THROTTLED"})
AMBIGUOUS = frozenset({"TIMEOUT", "UNKNOWN_FAILURE"})  # the device may have received it


def short_token(token: str) -> str:
    """Enough of a device token to tell it apart in a reason or a log line, never the whole token."""
    return f"{token[:8]}..."


def _summary(statuses: Mapping[str, str]) -> str:
    return ", ".join(f"{short_token(token)} {status}" for token, status in statuses.items())


class _NotDelivered(Exception):
    """No device is known to have taken the push; ``retryable`` when some failure was temporary and none
    ambiguous, ``ambiguous`` when some device's outcome is unknown."""

    def __init__(self, statuses: Mapping[str, str], *, retryable: bool, ambiguous: bool) -> None:
        super().__init__(_summary(statuses))
        self.statuses = dict(statuses)
        self.retryable = retryable and not ambiguous
        self.ambiguous = ambiguous


def _transient(error: BaseException) -> bool:
    if isinstance(error, _NotDelivered):
        return error.retryable
    return aws_errors.is_transient(error)


class PinpointPush:
    def __init__(
        self,
        client: Any = None,
        *,
        application_id: str,
        apns_channel: Literal["APNS", "APNS_SANDBOX"] = "APNS",
        attempts: int = 4,
        base_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._application_id = application_id
        self._channels = {"ios": apns_channel, "android": "GCM"}
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_errors.client("pinpoint")
        return self._client

    def request(self, message: Push) -> dict[str, Any]:
        """The SendMessages parameters for ``message``."""
        if not message.devices:
            raise ValueError("a push needs at least one device")
        addresses: dict[str, dict[str, str]] = {}
        for device in message.devices:
            channel = self._channels.get(device.platform.lower())
            if channel is None:
                raise ValueError(f"unknown push platform {device.platform!r} (ios or android)")
            addresses[device.token] = {"ChannelType": channel}

        common: dict[str, Any] = {"Title": message.title, "Body": message.body}
        if message.link:
            common.update(Action="URL", Url=message.link)
        else:
            common["Action"] = "OPEN_APP"
        if message.sound:
            common["Sound"] = message.sound
        if message.data:
            common["Data"] = {str(k): str(v) for k, v in message.data.items()}

        configuration: dict[str, Any] = {}
        channels = {address["ChannelType"] for address in addresses.values()}
        if channels & {"APNS", "APNS_SANDBOX"}:
            apns = dict(common)
            if message.image_url:
                apns["MediaUrl"] = message.image_url
            configuration["APNSMessage"] = apns
        if "GCM" in channels:
            gcm = dict(common)
            if message.image_url:
                gcm["ImageUrl"] = message.image_url
            configuration["GCMMessage"] = gcm

        return {
            "ApplicationId": self._application_id,
            "MessageRequest": {
                "Addresses": addresses,
                "MessageConfiguration": configuration,
                "TraceId": message.delivery_id,
            },
        }

    def _attempt(self, params: dict[str, Any]) -> tuple[str | None, dict[str, Any], dict[str, str]]:
        """One call: (request id, per-token results, per-token status) when some device took the push."""
        response = self.client.send_messages(**params)
        message_response = response.get("MessageResponse") or {}
        results: dict[str, Any] = message_response.get("Result") or {}
        statuses = {
            token: str((results.get(token) or {}).get("DeliveryStatus") or "UNKNOWN_FAILURE")
            for token in params["MessageRequest"]["Addresses"]
        }
        if SUCCESSFUL in statuses.values():
            return message_response.get("RequestId"), results, statuses
        retryable = any(status in RETRYABLE for status in statuses.values())
        ambiguous = any(status in AMBIGUOUS for status in statuses.values())
        raise _NotDelivered(statuses, retryable=retryable, ambiguous=ambiguous)

    def send_push(self, message: Push) -> Receipt:
        params = self.request(message)
        try:
            request_id, results, statuses = with_retries(
                lambda: self._attempt(params),
                transient=_transient,
                attempts=self._attempts,
                base_delay=self._base_delay,
                sleep=self._sleep,
            )
        except _NotDelivered as error:
            if error.ambiguous:
                raise AmbiguousSendError(f"push outcome unknown: {error}") from None
            if error.retryable:
                raise TransientSendError(f"push not delivered: {error}") from None
            raise PermanentSendError(f"push not delivered: {error}") from None
        except ClientError as error:
            if aws_errors.is_transient(error):
                raise TransientSendError(f"Pinpoint: {aws_errors.describe(error)}") from error
            raise PermanentSendError(aws_errors.reason(error)) from error
        except ConnectionError as error:
            raise TransientSendError(f"Pinpoint: {aws_errors.describe(error)}") from error
        except HTTPClientError as error:
            lost = aws_errors.describe(error)
            raise AmbiguousSendError(f"Pinpoint: no answer after the request was sent: {lost}") from error

        detail: dict[str, Any] = {
            "results": statuses,
            "invalid_tokens": [token for token, status in statuses.items() if status in INVALID_TOKEN],
        }
        updated = {
            token: str(results[token]["UpdatedToken"])
            for token in statuses
            if (results.get(token) or {}).get("UpdatedToken") not in (None, "", token)
        }
        if updated:
            detail["updated_tokens"] = updated
        message_ids = [
            str(results[token]["MessageId"])
            for token, status in statuses.items()
            if status == SUCCESSFUL and results[token].get("MessageId")
        ]
        provider_id = request_id or (message_ids[0] if message_ids else None)
        return Receipt(provider_id=provider_id, detail=detail)
