"""The public tracking links in emails (click, open pixel, unsubscribe, view in browser) through the
real links handler: signed tokens, no API key, and nothing reachable with a forged one."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest

from functions.links import handler as links_handler
from nudge import workspaces
from nudge.delivery import links, pipeline, records, states
from tests.support.deliveries import cio_id, delivery, metrics, unsubscribed
from tests.support.track import Answer, TrackClient, invoke

BUY = '<p><a href="https://shop.example/p?a=1&amp;b=2">Buy</a></p>'
SECRET = os.environ["NUDGE_LINK_SECRET"].encode()


def _get(url: str) -> Answer:
    return invoke("GET", url, handler=links_handler.handler)


def _post(url: str, body: str = "List-Unsubscribe=One-Click") -> Answer:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return invoke("POST", url, headers=headers, body=body, handler=links_handler.handler)


def _urls(html: str, purpose: str) -> list[str]:
    return re.findall(rf'(?:href|src)="([^"]*/t/{purpose}/[^"]+)"', html)


def _base(url: str) -> str:
    """The links' base URL: everything before ``/t/``."""
    return url[: url.index("/t/")]


def _token(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def _altered(token: str) -> str:
    """The token with one character of its signature changed."""
    last = token[-2]
    return token[:-2] + ("A" if last != "A" else "B") + token[-1]


@pytest.fixture
def send_email(app, track, deliver, channels):
    track.put("/api/v1/customers/ann", {"email": "ann@example.com"})

    def send(body: str = BUY, **options):
        answer = app.post(
            "/v1/send/email", {"identifiers": {"id": "ann"}, "subject": "Deal", "body": body, **options}
        )
        assert answer.status == 200, answer.raw
        delivery_id = answer.json["delivery_id"]
        assert deliver(delivery_id).state == states.SENT
        return delivery_id, channels.email.sent[-1]

    return send


def test_click_redirects_to_the_messages_link_and_records_it(ws, send_email):
    delivery_id, email = send_email()
    [click] = _urls(email.html, "c")
    assert "shop.example" not in click  # the link goes through the tracker

    answer = _get(click)

    assert answer.status == 302
    assert answer.headers["Location"] == "https://shop.example/p?a=1&b=2"
    assert states.CLICKED in metrics(ws, delivery_id)
    assert delivery(ws, delivery_id).state == states.CLICKED


def test_a_link_rendered_from_data_with_cr_lf_is_not_tracked(ws, track, send_email):
    track.put("/api/v1/customers/ann", {"site": "https://shop.example/\r\nSet-Cookie: s=1"})

    _, email = send_email('<p><a href="{{ customer.site }}">Site</a></p>')

    assert _urls(email.html, "c") == []
    assert "Set-Cookie" in email.html  # left as the template wrote it: the mail client decides


def test_a_stored_link_with_a_control_character_is_never_a_redirect(ws, send_email):
    delivery_id, email = send_email()
    [click] = _urls(email.html, "c")
    stored = delivery(ws, delivery_id)  # as a delivery recorded before links were checked would be
    stored.update(actions=[type(stored).links.set(["https://shop.example/\r\nSet-Cookie: s=1"])])

    answer = _get(click)

    assert answer.status == 404
    assert "Location" not in answer.headers


def test_an_altered_click_token_is_not_found(ws, send_email):
    delivery_id, email = send_email()
    [click] = _urls(email.html, "c")

    answer = _get(click.replace(_token(click), _altered(_token(click))))

    assert answer.status == 404
    assert "Location" not in answer.headers
    assert states.CLICKED not in metrics(ws, delivery_id)


def test_a_validly_signed_click_for_a_link_not_in_the_message_is_not_found(ws, send_email):
    delivery_id, email = send_email()
    [click] = _urls(email.html, "c")
    token = links.sign(SECRET, links.CLICK, {"w": ws, "d": delivery_id, "i": 1})

    answer = _get(f"{_base(click)}/t/c/{token}")

    assert answer.status == 404
    assert "Location" not in answer.headers
    assert states.CLICKED not in metrics(ws, delivery_id)


def test_a_token_for_one_workspace_cannot_reach_anothers_delivery(ws, send_email):
    mine, email = send_email()
    [click] = _urls(email.html, "c")
    other = workspaces.create_workspace("Other", "essentials", "2026-01-01")
    theirs_track = TrackClient(other.site_id, other.track_api_key)
    theirs_track.put("/api/v1/customers/bob", {"email": "bob@example.com"})
    theirs = "d" * 32
    records.queue(
        other.workspace_id,
        records.NewDelivery(
            theirs,
            cio_id(other.workspace_id, "bob"),
            "email",
            "campaign",
            {"content": {"subject": "s", "body": BUY}},
        ),
    )
    assert pipeline.process(other.workspace_id, theirs).state == states.SENT

    # A valid token of workspace A naming B's delivery id finds nothing in A.
    crossed = links.sign(SECRET, links.CLICK, {"w": ws, "d": theirs, "i": 0})
    # A's payload rewritten to name workspace B, with A's signature kept: refused.
    signature = _token(click).partition(".")[2]
    forged_payload = links.sign(SECRET, links.CLICK, {"w": other.workspace_id, "d": mine, "i": 0})
    forged = forged_payload.partition(".")[0] + "." + signature

    for token in (crossed, forged):
        answer = _get(f"{_base(click)}/t/c/{token}")
        assert answer.status == 404
        assert "Location" not in answer.headers
    assert states.CLICKED not in metrics(other.workspace_id, theirs)
    assert states.CLICKED not in metrics(ws, mine)


def test_open_pixel_is_a_gif_and_records_the_open(ws, send_email):
    delivery_id, email = send_email()
    [pixel] = _urls(email.html, "o")

    answer = _get(pixel)

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "image/gif"
    assert answer.raw.startswith(b"GIF89a")
    assert states.OPENED in metrics(ws, delivery_id)
    assert delivery(ws, delivery_id).state == states.OPENED


def test_a_forged_open_pixel_still_answers_a_gif_but_records_nothing(ws, send_email):
    delivery_id, email = send_email()
    [pixel] = _urls(email.html, "o")

    answer = _get(pixel.replace(_token(pixel), _altered(_token(pixel))))

    assert answer.status == 200
    assert answer.headers["Content-Type"] == "image/gif"
    assert states.OPENED not in metrics(ws, delivery_id)
    assert delivery(ws, delivery_id).state == states.SENT


def test_an_open_token_is_not_a_click_token(ws, send_email):
    delivery_id, email = send_email()
    [pixel] = _urls(email.html, "o")

    answer = _get(f"{_base(pixel)}/t/c/{_token(pixel)}")

    assert answer.status == 404
    assert states.CLICKED not in metrics(ws, delivery_id)


def test_one_click_unsubscribe_headers_name_the_unsubscribe_link(send_email):
    _, email = send_email()

    header = email.headers["List-Unsubscribe"]

    assert re.fullmatch(r"<https?://[^>]+/t/u/[^>]+>", header)
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_getting_the_unsubscribe_link_only_asks(ws, send_email):
    delivery_id, email = send_email()
    url = email.headers["List-Unsubscribe"].strip("<>")

    answer = _get(url)

    # On to the reader's subscription centre, which asks before it changes anything.
    assert answer.status == 303
    assert answer.headers["Location"].startswith("/t/s/")
    centre = _get(_base(url) + answer.headers["Location"])
    assert centre.status == 200
    assert centre.headers["Content-Type"].startswith("text/html")
    assert b'<form method="post"' in centre.raw
    assert unsubscribed(ws, "ann") is False
    assert delivery(ws, delivery_id).state == states.SENT


def test_posting_the_unsubscribe_link_unsubscribes_the_person(ws, send_email):
    delivery_id, email = send_email()
    url = email.headers["List-Unsubscribe"].strip("<>")

    answer = _post(url)

    assert answer.status == 200
    assert unsubscribed(ws, "ann") is True
    assert delivery(ws, delivery_id).state == states.UNSUBSCRIBED
    assert states.UNSUBSCRIBED in metrics(ws, delivery_id)


def test_a_forged_unsubscribe_changes_nothing(ws, send_email):
    delivery_id, email = send_email()
    url = email.headers["List-Unsubscribe"].strip("<>")

    answer = _post(url.replace(_token(url), _altered(_token(url))))

    assert answer.status == 404
    assert unsubscribed(ws, "ann") is False
    assert delivery(ws, delivery_id).state == states.SENT


def test_view_in_browser_shows_the_message_under_a_strict_policy(send_email):
    _, email = send_email(BUY + '<p><a href="{{ view_in_browser_url }}">View online</a></p>')
    [view] = _urls(email.html, "v")

    answer = _get(view)

    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    shown = answer.raw.decode()
    # The sent message, less its open pixel: viewing it in a browser is not an open of the email.
    assert "/t/o/" in email.html
    assert "/t/o/" not in shown
    assert re.sub(r'<img src="[^"]+/t/o/[^"]+"[^>]*>', "", email.html) == shown
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_view_in_browser_is_gone_when_retention_is_disabled(send_email):
    _, email = send_email(
        BUY + '<p><a href="{{ view_in_browser_url }}">View online</a></p>', disable_message_retention=True
    )
    [view] = _urls(email.html, "v")

    answer = _get(view)

    assert answer.status == 404
    assert b"shop.example" not in answer.raw


def test_untracked_email_keeps_its_links_and_has_no_pixel(ws, send_email):
    delivery_id, email = send_email(tracked=False)

    assert 'href="https://shop.example/p?a=1&amp;b=2"' in email.html
    assert _urls(email.html, "c") == []
    assert _urls(email.html, "o") == []
    assert list(delivery(ws, delivery_id).links) == []
