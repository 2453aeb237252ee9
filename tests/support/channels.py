"""In-memory channel ports for pipeline tests: they record what they were asked to send and can be
told to fail. The real adapters have their own tests (tests/integration/test_channel_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from nudge.delivery import channel_set
from nudge.delivery.channels.smtp import SmtpSettings
from nudge.delivery.messages import Email, Push, Receipt, SendError, Sms, Webhook


@dataclass
class FakePort:
    sent: list[Any] = field(default_factory=list)
    failures: list[SendError] = field(default_factory=list)  # raised, in order, before sends succeed

    def _take(self, message: Any) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return Receipt(f"fake-{len(self.sent)}")

    def send_email(self, message: Email) -> Receipt:
        return self._take(message)

    def send_sms(self, message: Sms) -> Receipt:
        return self._take(message)

    def send_push(self, message: Push) -> Receipt:
        return self._take(message)

    def send_webhook(self, message: Webhook) -> Receipt:
        return self._take(message)


@dataclass
class FakeChannels:
    email: FakePort = field(default_factory=FakePort)
    sms: FakePort = field(default_factory=FakePort)
    push: FakePort = field(default_factory=FakePort)
    webhook: FakePort = field(default_factory=FakePort)
    smtp_port: FakePort = field(default_factory=FakePort)
    smtp_settings: list[SmtpSettings] = field(default_factory=list)

    def smtp(self, settings: SmtpSettings) -> FakePort:
        self.smtp_settings.append(settings)
        return self.smtp_port


@contextmanager
def fake_channels() -> Iterator[FakeChannels]:
    fakes = FakeChannels()
    channel_set.install(
        channel_set.Channels(
            email=fakes.email, sms=fakes.sms, push=fakes.push, webhook=fakes.webhook, smtp=fakes.smtp
        )
    )
    try:
        yield fakes
    finally:
        channel_set.install(None)
