"""The public tracking links in messages: open pixel, click redirect, unsubscribe, view in browser.

No API key here: the token in the path is signed with the deployment's link secret and names the
workspace and delivery, so a forged or altered token is refused and one workspace's token can never
reach another's data. A click redirects only to a link stored with the delivery (no open redirect).
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from nudge import clock
from nudge.delivery import feedback, links, records
from nudge.delivery.signing import link_secret
from nudge.errors import NotFound

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private"}
# Retained email HTML shown in the browser: no scripts, no forms, nothing loaded but images.
VIEW_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'none'"


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    body: bytes | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkRoute:
    method: str
    path: str
    # token -> page. No operation reads the request body: an unsubscribe POST is the request whatever its
    # body (RFC 8058), so bytes that are not even text never stand in the way.
    operation: Callable[[str], Page]
    summary: str


def _target(purpose: str, token: str) -> tuple[str, str, dict]:
    try:
        payload = links.verify(link_secret(), purpose, token)
    except links.InvalidToken as exc:
        raise NotFound("this link is not valid") from exc
    workspace_id, delivery_id = payload.get("w"), payload.get("d")
    if not isinstance(workspace_id, str) or not isinstance(delivery_id, str):
        raise NotFound("this link is not valid")
    return workspace_id, delivery_id, payload


def _open(token: str) -> Page:
    try:
        workspace_id, delivery_id, _payload = _target(links.OPEN, token)
        feedback.opened(workspace_id, delivery_id, clock.now())
    except NotFound:
        pass  # a broken pixel still answers with an image: mail clients show errors otherwise
    return Page(200, "image/gif", PIXEL, dict(NO_STORE))


def _click(token: str) -> Page:
    workspace_id, delivery_id, payload = _target(links.CLICK, token)
    index = payload.get("i")
    if not isinstance(index, int):
        raise NotFound("this link is not valid")
    url = feedback.clicked(workspace_id, delivery_id, index, clock.now())
    if not links.redirectable(url):  # stored before links were checked: never split the header
        raise NotFound("this link is not valid")
    return Page(302, "text/plain", "", {"Location": url, **NO_STORE})


def _unsubscribe_form(token: str) -> Page:
    _target(links.UNSUBSCRIBE, token)
    body = (
        "<h1>Unsubscribe</h1><p>Stop receiving these emails?</p>"
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _html(200, body)


def _unsubscribe(token: str) -> Page:
    # RFC 8058: the POST itself is the request, whatever its body; it must need no further interaction.
    workspace_id, delivery_id, _payload = _target(links.UNSUBSCRIBE, token)
    feedback.unsubscribe(workspace_id, delivery_id, clock.now())
    return _html(200, "<h1>Unsubscribed</h1><p>You will not receive these emails any more.</p>")


def _view(token: str) -> Page:
    workspace_id, delivery_id, _payload = _target(links.VIEW, token)
    delivery = records.load(workspace_id, delivery_id)
    content = json.loads(delivery.content_json) if delivery and delivery.content_json else None
    if not content or not content.get("html"):
        raise NotFound("this message is no longer available")
    return Page(
        200, "text/html; charset=utf-8", content["html"], {"Content-Security-Policy": VIEW_CSP, **NO_STORE}
    )


def _html(status: int, content: str) -> Page:
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Nudge</title></head>'
        f"<body>{content}</body></html>"
    )
    return Page(
        status,
        "text/html; charset=utf-8",
        page,
        {"Content-Security-Policy": "default-src 'none'", **NO_STORE},
    )


def not_found_page(message: str) -> Page:
    return _html(404, f"<h1>Not found</h1><p>{html.escape(message)}</p>")


def refused_page(message: str) -> Page:
    return _html(400, f"<h1>Bad request</h1><p>{html.escape(message)}</p>")


ROUTES: tuple[LinkRoute, ...] = (
    LinkRoute("GET", "/t/o/{token}", _open, "Open pixel"),
    LinkRoute("GET", "/t/c/{token}", _click, "Click: record it, then redirect to the message's link"),
    LinkRoute("GET", "/t/u/{token}", _unsubscribe_form, "Unsubscribe confirmation page"),
    LinkRoute("POST", "/t/u/{token}", _unsubscribe, "Unsubscribe (RFC 8058 one-click)"),
    LinkRoute("GET", "/t/v/{token}", _view, "View the email in a browser"),
)
