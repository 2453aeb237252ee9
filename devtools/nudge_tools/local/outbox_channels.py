"""The local runtime's channels: the real adapters, each followed by a copy into the outbox.

Email really goes through the SES v2 adapter to the embedded moto SES (whose sender identities are
verified on first use, since locally any sender is yours; in the runtime's own process the send is handed
straight to moto's SES handler, ``direct_ses``), SMS through SNS to moto, webhooks over real
HTTP (private addresses allowed, so a receiver on localhost works). moto has no Pinpoint, so push lands
in the outbox only. Whatever a provider accepted is written to the outbox, where a person can see it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nudge.delivery.channel_set import Channels
from nudge.delivery.channels.smtp import SmtpSettings
from nudge.delivery.messages import Email, EmailPort, Push, Receipt, Sms, SmsPort, Webhook, WebhookPort
from nudge_tools.local.outbox import Outbox, OutboxMessage


def _now() -> str:
    from nudge import clock

    return datetime.fromtimestamp(clock.now(), UTC).isoformat().replace("+00:00", "Z")


@dataclass
class OutboxEmail:
    inner: EmailPort
    outbox: Outbox
    verify_sender: Callable[[str], None] | None = None

    def send_email(self, message: Email) -> Receipt:
        if self.verify_sender is not None:
            self.verify_sender(message.sender)
        receipt = self.inner.send_email(message)
        self.outbox.deliver(
            OutboxMessage(
                channel="email",
                recipient=message.to,
                subject=message.subject,
                body=message.text,
                html=message.html,
                sender=message.sender,
                headers=dict(message.headers),
                delivery_id=message.delivery_id,
                sent_at=_now(),
            )
        )
        return receipt


@dataclass
class OutboxSms:
    inner: SmsPort
    outbox: Outbox

    def send_sms(self, message: Sms) -> Receipt:
        receipt = self.inner.send_sms(message)
        self.outbox.deliver(
            OutboxMessage("sms", message.phone, None, message.body, message.delivery_id, _now())
        )
        return receipt


@dataclass
class OutboxPush:
    outbox: Outbox

    def send_push(self, message: Push) -> Receipt:
        body = json.dumps(
            {
                "title": message.title,
                "body": message.body,
                "link": message.link,
                "image_url": message.image_url,
                "data": dict(message.data),
                "devices": [{"token": d.token, "platform": d.platform} for d in message.devices],
            }
        )
        recipients = ",".join(d.token for d in message.devices)
        self.outbox.deliver(
            OutboxMessage("push", recipients, message.title, body, message.delivery_id, _now())
        )
        return Receipt(f"local-push-{message.delivery_id}")


@dataclass
class OutboxWebhook:
    inner: WebhookPort
    outbox: Outbox

    def send_webhook(self, message: Webhook) -> Receipt:
        receipt = self.inner.send_webhook(message)
        self.outbox.deliver(
            OutboxMessage("webhook", message.url, None, message.body, message.delivery_id, _now())
        )
        return receipt


def local_channels(outbox: Outbox, endpoint_url: str | None, region: str) -> Channels:
    """``endpoint_url``: None for moto in this process (the local runtime), else moto's server."""
    import boto3
    from botocore.exceptions import ClientError

    from nudge.delivery.channels.ses import SesEmail
    from nudge.delivery.channels.smtp import SmtpEmail
    from nudge.delivery.channels.sns_sms import SnsSms
    from nudge.delivery.channels.webhook import HttpWebhook
    from nudge_tools.local.direct_ses import DirectSes

    ses = boto3.client("sesv2", region_name=region, endpoint_url=endpoint_url)
    sender = ses if endpoint_url is not None else DirectSes(ses, region)
    sns = boto3.client("sns", region_name=region, endpoint_url=endpoint_url)
    verified: set[str] = set()

    def verify_sender(sender: str) -> None:
        domain = sender.rsplit("@", 1)[-1].strip(" >").lower()
        if domain in verified:
            return
        try:
            ses.create_email_identity(EmailIdentity=domain)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise
        verified.add(domain)

    def smtp(settings: SmtpSettings) -> Any:
        return OutboxEmail(SmtpEmail(settings), outbox)

    return Channels(
        email=OutboxEmail(SesEmail(sender), outbox, verify_sender),
        sms=OutboxSms(SnsSms(sns), outbox),
        push=OutboxPush(outbox),
        webhook=OutboxWebhook(HttpWebhook(allow_private=True), outbox),
        smtp=smtp,
    )
