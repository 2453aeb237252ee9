"""A workspace's delivery settings: sender, its own SMTP server, the per-person message limit and the
key that signs its webhooks. Read by every send, so cached briefly per process."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.delivery.channels.smtp import SmtpSettings
from nudge.delivery.request_shapes import (
    JINJA,
    LIQUID,
    MAX_ADDRESS_LENGTH,
    MAX_HOST_LENGTH,
    MAX_MESSAGE_LIMIT,
    MAX_SECRET_LENGTH,
    MAX_SENDING_RATE,
    TEMPLATE_LANGUAGES,
)
from nudge.delivery.signing import link_secret
from nudge.errors import InvalidRequest
from nudge.model.deliveries import DeliverySettings
from nudge.settings import get_settings

SK = "delivery"
CACHE_SECONDS = 30.0
DEFAULT_SENDING_RATE = 100  # messages per second a broadcast may start; SES's default quota is 14/s
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
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
    try:
        item = DeliverySettings.get(_pk(workspace_id), SK, consistent_read=True)
    except DoesNotExist:
        item = _default(workspace_id)
    for field, attr in (("from", "from_address"), ("reply_to", "reply_to")):
        if field in body:
            value = body[field]
            if value is not None and (not isinstance(value, str) or not _EMAIL.match(_address(value))):
                raise InvalidRequest(f"{field} must be an email address", field=field)
            if value is not None and len(value) > MAX_ADDRESS_LENGTH:
                raise InvalidRequest(
                    f"{field} cannot be longer than {MAX_ADDRESS_LENGTH} characters", field=field
                )
            setattr(item, attr, value)
    if "smtp" in body:
        smtp = None if body["smtp"] is None else _smtp(body["smtp"])
        if smtp is not None and "password" not in body["smtp"] and item.smtp_json:
            # The password is never read back, so a settings round trip must not erase it.
            smtp["password"] = json.loads(item.smtp_json).get("password")
        item.smtp_json = None if smtp is None else json.dumps(smtp)
    if "message_limit" in body:
        item.message_limit, item.message_limit_days = _limit(body["message_limit"])
    if "sending_rate" in body:
        rate = body["sending_rate"]
        if rate is not None and not _whole(rate, 1, MAX_SENDING_RATE):
            raise InvalidRequest(
                f"sending_rate must be 1 to {MAX_SENDING_RATE} messages per second", field="sending_rate"
            )
        item.sending_rate = rate
    if "template_language" in body:
        if body["template_language"] not in TEMPLATE_LANGUAGES:
            raise InvalidRequest(
                f"template_language must be one of {', '.join(TEMPLATE_LANGUAGES)}", field="template_language"
            )
        item.template_language = body["template_language"]
    if body.get("rotate_webhook_signing_key") is True:
        item.webhook_key_version = int(item.webhook_key_version or 0) + 1
    if item.from_address and not item.smtp_json:
        check_sender_domain(item.from_address, "from")
    item.updated_at = clock.now()
    item.save()
    _cache.pop(workspace_id, None)
    return load(workspace_id)


def check_sender_domain(sender: str, field: str) -> None:
    """In AWS, SES may send only from the deployment's verified domain (``NUDGE_DEFAULT_FROM``'s): refuse
    another now, rather than fail every send later. A workspace's own SMTP server may send as anyone."""
    default = get_settings().default_from
    if not default:
        return
    allowed = _address(default).rsplit("@", 1)[-1].lower()
    if _address(sender).rsplit("@", 1)[-1].lower() != allowed:
        raise InvalidRequest(
            f"{field} must be an address at {allowed}, the verified sender domain", field=field
        )


def _address(value: str) -> str:
    """``Name <a@b.c>`` or ``a@b.c`` -> the address."""
    match = re.search(r"<([^>]+)>\s*$", value)
    return match.group(1) if match else value.strip()


def _smtp(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidRequest("smtp must be an object", field="smtp")
    host = raw.get("host")
    if not isinstance(host, str) or not 1 <= len(host) <= MAX_HOST_LENGTH:
        raise InvalidRequest("smtp.host must be a host name", field="smtp.host")
    port = raw.get("port", 587)
    if not _whole(port, 1, 65535):
        raise InvalidRequest("smtp.port must be a port number", field="smtp.port")
    security = raw.get("security", "starttls")
    if security not in ("starttls", "tls", "none"):
        raise InvalidRequest("smtp.security must be one of starttls, tls, none", field="smtp.security")
    out: dict[str, Any] = {"host": host, "port": port, "security": security}
    for key in ("username", "password"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"smtp.{key} must be a string", field=f"smtp.{key}")
        if value is not None and len(value) > MAX_SECRET_LENGTH:
            raise InvalidRequest(
                f"smtp.{key} cannot be longer than {MAX_SECRET_LENGTH} characters", field=f"smtp.{key}"
            )
        out[key] = value
    return out


def _limit(raw: Any) -> tuple[int | None, int | None]:
    if raw is None:
        return None, None
    count, days = (raw.get("count"), raw.get("days")) if isinstance(raw, dict) else (None, None)
    if not _whole(count, 1, MAX_MESSAGE_LIMIT):
        raise InvalidRequest(
            f"message_limit.count must be a whole number from 1 to {MAX_MESSAGE_LIMIT}",
            field="message_limit.count",
        )
    if not _whole(days, 1, 365):
        raise InvalidRequest("message_limit.days must be 1 to 365", field="message_limit.days")
    return count, days


def _whole(value: Any, low: int, high: int) -> bool:
    """An integer in ``low..high``. JSON's true and false are not numbers, though Python's bool is an int."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
