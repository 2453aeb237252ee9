"""The public links in messages: open pixel, click redirect, unsubscribe, view in browser, and the
subscription centre (``subscription_centre``).

No API key here: the token in the path is signed with the deployment's link secret and names the
workspace and delivery, so a forged or altered token is refused and one workspace's token can never
reach another's data. A click redirects only to a link stored with the delivery (no open redirect).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass, field

from nudge import clock
from nudge.delivery import centre_links, feedback, links, records, subscription_centre
from nudge.delivery.signing import link_secret
from nudge.errors import NotFound

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private"}
# Retained email HTML shown in the browser: no scripts, no forms, nothing loaded but images.
VIEW_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
# The subscription centre: its own inline style, a form posted to itself, nothing else.
CENTRE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    body: bytes | str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LinkRequest:
    token: str
    # Only a route declared ``reads_body`` is handed the body: an unsubscribe POST is the request whatever
    # its body (RFC 8058), so bytes that are not even text never stand in its way.
    body: bytes | str | None = None


@dataclass(frozen=True)
class LinkRoute:
    method: str
    path: str
    operation: Callable[[LinkRequest], Page]
    summary: str
    reads_body: bool = False


def _target(purpose: str, token: str) -> tuple[str, str, dict]:
    try:
        payload = links.verify(link_secret(), purpose, token)
    except links.InvalidToken as exc:
        raise NotFound("this link is not valid") from exc
    workspace_id, delivery_id = payload.get("w"), payload.get("d")
    if not isinstance(workspace_id, str) or not isinstance(delivery_id, str):
        raise NotFound("this link is not valid")
    return workspace_id, delivery_id, payload


def _open(req: LinkRequest) -> Page:
    try:
        workspace_id, delivery_id, _payload = _target(links.OPEN, req.token)
        feedback.opened(workspace_id, delivery_id, clock.now())
    except NotFound:
        pass  # a broken pixel still answers with an image: mail clients show errors otherwise
    return Page(200, "image/gif", PIXEL, dict(NO_STORE))


def _click(req: LinkRequest) -> Page:
    workspace_id, delivery_id, payload = _target(links.CLICK, req.token)
    index = payload.get("i")
    if not isinstance(index, int):
        raise NotFound("this link is not valid")
    url = feedback.clicked(workspace_id, delivery_id, index, clock.now())
    if not links.redirectable(url):  # stored before links were checked: never split the header
        raise NotFound("this link is not valid")
    return Page(302, "text/plain", "", {"Location": url, **NO_STORE})


def _unsubscribe_page(req: LinkRequest) -> Page:
    """A message's unsubscribe link, opened in a browser: its reader's subscription centre (unsubscribing
    from everything is one button there), as Customer.io's unsubscribe link leads to its centre."""
    workspace_id, delivery_id, _payload = _target(links.UNSUBSCRIBE, req.token)
    delivery = records.load(workspace_id, delivery_id)
    if delivery is None:
        raise NotFound("this message is no longer available")
    centre = centre_links.token(link_secret(), workspace_id, delivery.cio_id, delivery_id)
    # Relative: the browser resolves it against this link's own origin.
    return Page(303, "text/plain", "", {"Location": f"/t/{centre_links.CENTRE}/{centre}", **NO_STORE})


def _centre(req: LinkRequest) -> Page:
    return _centre_page(subscription_centre.show(req.token))


def _centre_change(req: LinkRequest) -> Page:
    return _centre_page(subscription_centre.submit(req.token, req.body))


def _centre_page(document: str) -> Page:
    return Page(
        200, "text/html; charset=utf-8", document, {"Content-Security-Policy": CENTRE_CSP, **NO_STORE}
    )


def _unsubscribe(req: LinkRequest) -> Page:
    # RFC 8058: the POST itself is the request, whatever its body; it must need no further interaction.
    workspace_id, delivery_id, _payload = _target(links.UNSUBSCRIBE, req.token)
    feedback.unsubscribe(workspace_id, delivery_id, clock.now())
    return _html(200, "<h1>Unsubscribed</h1><p>You will not receive these emails any more.</p>")


def _view(req: LinkRequest) -> Page:
    workspace_id, delivery_id, _payload = _target(links.VIEW, req.token)
    delivery = records.load(workspace_id, delivery_id)
    content = records.content_of(delivery) if delivery else None
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


def busy_page() -> Page:
    """The person's profile kept changing under a write (identify's retries ran out): try again."""
    return _html(409, "<h1>Please try again</h1><p>Your preferences are being changed elsewhere.</p>")


ROUTES: tuple[LinkRoute, ...] = (
    LinkRoute("GET", "/t/o/{token}", _open, "Open pixel"),
    LinkRoute("GET", "/t/c/{token}", _click, "Click: record it, then redirect to the message's link"),
    LinkRoute(
        "GET", "/t/u/{token}", _unsubscribe_page, "Unsubscribe: on to the reader's subscription centre"
    ),
    LinkRoute("POST", "/t/u/{token}", _unsubscribe, "Unsubscribe (RFC 8058 one-click)"),
    LinkRoute("GET", "/t/v/{token}", _view, "View the email in a browser"),
    LinkRoute("GET", "/t/s/{token}", _centre, "The subscription centre: every topic and the person's state"),
    LinkRoute(
        "POST",
        "/t/s/{token}",
        _centre_change,
        "Change topics, unsubscribe from all or resubscribe (the page's form)",
        reads_body=True,
    ),
)
