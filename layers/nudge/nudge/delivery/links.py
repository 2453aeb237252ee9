"""Signed tracking links: open pixels, click redirects, unsubscribe and view-in-browser links.

A token is ``base64url(compact JSON payload) "." base64url(HMAC-SHA256(secret, purpose "." payload))``,
without padding, and travels in the URL ``{base}/t/{purpose}/{token}``. Signing the purpose keeps a token
made for one use (say an open pixel) from being replayed as another (an unsubscribe).

A click token names a link by its index in the delivery's stored links, never by URL: the click handler
redirects to ``links[i]`` of that delivery, so even a valid token can only lead to a link that was in the
message, and the tracking domain cannot be used as an open redirect.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from html import unescape
from typing import Any

from nudge.settings import get_settings

OPEN, CLICK, UNSUBSCRIBE, VIEW = "o", "c", "u", "v"

_MAX_TOKEN = 2_048  # far above any token we make; refuse bigger input before doing work on it
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# C0, DEL and C1: a CR/LF in a redirect target would split the Location header it is sent in.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidToken(Exception):
    """The token was not made by us for this purpose: tampered, truncated, or not a token at all."""


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, purpose: str, payload_part: str) -> str:
    if not secret:
        raise ValueError("the link signing secret is empty")  # every token would be forgeable
    return _encode(hmac.new(secret, f"{purpose}.{payload_part}".encode(), hashlib.sha256).digest())


def sign(secret: bytes, purpose: str, payload: Mapping[str, Any]) -> str:
    payload_part = _encode(json.dumps(dict(payload), separators=(",", ":")).encode())
    return f"{payload_part}.{_signature(secret, purpose, payload_part)}"


def verify(secret: bytes, purpose: str, token: str) -> dict[str, Any]:
    """The token's payload; :class:`InvalidToken` unless it was signed with ``secret`` for ``purpose``."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN:
        raise InvalidToken("malformed token")
    payload_part, _, signature = token.partition(".")
    if not (_BASE64URL.fullmatch(payload_part) and _BASE64URL.fullmatch(signature)):
        raise InvalidToken("malformed token")
    # Compared as text, so only the one canonical encoding of the signature is accepted.
    if not hmac.compare_digest(_signature(secret, purpose, payload_part).encode(), signature.encode()):
        raise InvalidToken("bad signature")
    try:
        payload = json.loads(_decode(payload_part))
    except (binascii.Error, ValueError) as exc:  # ValueError covers bad UTF-8 and bad JSON
        raise InvalidToken("malformed payload") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("malformed payload")
    return payload


def redirectable(url: str) -> bool:
    """True when ``url`` may be sent as a click's ``Location``: an absolute http(s) URL with no control
    character. A link target can come from data (a template renders a person's attribute into ``href``)."""
    return bool(re.match(r"https?://", url, re.IGNORECASE)) and not _CONTROL_CHARACTER.search(url)


def base_url() -> str:
    """Where the links in messages point: the links function's URL (the API's, or its custom domain)."""
    settings = get_settings()
    return settings.links_url or settings.track_url


def link_url(
    base_url: str, secret: bytes, purpose: str, workspace_id: str, delivery_id: str, **extra: Any
) -> str:
    token = sign(secret, purpose, {"w": workspace_id, "d": delivery_id, **extra})
    return f"{base_url.rstrip('/')}/t/{purpose}/{token}"


# An <a> start tag, quoted attribute values may hold ">"; then its attributes one by one, so that an
# "href=" inside another attribute's value is never mistaken for the link.
_A_TAG = re.compile(r"""<a(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def track_html(
    html: str,
    *,
    base_url: str,
    secret: bytes,
    workspace_id: str,
    delivery_id: str,
    track_opens: bool,
    track_clicks: bool,
) -> tuple[str, list[str]]:
    """Rewrite an email's links through the click tracker and add the open pixel.

    Returns the new HTML and the links, in index order, to store with the delivery. Only absolute
    http(s) links of ``<a>`` tags are rewritten (:func:`redirectable`); mailto:, tel:, fragments,
    relative links, links holding a control character and our own tracking links (unsubscribe, view in
    browser) are left alone. The rest of the HTML is unchanged.
    """
    base = base_url.rstrip("/")
    links: list[str] = []
    index: dict[str, int] = {}

    def tracked(url: str) -> str | None:
        if not redirectable(url) or url.startswith(f"{base}/t/"):
            return None
        if url not in index:
            index[url] = len(links)
            links.append(url)
        return link_url(base, secret, CLICK, workspace_id, delivery_id, i=index[url])

    def rewrite_tag(tag: re.Match[str]) -> str:
        text = tag.group(0)
        for attribute in _ATTRIBUTE.finditer(text, 2):  # after "<a"
            if attribute.group(1).lower() != "href":
                continue
            group = next((g for g in (2, 3, 4) if attribute.group(g) is not None), None)
            if group is None:  # a bare `href` with no value
                return text
            new_url = tracked(unescape(attribute.group(group)).strip())
            if new_url is None:
                return text
            return text[: attribute.start(group)] + new_url + text[attribute.end(group) :]
        return text

    if track_clicks:
        html = _A_TAG.sub(rewrite_tag, html)
    if track_opens:
        pixel = (
            f'<img src="{link_url(base, secret, OPEN, workspace_id, delivery_id)}"'
            ' width="1" height="1" alt="" style="display:none">'
        )
        ends = list(_BODY_END.finditer(html))
        at = ends[-1].start() if ends else len(html)  # the last one: an earlier one may sit in a comment
        html = html[:at] + pixel + html[at:]
    return html, links
