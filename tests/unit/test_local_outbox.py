import json
import threading
from email import message_from_bytes, policy

import pytest

from nudge_tools.local.outbox import Outbox, OutboxMessage


def email(delivery_id="d1", sent_at="2026-11-21T10:00:00Z", **overrides):
    fields = {
        "channel": "email",
        "recipient": "ada@example.com",
        "subject": "Welcome",
        "body": "Hello Ada\nSee you soon",
        "delivery_id": delivery_id,
        "sent_at": sent_at,
    }
    return OutboxMessage(**(fields | overrides))


def sms(delivery_id="s1", sent_at="2026-11-21T10:00:00Z", **overrides):
    fields = {
        "channel": "sms",
        "recipient": "+15551234567",
        "subject": None,
        "body": "Your code is 1234",
        "delivery_id": delivery_id,
        "sent_at": sent_at,
    }
    return OutboxMessage(**(fields | overrides))


def test_email_is_a_real_eml_with_text_and_html_alternative(tmp_path):
    message = email(
        html="<p>Hello <b>Ada</b></p>",
        sender="Acme <hi@acme.test>",
        headers={"List-Unsubscribe": "<https://acme.test/unsub/1>"},
    )
    path = Outbox(tmp_path).deliver(message)

    assert path.parent == tmp_path
    assert path.name == "20261121T100000.000Z-email-d1.eml"
    raw = path.read_bytes()
    assert b"\r\n" in raw  # RFC 5322 line ends
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["From"] == "Acme <hi@acme.test>"
    assert parsed["To"] == "ada@example.com"
    assert parsed["Subject"] == "Welcome"
    assert parsed["Date"].datetime.isoformat() == "2026-11-21T10:00:00+00:00"
    assert parsed["Message-ID"] == "<d1@nudge.localhost>"
    assert parsed["X-Nudge-Delivery-Id"] == "d1"
    assert parsed["List-Unsubscribe"] == "<https://acme.test/unsub/1>"
    assert parsed.get_content_type() == "multipart/alternative"
    text, markup = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and "Hello Ada" in text.get_content()
    assert markup is not None and markup.get_content().strip() == "<p>Hello <b>Ada</b></p>"


def test_email_without_sender_or_html_uses_default_from_and_one_text_part(tmp_path):
    parsed = message_from_bytes(Outbox(tmp_path).deliver(email()).read_bytes(), policy=policy.default)
    assert parsed["From"] == "nudge@localhost"
    assert parsed.get_content_type() == "text/plain"


def test_extra_headers_may_not_replace_the_outbox_headers(tmp_path):
    with pytest.raises(ValueError, match=r"(?i)subject"):
        Outbox(tmp_path).deliver(email(headers={"subject": "sneaky"}))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("channel", ["sms", "push", "in_app", "webhook"])
def test_other_channels_are_json_files_of_to_json(tmp_path, channel):
    message = sms(channel=channel, headers={"X-Trace": "t"})
    path = Outbox(tmp_path).deliver(message)
    assert path.name == f"20261121T100000.000Z-{channel}-s1.json"
    assert json.loads(path.read_text()) == message.to_json()


def test_to_json_has_every_field_and_the_file_name():
    message = sms(sent_at="2026-11-21T10:00:00.250Z")
    assert message.to_json() == {
        "channel": "sms",
        "recipient": "+15551234567",
        "subject": None,
        "body": "Your code is 1234",
        "html": None,
        "sender": None,
        "headers": {},
        "delivery_id": "s1",
        "sent_at": "2026-11-21T10:00:00.250Z",
        "file": "20261121T100000.250Z-sms-s1.json",
    }


@pytest.mark.parametrize("delivery_id", ["../../etc/passwd", "a/b", "..", "x\\y", "é:*?", "a" * 500])
def test_delivery_ids_cannot_escape_the_directory(tmp_path, delivery_id):
    path = Outbox(tmp_path).deliver(sms(delivery_id=delivery_id))
    assert path.parent == tmp_path
    assert path.exists()
    assert len(path.name) < 150
    assert "/" not in path.name and "\\" not in path.name and ".." not in path.name


def test_ids_that_sanitise_alike_still_get_their_own_files(tmp_path):
    outbox = Outbox(tmp_path)
    first = outbox.deliver(sms(delivery_id="a/b"))
    second = outbox.deliver(sms(delivery_id="a_b"))
    third = outbox.deliver(sms(delivery_id="a:b"))
    assert len({first, second, third}) == 3
    assert len(list(tmp_path.iterdir())) == 3


def test_delivering_the_same_delivery_id_twice_keeps_one_message_and_one_file(tmp_path):
    outbox = Outbox(tmp_path)
    first = outbox.deliver(email())
    # A retry a little later: same delivery id, later send time.
    again = outbox.deliver(email(sent_at="2026-11-21T10:00:05Z"))
    assert again == first
    assert [m.delivery_id for m in outbox.messages()] == ["d1"]
    assert list(tmp_path.iterdir()) == [first]


