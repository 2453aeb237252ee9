"""Where the local runtime's "delivered" messages land instead of SES, SNS or Pinpoint.

Every message becomes one file in a directory: an email is a real RFC 5322 ``.eml`` a mail client opens,
anything else a ``.json`` file. File names start with the send time so a directory listing reads in
order. The runtime retries deliveries the way Lambda does, so the outbox keeps one message per delivery
id, and it reads back the files already in its directory so a restarted runtime neither forgets nor
duplicates them.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from nudge.delivery.channel_names import CHANNELS

logger = logging.getLogger("nudge.local")

DEFAULT_SENDER = "nudge@localhost"

# Headers the outbox writes itself (or MIME writes); extra headers may not replace them, and reading an
# .eml back treats everything else as the message's extra headers.
_DELIVERY_ID_HEADER = "X-Nudge-Delivery-Id"
_SENT_AT_HEADER = "X-Nudge-Sent-At"
_OWN_HEADERS = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        _DELIVERY_ID_HEADER,
        _SENT_AT_HEADER,
    )
)
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_MAX_ID_IN_FILENAME = 80


@dataclass(frozen=True)
class OutboxMessage:
    channel: str  # one of CHANNELS
    recipient: str  # email address, phone, device token, person id, or URL
    subject: str | None
    body: str  # plain text (or JSON text for webhooks/push)
    delivery_id: str
    sent_at: str  # ISO 8601 UTC, e.g. 2026-11-21T10:00:00Z
    html: str | None = None
    sender: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; expected one of {', '.join(CHANNELS)}")
        if not self.delivery_id:
            raise ValueError("delivery_id must not be empty")
        _parse_sent_at(self.sent_at)  # fail at construction, not later when the file is named
        # A copy behind a read-only view: the caller's dict can't change a message already delivered.
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    @property
    def file_name(self) -> str:
        """``<sent_at compact>-<channel>-<safe delivery id>.<eml|json>``; names sort by send time."""
        extension = "eml" if self.channel == "email" else "json"
        return f"{_compact_time(self.sent_at)}-{self.channel}-{_safe_id(self.delivery_id)}.{extension}"

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "recipient": self.recipient,
            "subject": self.subject,
            "body": self.body,
            "html": self.html,
            "sender": self.sender,
            "headers": dict(self.headers),
            "delivery_id": self.delivery_id,
            "sent_at": self.sent_at,
            "file": self.file_name,
        }


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Insertion-ordered, so messages sent in the same instant keep their delivery order.
        self._delivered: dict[str, tuple[OutboxMessage, Path]] = {}
        self._load_existing()

    def deliver(self, message: OutboxMessage) -> Path:
        """Write the message's file and return its path; a delivery id already seen keeps its first file."""
        if message.channel == "email" and message.sender == DEFAULT_SENDER:
            # Its file cannot tell the default sender given from none given (both are the From header):
            # kept as it reads back, so a restarted runtime lists the very same messages.
            message = replace(message, sender=None)
        with self._lock:
            already = self._delivered.get(message.delivery_id)
            if already is not None:
                return already[1]
            path = self.directory / message.file_name
            data = _eml_bytes(message) if message.channel == "email" else _json_bytes(message)
            _write_atomically(path, data)
            self._delivered[message.delivery_id] = (message, path)
            return path

    def messages(self) -> list[OutboxMessage]:
        """Oldest first."""
        with self._lock:
            delivered = [message for message, _ in self._delivered.values()]
        return sorted(delivered, key=lambda message: _parse_sent_at(message.sent_at))

    def get(self, delivery_id: str) -> OutboxMessage | None:
        with self._lock:
            found = self._delivered.get(delivery_id)
        return found[0] if found else None

    def render_html(self) -> str:
        """The page served at /_local/outbox.html."""
        return _render_page(list(reversed(self.messages())))

    def _load_existing(self) -> None:
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") or path.suffix not in (".eml", ".json"):
                continue  # our own temporary files, or something that isn't a message
            try:
                message = _read_eml(path) if path.suffix == ".eml" else _read_json(path)
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.warning("outbox: skipping unreadable %s: %s", path.name, error)
                continue
            self._delivered.setdefault(message.delivery_id, (message, path))


def _parse_sent_at(sent_at: str) -> datetime:
    parsed = datetime.fromisoformat(sent_at)
    if parsed.tzinfo is None:
        raise ValueError(f"sent_at {sent_at!r} has no time zone; expected UTC, e.g. 2026-11-21T10:00:00Z")
    return parsed.astimezone(UTC)


def _compact_time(sent_at: str) -> str:
    # Fixed width (milliseconds always present) so that names sort the way the times do.
    moment = _parse_sent_at(sent_at)
    return f"{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z"


def _safe_id(delivery_id: str) -> str:
    """Letters, digits, ``_`` and ``-`` only (no separators, no dots, so no path traversal). An id that
    had to change gets a hash of the original, so two ids that clean up alike still get two files."""
    safe = _UNSAFE_FILENAME_CHARS.sub("_", delivery_id)[:_MAX_ID_IN_FILENAME]
    if safe == delivery_id:
        return safe
    return f"{safe}-{hashlib.sha256(delivery_id.encode()).hexdigest()[:12]}"


