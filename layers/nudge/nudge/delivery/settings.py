"""A workspace's delivery settings: sender, its own SMTP server, the per-person message limit and the
key that signs its webhooks. Read by every send, so cached briefly per process."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.delivery.channels.smtp import SmtpSettings
from nudge.delivery.request_shapes import JINJA, LIQUID, UNSET, read_settings, sender_address
from nudge.delivery.signing import link_secret
from nudge.errors import InvalidRequest
from nudge.model.deliveries import DeliverySettings
from nudge.settings import get_settings

SK = "delivery"
CACHE_SECONDS = 30.0
DEFAULT_SENDING_RATE = 100  # messages per second a broadcast may start; SES's default quota is 14/s
_cache: dict[str, tuple[float, WorkspaceDelivery]] = {}


@dataclass(frozen=True)
class MessageLimit:
    count: int
    days: int

    def window(self, at: int) -> str:
        return str(at // (self.days * 86400))


@dataclass(frozen=True)
class WorkspaceDelivery:
    from_address: str | None
    reply_to: str | None
    smtp: SmtpSettings | None
    limit: MessageLimit | None
    webhook_signing_key: str
    sending_rate: int = DEFAULT_SENDING_RATE
    template_language: str = JINJA  # what content is written in when it does not say

    def to_api(self, *, with_secrets: bool = True) -> dict[str, Any]:
        """The settings as the App API answers them; ``with_secrets`` False (a console user below admin)
        leaves out the webhook signing key, with which anyone could sign requests to the customer's own
        endpoints as Nudge."""
        smtp = None
        if self.smtp is not None:
            smtp = {
                "host": self.smtp.host,
                "port": self.smtp.port,
                "username": self.smtp.username,
                "security": self.smtp.security,
                "password_set": self.smtp.password is not None,  # never echoed back
            }
        return {
            "from": self.from_address,
            "reply_to": self.reply_to,
            "smtp": smtp,
            "message_limit": None
            if self.limit is None
            else {"count": self.limit.count, "days": self.limit.days},
            "webhook_signing_key": self.webhook_signing_key if with_secrets else None,
            "sending_rate": self.sending_rate,
            "template_language": self.template_language,
        }


def _pk(workspace_id: str) -> str:
    return f"{workspace_id}#settings"


def load(workspace_id: str) -> WorkspaceDelivery:
    """The settings, or the defaults when the workspace never changed them (nothing is written)."""
    cached = _cache.get(workspace_id)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    try:
        item = DeliverySettings.get(_pk(workspace_id), SK)
    except DoesNotExist:
        item = _default(workspace_id)
    settings = _from_item(item)
    _cache[workspace_id] = (time.monotonic(), settings)
    return settings


def _default(workspace_id: str) -> DeliverySettings:
    return DeliverySettings(_pk(workspace_id), SK, workspace_id=workspace_id, updated_at=clock.now())


def start_new_workspace(workspace_id: str) -> None:
    """A new workspace writes Liquid, Customer.io's language, unless it chooses otherwise; a workspace
    without this item predates languages, so its content (and what it adds later) stays Jinja."""
    item = _default(workspace_id)
    item.template_language = LIQUID
    item.save()
    _cache.pop(workspace_id, None)


def webhook_signing_key(workspace_id: str, version: int) -> str:
    """Derived from the deployment's link secret, so no per-workspace secret is stored; rotating bumps
    ``version``, which yields an unrelated key."""
    message = f"webhook-signing\x1f{workspace_id}\x1f{version}".encode()
    return hmac.new(link_secret(), message, hashlib.sha256).hexdigest()


def _from_item(item: DeliverySettings) -> WorkspaceDelivery:
    smtp = None
    if item.smtp_json:
        raw = json.loads(item.smtp_json)
        smtp = SmtpSettings(**raw)
    limit = None
    if item.message_limit and item.message_limit_days:
        limit = MessageLimit(int(item.message_limit), int(item.message_limit_days))
    key = webhook_signing_key(item.workspace_id, int(item.webhook_key_version or 0))
    rate = int(item.sending_rate) if item.sending_rate else DEFAULT_SENDING_RATE
    language = item.template_language or JINJA
    return WorkspaceDelivery(item.from_address, item.reply_to, smtp, limit, key, rate, language)


def update(workspace_id: str, body: dict[str, Any]) -> WorkspaceDelivery:
    """Apply the fields present in ``body`` (``null`` clears one)."""
    read = read_settings(body)
    try:
        item = DeliverySettings.get(_pk(workspace_id), SK, consistent_read=True)
    except DoesNotExist:
        item = _default(workspace_id)
    for field, attr in (("from", "from_address"), ("reply_to", "reply_to"), ("sending_rate", "sending_rate")):
        if read[field] is not UNSET:
            setattr(item, attr, read[field])
    if read["smtp"] is not UNSET:
        item.smtp_json = None if read["smtp"] is None else json.dumps(_with_password(read["smtp"], item))
    if read["message_limit"] is not UNSET:
        item.message_limit, item.message_limit_days = read["message_limit"]
    if read["template_language"] is not UNSET:
        item.template_language = read["template_language"]
    if read["rotate_webhook_signing_key"]:
        item.webhook_key_version = int(item.webhook_key_version or 0) + 1
    if item.from_address and not item.smtp_json:
        check_sender_domain(item.from_address, "from")
    item.updated_at = clock.now()
    item.save()
    _cache.pop(workspace_id, None)
    return load(workspace_id)


def _with_password(smtp: dict[str, Any], item: DeliverySettings) -> dict[str, Any]:
    """A password left out is the stored one: it is never read back, so a settings round trip must not
    erase it."""
    if smtp["password"] is UNSET:
        stored = json.loads(item.smtp_json).get("password") if item.smtp_json else None
        return {**smtp, "password": stored}
    return smtp


def check_sender_domain(sender: str, field: str) -> None:
    """In AWS, SES may send only from the deployment's verified domain (``NUDGE_DEFAULT_FROM``'s): refuse
    another now, rather than fail every send later. A workspace's own SMTP server may send as anyone."""
    default = get_settings().default_from
    if not default:
        return
    allowed = sender_address(default).rsplit("@", 1)[-1].lower()
    if sender_address(sender).rsplit("@", 1)[-1].lower() != allowed:
        raise InvalidRequest(
            f"{field} must be an address at {allowed}, the verified sender domain", field=field
        )
