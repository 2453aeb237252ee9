"""The RFC 5322 message for an Email, built once and sent as is (SES raw content, SMTP DATA).

Layout: text/plain alone, or text/plain + text/html as multipart/alternative; with attachments the body
is wrapped in multipart/mixed. Bcc recipients are envelope-only and never written as a header.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formatdate

from nudge.delivery.messages import Attachment, Email

_OCTET_STREAM = "application/octet-stream"
# 7-bit transfer encodings only (quoted-printable / base64 for anything else): safe through any relay,
# with or without 8BITMIME.
_POLICY = policy.SMTP.clone(cte_type="7bit")

# Headers the adapter writes itself (or must never be written, like Bcc): an extra header with one of
# these names would replace or contradict them.
_RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "sender",
        "return-path",
        "mime-version",
    }
)
# SES reads X-SES-* headers in raw content as sending instructions (configuration set, message tags,
# source and return-path ARNs) and strips them: a workspace's header could swap the configuration set
# (no event publishing) or forge the nudge-workspace/nudge-delivery tags that attribute feedback.
_PROVIDER_PREFIXES = ("x-ses-",)
# RFC 5322 field names: printable US-ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")
# Characters allowed in the left part of a msg-id (dot-atom-text); anything else is replaced.
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


def message_id(delivery_id: str, domain: str = "nudge") -> str:
    """The Message-ID for a delivery: stable, so a retried send carries the same id."""
    left = _NOT_ATEXT.sub("-", delivery_id).strip(".") or "delivery"
    right = _NOT_ATEXT.sub("-", domain).strip(".") or "nudge"
    return f"<{left}@{right}>"


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse extra headers that would replace the ones the message is built from, or inject others."""
    for name, value in headers.items():
        lowered = name.lower()
        if not _FIELD_NAME.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if lowered in _RESERVED or lowered.startswith("content-"):
            raise ValueError(f"header {name!r} is set from the message and cannot be overridden")
        if lowered.startswith(_PROVIDER_PREFIXES):
            raise ValueError(f"header {name!r} is an instruction to the email provider, not a header")
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} must not contain line breaks")


def attachment_type(attachment: Attachment) -> tuple[str, str]:
    """(maintype, subtype): the given type, or a guess from the name when it is the octet-stream default."""
    content_type = attachment.content_type.strip().lower() or _OCTET_STREAM
    if content_type == _OCTET_STREAM:
        content_type = mimetypes.guess_type(attachment.name, strict=False)[0] or _OCTET_STREAM
    maintype, _, subtype = content_type.partition("/")
    # message/* and multipart/* may not be base64-encoded (RFC 2046): send those bytes as opaque data.
    if not subtype or maintype in ("message", "multipart"):
        return "application", "octet-stream"
    return maintype, subtype.split(";")[0].strip()


def build_mime(message: Email, *, message_id_domain: str = "nudge", date: datetime | None = None) -> bytes:
    """The message as 7-bit CRLF bytes (policy SMTP). ``date`` defaults to now (UTC)."""
    check_headers(message.headers)
    mail = EmailMessage(policy=_POLICY)
    mail["From"] = message.sender
    mail["To"] = message.to
    if message.reply_to:
        mail["Reply-To"] = message.reply_to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(date) if date is not None else formatdate(usegmt=True)
    mail["Message-ID"] = message_id(message.delivery_id, message_id_domain)
    for name, value in message.headers.items():
        mail[name] = value

    mail.set_content(message.text)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, subtype = attachment_type(attachment)
        mail.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.name)
    return mail.as_bytes(policy=_POLICY)
