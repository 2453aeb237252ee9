"""What a channel is asked to send, and what it answers: the ports' vocabulary.

The pipeline renders a delivery into one of these and hands it to the channel's port; adapters (SES,
SMTP, SNS, Pinpoint, HTTP) never see templates, people or gates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class SendError(Exception):
    """The channel did not take the message."""


class TransientSendError(SendError):
    """Throttled, the provider failed (5xx) or could not be reached, even after the adapter's own retries:
    nothing went out (or, for a webhook, the receiver can tell a repeat by its idempotency key), so the
    delivery is released and tried again later, up to the pipeline's cap on retries and their age."""


class AmbiguousSendError(SendError):
    """The request reached the provider, or may have, and its answer was lost (a read timeout, a
    connection closed after the request was written, an SMTP session dropped during DATA): the message
    may have gone out. Resending could deliver it twice, so email, SMS and push record the outcome as
    unknown instead (SES feedback can still show it went out); webhooks, which carry an idempotency key,
    are the adapter's to retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentSendError(SendError):
    """The provider refused the message itself (a bad address, a rejected body): retrying cannot help,
    so the delivery is recorded as failed with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Email:
    workspace_id: str
    delivery_id: str
    sender: str
    to: str
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None
    bcc: tuple[str, ...] = ()
    # Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Sms:
    workspace_id: str
    delivery_id: str
    phone: str  # E.164
    body: str


@dataclass(frozen=True)
class DeviceToken:
    token: str
    platform: str  # "ios" (APNs) or "android" (FCM)


@dataclass(frozen=True)
class Push:
    workspace_id: str
    delivery_id: str
    devices: tuple[DeviceToken, ...]
    title: str
    body: str
    link: str | None = None
    image_url: str | None = None
    sound: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)  # custom key/values delivered with the push


@dataclass(frozen=True)
class Webhook:
    workspace_id: str
    delivery_id: str
    url: str
    body: str  # JSON text, sent as is
    signing_key: str  # HMAC-SHA256 key for the X-Nudge-Signature header
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the provider answered: its message id(s), kept on the delivery for support and feedback."""

    provider_id: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)


class EmailPort(Protocol):
    def send_email(self, message: Email) -> Receipt: ...


class SmsPort(Protocol):
    def send_sms(self, message: Sms) -> Receipt: ...


class PushPort(Protocol):
    def send_push(self, message: Push) -> Receipt: ...


class WebhookPort(Protocol):
    def send_webhook(self, message: Webhook) -> Receipt: ...
