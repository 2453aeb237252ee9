"""SmsPort on Amazon SNS: ``Publish`` straight to an E.164 phone number (AWS End User Messaging SMS
underneath). Throttling, 5xx answers and connection failures are retried with backoff, then reported as
TransientSendError; any other refusal (InvalidParameter, OptedOut, ...) is permanent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from nudge.delivery.channels import aws_errors
from nudge.delivery.channels.retry import with_retries
from nudge.delivery.messages import PermanentSendError, Receipt, Sms, TransientSendError

SMS_TYPES = ("Transactional", "Promotional")


class SnsSms:
    def __init__(
        self,
        client: Any = None,
        *,
        sms_type: str = "Transactional",
        sender_id: str | None = None,
        attempts: int = 4,
        base_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if sms_type not in SMS_TYPES:
            raise ValueError(f"sms_type must be one of {SMS_TYPES}, not {sms_type!r}")
        self._client = client
        self._sms_type = sms_type
        self._sender_id = sender_id
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            # The adapter owns the retry policy: botocore's own retries would multiply the attempts.
            self._client = boto3.client("sns", config=Config(retries={"total_max_attempts": 1}))
        return self._client

    def request(self, message: Sms) -> dict[str, Any]:
        """The Publish parameters for ``message``."""
        attributes: dict[str, dict[str, str]] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self._sms_type}
        }
        if self._sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sender_id}
        return {"PhoneNumber": message.phone, "Message": message.body, "MessageAttributes": attributes}

    def send_sms(self, message: Sms) -> Receipt:
        params = self.request(message)
        try:
            response = with_retries(
                lambda: self.client.publish(**params),
                transient=aws_errors.is_transient,
                attempts=self._attempts,
                base_delay=self._base_delay,
                sleep=self._sleep,
            )
        except ClientError as error:
            if aws_errors.is_transient(error):
                raise TransientSendError(f"SNS: {aws_errors.describe(error)}") from error
            raise PermanentSendError(aws_errors.reason(error)) from error
        except Exception as error:
            if aws_errors.is_transient(error):
                raise TransientSendError(f"SNS: {aws_errors.describe(error)}") from error
            raise
        return Receipt(provider_id=response.get("MessageId"))
