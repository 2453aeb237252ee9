from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from nudge.delivery.channels.mime import build_mime, message_id
from nudge.delivery.messages import Attachment, Email

UNSUBSCRIBE = {
    "List-Unsubscribe": "<https://t.example.com/u/abc>, <mailto:unsub@example.com?subject=abc>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def email(**changes: object) -> Email:
    fields: dict[str, object] = {
        "workspace_id": "ws1",
        "delivery_id": "dlv_01HZX",
        "sender": "Acme <news@example.com>",
        "to": "ada@example.org",
        "subject": "Welcome, Ada",
        "text": "Hello Ada",
    }
    fields.update(changes)
    return Email(**fields)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_text_only_message_has_the_envelope_headers_and_crlf_lines() -> None:
    raw = build_mime(email(), date=datetime(2026, 11, 1, 9, 30, tzinfo=UTC))
    mail = parse(raw)

    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert mail["From"] == "Acme <news@example.com>"
    assert mail["To"] == "ada@example.org"
    assert mail["Subject"] == "Welcome, Ada"
    assert mail["Date"] == "Sun, 01 Nov 2026 09:30:00 +0000"
    assert mail["Message-ID"] == "<dlv_01HZX@nudge>"
    assert mail["Reply-To"] is None
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().strip() == "Hello Ada"


def test_message_id_is_stable_and_safe_for_the_header() -> None:
    first = parse(build_mime(email(), message_id_domain="mail.example.com"))["Message-ID"]
    again = parse(build_mime(email(), message_id_domain="mail.example.com"))["Message-ID"]
    assert first == again == "<dlv_01HZX@mail.example.com>"
    assert message_id("dlv 1<x>@y", "nudge") == "<dlv-1-x--y@nudge>"


def test_html_and_text_become_multipart_alternative() -> None:
    mail = parse(build_mime(email(html="<p>Hello <b>Ada</b></p>", reply_to="help@example.com")))

    assert mail.get_content_type() == "multipart/alternative"
    parts = [(part.get_content_type(), part.get_content().strip()) for part in mail.iter_parts()]
    assert parts == [("text/plain", "Hello Ada"), ("text/html", "<p>Hello <b>Ada</b></p>")]
    assert mail["Reply-To"] == "help@example.com"


def test_attachments_make_multipart_mixed_with_guessed_and_given_types() -> None:
    attachments = (
        Attachment("invoice.pdf", b"%PDF-1.7 fake"),  # octet-stream default: guessed from the name
        Attachment("data.bin", b"\x00\x01\x02"),  # nothing to guess: stays octet-stream
        Attachment("report", b"a,b\n1,2\n", "text/csv"),  # given: kept
    )
    mail = parse(build_mime(email(html="<p>Hi</p>", attachments=attachments)))

    assert mail.get_content_type() == "multipart/mixed"
    body, *files = list(mail.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    assert [(f.get_content_type(), f.get_filename(), f.get_content()) for f in files] == [
        ("application/pdf", "invoice.pdf", b"%PDF-1.7 fake"),
        ("application/octet-stream", "data.bin", b"\x00\x01\x02"),
        ("text/csv", "report", "a,b\n1,2\n"),
    ]
    assert all(f.get_content_disposition() == "attachment" for f in files)


def test_message_attachments_are_sent_as_opaque_bytes() -> None:
    # message/* may not be base64 encoded (RFC 2046), so an .eml goes out as octet-stream.
    mail = parse(build_mime(email(attachments=(Attachment("fwd.eml", b"Subject: x\r\n\r\nbody"),))))

    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/octet-stream"
    assert attachment.get_content() == b"Subject: x\r\n\r\nbody"


def test_list_unsubscribe_headers_pass_through_unchanged() -> None:
    mail = parse(build_mime(email(headers=UNSUBSCRIBE)))

    # Long headers are folded (RFC 5322); unfolded, the value is the one given.
    assert mail["List-Unsubscribe"].strip() == UNSUBSCRIBE["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "name", ["From", "to", "SUBJECT", "Date", "Message-ID", "MIME-Version", "Content-Type", "Bcc", "Reply-To"]
)
def test_extra_headers_cannot_replace_built_ones(name: str) -> None:
    with pytest.raises(ValueError, match="cannot be overridden"):
        build_mime(email(headers={name: "x@example.com"}))


@pytest.mark.parametrize(
    "name", ["X-SES-CONFIGURATION-SET", "x-ses-message-tags", "X-SES-SOURCE-ARN", "X-SES-RETURN-PATH-ARN"]
)
def test_extra_headers_cannot_instruct_ses(name: str) -> None:
    # SES would act on these (another configuration set, forged nudge-delivery tags) and strip them.
    with pytest.raises(ValueError, match="instruction to the email provider"):
        build_mime(email(headers={name: "nudge-workspace=other"}))


def test_extra_headers_cannot_inject_lines() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        build_mime(email(headers={"X-Campaign": "a\r\nBcc: victim@example.com"}))
    with pytest.raises(ValueError, match="invalid header name"):
        build_mime(email(headers={"X Campaign": "a"}))


def test_bcc_is_never_written_as_a_header() -> None:
    raw = build_mime(email(bcc=("audit@example.com",)))

    assert parse(raw)["Bcc"] is None
    assert b"audit@example.com" not in raw


def test_non_ascii_subject_and_names_are_encoded() -> None:
    raw = build_mime(email(sender="Zoë <zoe@example.com>", subject="Grüße ✓", text="Ça va?"))
    mail = parse(raw)

    assert raw.isascii()
    assert mail["Subject"] == "Grüße ✓"
    assert mail["From"].addresses[0].display_name == "Zoë"
    assert mail.get_content().strip() == "Ça va?"
