"""Which adapter sends each channel: built once per process from settings, or installed by the local
runtime and tests (``install``), so the pipeline never constructs a client itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nudge.delivery.channels.pinpoint_push import PinpointPush
from nudge.delivery.channels.ses import SesEmail
from nudge.delivery.channels.smtp import SmtpEmail, SmtpSettings
from nudge.delivery.channels.sns_sms import SnsSms
from nudge.delivery.channels.webhook import HttpWebhook
from nudge.delivery.messages import EmailPort, PushPort, SmsPort, WebhookPort
from nudge.settings import get_settings


@dataclass
class Channels:
    email: EmailPort
    sms: SmsPort
    push: PushPort | None  # None: no push application configured; push sends fail with that reason
    webhook: WebhookPort
    smtp: Callable[[SmtpSettings], EmailPort]


_installed: Channels | None = None


def install(channels: Channels | None) -> None:
    global _installed
    _installed = channels


def get() -> Channels:
    global _installed
    if _installed is None:
        _installed = _from_environment()
    return _installed


def _from_environment() -> Channels:
    settings = get_settings()
    application = settings.pinpoint_application_id
    return Channels(
        email=SesEmail(configuration_set=settings.ses_configuration_set),
        sms=SnsSms(sender_id=settings.sms_sender_id),
        push=PinpointPush(application_id=application) if application else None,
        webhook=HttpWebhook(),
        smtp=SmtpEmail,
    )