def _eml_bytes(message: OutboxMessage) -> bytes:
    clashing = sorted(name for name in message.headers if name.lower() in _OWN_HEADERS)
    if clashing:
        raise ValueError(f"extra headers may not replace the outbox's own: {', '.join(clashing)}")
    email = EmailMessage()
    email["From"] = message.sender or DEFAULT_SENDER
    email["To"] = message.recipient
    if message.subject is not None:
        email["Subject"] = message.subject
    email["Date"] = format_datetime(_parse_sent_at(message.sent_at))
    email["Message-ID"] = f"<{_safe_id(message.delivery_id)}@nudge.localhost>"
    email[_DELIVERY_ID_HEADER] = message.delivery_id
    # Date has whole seconds only; this keeps the exact send time for reading the file back.
    email[_SENT_AT_HEADER] = message.sent_at
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email.as_bytes(policy=policy.SMTP)  # CRLF line ends, as RFC 5322 has them


def _json_bytes(message: OutboxMessage) -> bytes:
    return (json.dumps(message.to_json(), indent=2, ensure_ascii=False) + "\n").encode()


def _read_json(path: Path) -> OutboxMessage:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("file", None)  # derived from the other fields
    return OutboxMessage(**data)


def _read_eml(path: Path) -> OutboxMessage:
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    if not isinstance(email, EmailMessage):
        raise TypeError(f"{path.name} did not parse as an email")
    delivery_id = email[_DELIVERY_ID_HEADER]
    if delivery_id is None:
        raise KeyError(f"no {_DELIVERY_ID_HEADER} header")
    sender = str(email["From"])
    return OutboxMessage(
        channel="email",
        recipient=str(email["To"]),
        subject=None if email["Subject"] is None else str(email["Subject"]),
        body=_part_text(email, "plain") or "",
        html=_part_text(email, "html"),
        sender=None if sender == DEFAULT_SENDER else sender,
        headers={name: str(value) for name, value in email.items() if name.lower() not in _OWN_HEADERS},
        delivery_id=str(delivery_id),
        sent_at=str(email[_SENT_AT_HEADER] or _date_as_iso(email)),
    )


def _part_text(email: EmailMessage, subtype: str) -> str | None:
    part = email.get_body(preferencelist=(subtype,))
    if part is None:
        return None
    # Writing turned the text's line ends into CRLF and ended it with one; undo both.
    text = str(part.get_content()).replace("\r\n", "\n")
    return text.removesuffix("\n")


def _date_as_iso(email: EmailMessage) -> str:
    date = email["Date"]
    if date is None:
        raise KeyError("no Date header")
    return date.datetime.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _write_atomically(path: Path, data: bytes) -> None:
    """A mail client or browser reading the directory never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f4; }
tr.message td { background: #fafafa; font-weight: 600; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0 0 .5em; }
iframe { width: 100%; height: 24em; border: 1px solid #ccc; background: #fff; }
.meta { color: #666; font-size: .9em; }
.empty { color: #666; font-style: italic; }
"""

# Belt and braces next to the iframe sandbox: the page itself loads nothing and runs no script.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:"
_LINKS_IN_A_NEW_TAB = '<base target="_blank">'


def _render_page(newest_first: list[OutboxMessage]) -> str:
    if newest_first:
        rows = "".join(_render_message(message) for message in newest_first)
        content = (
            f"<p>{len(newest_first)} message{'s' if len(newest_first) != 1 else ''}, newest first.</p>"
            "<table><thead><tr><th>time</th><th>channel</th><th>recipient</th><th>subject</th>"
            f"<th>delivery id</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        content = '<p class="empty">The outbox is empty: nothing has been delivered yet.</p>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>Nudge outbox</title><style>{_STYLE}</style></head>"
        f"<body><h1>Nudge outbox</h1>{content}</body></html>\n"
    )


def _render_message(message: OutboxMessage) -> str:
    e = html.escape
    cells = (message.sent_at, message.channel, message.recipient, message.subject or "", message.delivery_id)
    summary = "".join(f"<td>{e(cell)}</td>" for cell in cells)
    meta = f"file {message.file_name}" + (f" · from {message.sender}" if message.sender else "")
    detail = f'<div class="meta">{e(meta)}</div><pre>{e(_readable_body(message))}</pre>'
    if message.html is not None:
        # Never inline: the email's HTML lives in a sandboxed frame (no scripts, no same-origin access),
        # and quote=True escapes it for the attribute. Its links open in a tab of their own, as a mail
        # client's do (this page's policy forbids framing them, and a subscription centre's form must post).
        body = _LINKS_IN_A_NEW_TAB + message.html
        detail += (
            f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="{e(body, quote=True)}"'
            ' title="HTML body"></iframe>'
        )
    return f'<tr class="message">{summary}</tr><tr><td colspan="5">{detail}</td></tr>'


def _readable_body(message: OutboxMessage) -> str:
    if message.channel in ("push", "webhook"):
        try:
            return json.dumps(json.loads(message.body), indent=2, ensure_ascii=False)
        except ValueError:
            pass  # not JSON after all: show it as it came
    return message.body
