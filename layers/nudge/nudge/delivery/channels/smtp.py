"""EmailPort over SMTP (any relay: a provider's submission port, Postfix, a local catcher).

One connection per message: Lambda invocations are short and a pooled connection would go stale. No
in-adapter retries: a 4xx answer or a connection failure before DATA is a TransientSendError and the
pipeline tries the delivery again later; a 5xx answer is the server refusing the message (or our
credentials) for good. Once the message's content has been handed over (DATA), a dropped connection or a
timeout without the server's final reply is an AmbiguousSendError: the server may have queued it, and a
second send would deliver it twice. A reply to the end of the data, 4xx or 5xx, is definite (RFC 5321
4.1.1.4: the server takes the message only with a 2xx).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Literal

from nudge.delivery.channels.mime import build_mime, message_id

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer
from nudge.delivery.messages import AmbiguousSendError, Email, PermanentSendError, Receipt, TransientSendError

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    security: Security = "starttls"
    timeout: float = 10.0
    # The name sent with EHLO; None lets smtplib use the machine's fully qualified name.
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        if self.security not in ("starttls", "tls", "none"):
            raise ValueError(f"security must be starttls, tls or none, not {self.security!r}")

    def __repr__(self) -> str:
        password = "'***'" if self.password else "None"
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port!r}, username={self.username!r}, "
            f"password={password}, security={self.security!r}, timeout={self.timeout!r}, "
            f"local_hostname={self.local_hostname!r})"
        )

    __str__ = __repr__


def _address(value: str) -> str:
    """The bare address for the envelope ("Name <a@b>" -> "a@b")."""
    return parseaddr(value)[1] or value


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _failure(code: int, reply: bytes | str) -> PermanentSendError | TransientSendError:
    reason = f"SMTP {code}: {_text(reply)}".strip()
    if code >= 500:
        return PermanentSendError(reason)
    return TransientSendError(reason)


class _DataTracking(smtplib.SMTP):
    """Remembers whether DATA began, so a failure can tell "not sent" from "answer lost"."""

    data_started = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class _Smtp(_DataTracking):
    pass


class _SmtpSsl(_DataTracking, smtplib.SMTP_SSL):
    pass


class SmtpEmail:
    def __init__(
        self,
        settings: SmtpSettings,
        *,
        message_id_domain: str = "nudge",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._message_id_domain = message_id_domain
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpEmail({self.settings!r})"

    def _connect(self) -> _DataTracking:
        s = self.settings
        context = self._ssl_context or ssl.create_default_context()
        conn: _DataTracking
        if s.security == "tls":
            conn = _SmtpSsl(
                s.host, s.port, local_hostname=s.local_hostname, timeout=s.timeout, context=context
            )
        else:
            conn = _Smtp(s.host, s.port, local_hostname=s.local_hostname, timeout=s.timeout)
        try:
            if s.security == "starttls":
                conn.starttls(context=context)
            if s.username is not None:
                conn.login(s.username, s.password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _close(conn: smtplib.SMTP) -> None:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def send_email(self, message: Email) -> Receipt:
        try:
            data = build_mime(message, message_id_domain=self._message_id_domain)
        except ValueError as error:  # a header the message may not carry: it can never be sent
            raise PermanentSendError(f"invalid message: {error}") from error
        to = _address(message.to)
        recipients = [to, *(_address(b) for b in message.bcc)]
        conn: _DataTracking | None = None
        try:
            conn = self._connect()
            try:
                refused = conn.sendmail(_address(message.sender), recipients, data)
            finally:
                self._close(conn)
        except smtplib.SMTPRecipientsRefused as error:
            # Every recipient refused: permanent if any refusal was (5xx), else try again later.
            answers = list(error.recipients.values())
            code, reply = max(answers, key=lambda answer: answer[0])
            raise _failure(code, reply) from error
        except smtplib.SMTPResponseException as error:
            # Sender refused, DATA refused, authentication failed, greeting refused: by reply code.
            raise _failure(error.smtp_code, error.smtp_error) from error
        except smtplib.SMTPNotSupportedError as error:
            # The server cannot do what the settings require (STARTTLS, AUTH): nothing went out in clear.
            raise PermanentSendError(f"SMTP: {error}") from error
        except (smtplib.SMTPException, OSError) as error:
            # Connection refused or dropped, timeouts, TLS failures: before DATA nothing was handed over;
            # during it, the message may have been taken and only the answer lost.
            described = f"{type(error).__name__}: {error}"
            if conn is not None and conn.data_started:
                raise AmbiguousSendError(
                    f"SMTP: no answer after the message was sent: {described}"
                ) from error
            raise TransientSendError(f"SMTP: {described}") from error

        if to in refused:
            # Bcc copies went out, so retrying would duplicate them: the delivery fails with the reason.
            code, reply = refused[to]
            raise PermanentSendError(f"SMTP {code}: {_text(reply)}".strip())
        detail = {"refused": {address: code for address, (code, _) in refused.items()}} if refused else {}
        return Receipt(provider_id=message_id(message.delivery_id, self._message_id_domain), detail=detail)
