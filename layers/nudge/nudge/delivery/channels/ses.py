"""EmailPort on Amazon SES v2, with raw content: the message goes out exactly as ``build_mime`` built it
(List-Unsubscribe / List-Unsubscribe-Post headers for RFC 8058 one-click, attachments)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from nudge.delivery.channels import aws_errors
from nudge.delivery.channels.mime import build_mime
from nudge.delivery.messages import Email, PermanentSendError, Receipt

# SES message tag values: letters, digits, underscore and dash, at most 256 characters.
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tag_value(value: str) -> str:
    return _TAG_UNSAFE.sub("_", value)[:256] or "_"


class SesEmail:
    """``send_email`` through ``sesv2:SendEmail``. Throttling, 5xx answers and connection failures are
    retried with backoff, then reported as TransientSendError; any other refusal is permanent."""

    def __init__(
        self,
        client: Any = None,
        *,
        configuration_set: str | None = None,
        attempts: int = 4,
        base_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        message_id_domain: str = "nudge",
    ) -> None:
        self._client = client
        self._configuration_set = configuration_set
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self._message_id_domain = message_id_domain

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_errors.client("sesv2")
        return self._client

    def request(self, message: Email) -> dict[str, Any]:
        """The SendEmail parameters for ``message``."""
        destination: dict[str, list[str]] = {"ToAddresses": [message.to]}
        if message.bcc:
            destination["BccAddresses"] = list(message.bcc)
        params: dict[str, Any] = {
            "FromEmailAddress": message.sender,
            "Destination": destination,
            "Content": {"Raw": {"Data": build_mime(message, message_id_domain=self._message_id_domain)}},
            "EmailTags": [
                {"Name": "nudge-workspace", "Value": tag_value(message.workspace_id)},
                {"Name": "nudge-delivery", "Value": tag_value(message.delivery_id)},
            ],
        }
        if self._configuration_set:
            params["ConfigurationSetName"] = self._configuration_set
        return params

    def send_email(self, message: Email) -> Receipt:
        try:
            params = self.request(message)
        except ValueError as error:  # a header the message may not carry: it can never be sent
            raise PermanentSendError(f"invalid message: {error}") from error
        response = aws_errors.send(
            "SES",
            lambda: self.client.send_email(**params),
            attempts=self._attempts,
            base_delay=self._base_delay,
            sleep=self._sleep,
        )
        return Receipt(provider_id=response.get("MessageId"))
