from __future__ import annotations

import socket
from email import message_from_bytes, policy
from typing import Any

import pytest

from nudge.delivery.channels.smtp import SmtpEmail, SmtpSettings
from nudge.delivery.messages import (
    AmbiguousSendError,
    Attachment,
    Email,
    PermanentSendError,
    TransientSendError,
)
from tests.support.smtp_server import SmtpServer

UNSUBSCRIBE = "<https://t.example.com/u/dlv_1>"


def email(**changes: Any) -> Email:
    fields: dict[str, Any] = {
        "workspace_id": "ws_1",
        "delivery_id": "dlv_1",
        "sender": "Acme <news@example.com>",
        "to": "ada@example.org",
        "subject": "Your invoice",
        "text": "Hello Ada\n.a line starting with a dot\n",
        "html": "<p>Hello Ada</p>",
        "bcc": ("audit@example.com",),
        "headers": {"List-Unsubscribe": UNSUBSCRIBE},
        "attachments": (Attachment("invoice.pdf", b"%PDF-1.7"),),
    }
    fields.update(changes)
    return Email(**fields)


def settings(port: int, **changes: Any) -> SmtpSettings:
    return SmtpSettings(
        **{"host": "127.0.0.1", "port": port, "security": "none", "local_hostname": "nudge.test", **changes}
    )


def test_message_arrives_intact_with_bcc_only_on_the_envelope() -> None:
    with SmtpServer() as server:
        receipt = SmtpEmail(settings(server.port)).send_email(email())

    [received] = server.messages
    assert received.mail_from == "news@example.com"
    assert received.rcpt_tos == ["ada@example.org", "audit@example.com"]
    mail = message_from_bytes(received.data, policy=policy.default)
    assert mail["Message-ID"] == receipt.provider_id == "<dlv_1@nudge>"
    assert mail["Bcc"] is None
    assert mail["List-Unsubscribe"] == UNSUBSCRIBE
    text = next(part for part in mail.walk() if part.get_content_type() == "text/plain")
    assert text.get_content().splitlines() == ["Hello Ada", ".a line starting with a dot"]
    assert [part.get_filename() for part in mail.iter_attachments()] == ["invoice.pdf"]


def test_login_is_used_when_a_username_is_set() -> None:
    with SmtpServer(user="relay", password="s3cret") as server:
        SmtpEmail(settings(server.port, username="relay", password="s3cret")).send_email(email())

    assert [message.user for message in server.messages] == ["relay"]


def test_wrong_password_is_permanent() -> None:
    with (
        SmtpServer(user="relay", password="s3cret") as server,
        pytest.raises(PermanentSendError, match="SMTP 535"),
    ):
        SmtpEmail(settings(server.port, username="relay", password="nope")).send_email(email())
    assert server.messages == []


def test_4xx_on_rcpt_is_transient() -> None:
    with (
        SmtpServer(rcpt_reply="450 4.2.1 mailbox busy") as server,
        pytest.raises(TransientSendError, match="SMTP 450"),
    ):
        SmtpEmail(settings(server.port)).send_email(email(bcc=()))
    assert server.messages == []


def test_5xx_on_rcpt_is_permanent() -> None:
    with (
        SmtpServer(rcpt_reply="550 5.1.1 no such user") as server,
        pytest.raises(PermanentSendError) as refused,
    ):
        SmtpEmail(settings(server.port)).send_email(email())
    assert refused.value.reason == "SMTP 550: 5.1.1 no such user"


def test_a_refused_bcc_is_reported_on_the_receipt() -> None:
    with SmtpServer(refuse={"audit@example.com": "550 5.1.1 no such user"}) as server:
        receipt = SmtpEmail(settings(server.port)).send_email(email())

    assert [message.rcpt_tos for message in server.messages] == [["ada@example.org"]]
    assert receipt.detail == {"refused": {"audit@example.com": 550}}


def test_refused_primary_recipient_is_permanent_even_when_a_bcc_got_it() -> None:
    with (
        SmtpServer(refuse={"ada@example.org": "550 5.1.1 no such user"}) as server,
        pytest.raises(PermanentSendError, match="SMTP 550"),
    ):
        SmtpEmail(settings(server.port)).send_email(email())
    assert [message.rcpt_tos for message in server.messages] == [["audit@example.com"]]


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(TransientSendError, match="ConnectionRefusedError"):
        SmtpEmail(settings(port, timeout=2.0)).send_email(email())


def test_a_connection_lost_after_the_data_is_ambiguous() -> None:
    # The server took the whole message and the connection dropped before its answer: it may be queued.
    with (
        SmtpServer(drop_after_data=True) as server,
        pytest.raises(AmbiguousSendError, match="SMTP: no answer"),
    ):
        SmtpEmail(settings(server.port, timeout=2.0)).send_email(email())
    assert len(server.messages) == 1


def test_a_refusal_at_the_end_of_the_data_is_definite() -> None:
    with SmtpServer(data_reply="451 4.3.0 try again later") as server:
        with pytest.raises(TransientSendError, match="SMTP 451"):
            SmtpEmail(settings(server.port)).send_email(email())
        server.data_reply = "554 5.6.0 message refused"
        with pytest.raises(PermanentSendError, match="SMTP 554"):
            SmtpEmail(settings(server.port)).send_email(email())
    assert server.messages == []


def test_starttls_not_offered_is_refused_rather_than_sent_in_clear() -> None:
    with SmtpServer() as server, pytest.raises(PermanentSendError, match="STARTTLS"):
        SmtpEmail(settings(server.port, security="starttls")).send_email(email())
    assert server.messages == []


def test_repr_never_shows_the_password() -> None:
    configured = SmtpSettings(host="smtp.example.com", username="relay", password="hunter2-secret")

    for text in (repr(configured), str(configured), repr(SmtpEmail(configured))):
        assert "hunter2-secret" not in text
        assert "password='***'" in text
        assert "username='relay'" in text
    assert "password=None" in repr(SmtpSettings(host="smtp.example.com"))


def test_unknown_security_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpSettings(host="smtp.example.com", security="ssl")  # type: ignore[arg-type]