def test_messages_are_oldest_first_and_get_finds_by_delivery_id(tmp_path):
    outbox = Outbox(tmp_path)
    outbox.deliver(sms(delivery_id="late", sent_at="2026-11-21T12:00:00Z"))
    outbox.deliver(sms(delivery_id="early", sent_at="2026-11-21T09:00:00+00:00"))
    outbox.deliver(sms(delivery_id="tie", sent_at="2026-11-21T12:00:00Z"))
    assert [m.delivery_id for m in outbox.messages()] == ["early", "late", "tie"]
    early = outbox.get("early")
    assert early is not None and early.recipient == "+15551234567"
    assert outbox.get("missing") is None
    assert sorted(p.name for p in tmp_path.iterdir())[0].endswith("-sms-early.json")


def test_concurrent_deliveries_keep_every_message_once(tmp_path):
    outbox = Outbox(tmp_path)
    start = threading.Barrier(8)

    def deliver_all(worker):
        start.wait(timeout=5)
        for n in range(25):
            # Every worker also delivers the shared ids, as concurrent retries would.
            outbox.deliver(sms(delivery_id=f"w{worker}-{n}"))
            outbox.deliver(sms(delivery_id=f"shared-{n}"))

    threads = [threading.Thread(target=deliver_all, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(outbox.messages()) == 8 * 25 + 25
    assert len(list(tmp_path.iterdir())) == 8 * 25 + 25


def test_a_new_outbox_reads_back_the_directory(tmp_path):
    first = Outbox(tmp_path)
    sent = [
        email(
            html="<p>hi</p>",
            sender="Acme <hi@acme.test>",
            subject="Héllo <there>",
            headers={"List-Unsubscribe": "<https://acme.test/u>"},
            sent_at="2026-11-21T10:00:00.123Z",
        ),
        email(delivery_id="d2", subject=None, sent_at="2026-11-21T11:00:00Z"),
        sms(sent_at="2026-11-21T12:00:00Z"),
    ]
    for message in sent:
        first.deliver(message)
    (tmp_path / "notes.txt").write_text("not a message")
    (tmp_path / "broken.json").write_text("{")

    again = Outbox(tmp_path)
    assert again.messages() == sent
    # ... and still keeps one file per delivery id after the restart.
    again.deliver(sms(sent_at="2026-11-21T13:00:00Z"))
    assert len(list(tmp_path.glob("*-sms-*"))) == 1


def test_an_email_from_the_default_sender_reads_back_as_it_was_listed(tmp_path):
    first = Outbox(tmp_path)
    first.deliver(email(sender="nudge@localhost"))
    assert Outbox(tmp_path).messages() == first.messages()


@pytest.mark.parametrize(
    ("field", "value"),
    [("channel", "fax"), ("delivery_id", ""), ("sent_at", "yesterday"), ("sent_at", "2026-11-21T10:00:00")],
)
def test_invalid_messages_are_refused(field, value):
    with pytest.raises(ValueError):
        sms(**{field: value})


def test_headers_are_copied_and_read_only():
    headers = {"X-A": "1"}
    message = sms(headers=headers)
    headers["X-A"] = "2"
    assert message.headers == {"X-A": "1"}
    with pytest.raises(TypeError):
        message.headers["X-A"] = "3"


def test_empty_outbox_page_says_so(tmp_path):
    page = Outbox(tmp_path).render_html()
    assert page.startswith("<!DOCTYPE html>")
    assert "empty" in page
    assert "<table" not in page


def test_page_lists_newest_first_and_escapes_everything(tmp_path):
    outbox = Outbox(tmp_path)
    outbox.deliver(sms(delivery_id="older", sent_at="2026-11-21T09:00:00Z", body="a < b & c"))
    outbox.deliver(
        email(
            delivery_id="newer",
            recipient="x@example.com",
            subject="<script>alert(1)</script>",
            html='<p onclick="steal()">Hi &amp; bye</p><script>alert(2)</script>',
        )
    )
    page = outbox.render_html()

    assert page.index("newer") < page.index("older")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt; b &amp; c" in page
    # No scripts in the frame; its links open in a tab of their own (a centre's form can post there).
    assert (
        '<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="&lt;base target=&quot;_blank'
        "&quot;&gt;&lt;p onclick=&quot;steal()&quot;&gt;Hi &amp;amp; bye&lt;/p&gt;"
        '&lt;script&gt;alert(2)&lt;/script&gt;"'
    ) in page
    assert 'onclick="' not in page
    # Self-contained: no external stylesheets, scripts or images.
    assert "<link" not in page and "src=" not in page.replace("srcdoc=", "")


def test_page_pretty_prints_json_bodies(tmp_path):
    outbox = Outbox(tmp_path)
    outbox.deliver(sms(channel="webhook", recipient="https://hooks.test/x", body='{"a":1}'))
    assert "{\n  &quot;a&quot;: 1\n}" in outbox.render_html()
