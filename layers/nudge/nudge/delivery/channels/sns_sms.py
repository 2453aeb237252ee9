"""SmsPort on Amazon SNS: ``Publish`` straight to an E.164 phone number (AWS End User Messaging SMS
underneath). Throttling, 5xx answers and connection failures are retried with backoff, then reported as
TransientSendError; any other refusal (InvalidParameter, OptedOut, ...) is permanent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nudge.delivery.channels import aws_errors
from nudge.delivery.messages import Receipt, Sms

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
            self._client = aws_errors.client("sns")
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
        response = aws_errors.send(
            "SNS",
            lambda: self.client.publish(**params),
            attempts=self._attempts,
            base_delay=self._base_delay,
            sleep=self._sleep,
        )
        return Receipt(provider_id=response.get("MessageId"))
