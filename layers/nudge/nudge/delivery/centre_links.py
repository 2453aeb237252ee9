"""The subscription centre's links: ``/t/s/<token>``, the token naming one person of one workspace and
the message the link came in (see ``subscription_centre`` for the page). Apart from the page so that
composing a message (every send) and the App API's link for a person import no more than signing."""

from __future__ import annotations

from dataclasses import dataclass

from nudge.delivery import links
from nudge.delivery.signing import link_secret
from nudge.errors import InvalidRequest, NotFound
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef

CENTRE = "s"


@dataclass(frozen=True)
class Target:
    workspace_id: str
    cio_id: str
    delivery_id: str | None


def token(secret: bytes, workspace_id: str, cio_id: str, delivery_id: str | None) -> str:
    payload = {"w": workspace_id, "p": cio_id, **({"d": delivery_id} if delivery_id else {})}
    return links.sign(secret, CENTRE, payload)


def url(base_url: str, secret: bytes, workspace_id: str, cio_id: str, delivery_id: str | None) -> str:
    return f"{base_url.rstrip('/')}/t/{CENTRE}/{token(secret, workspace_id, cio_id, delivery_id)}"


def nobodys(base_url: str) -> str:
    """The centre link of mail addressed to someone other than the person it was rendered for (a test of
    a template, sent to its author): it looks like one and opens no one's preferences (a 404 page)."""
    return f"{base_url.rstrip('/')}/t/{CENTRE}/test"


def for_person(workspace_id: str, ref: PersonRef) -> dict[str, str]:
    """Customer.io's ``GET /v1/subscription_center/{customer_id}/token``: a centre link for a person, to
    hand out outside a message (an account page, a custom email). It names no message and, like every
    centre link, never expires (Customer.io's expire after 24 hours)."""
    person = people.load(workspace_id, ref)
    if person is None:
        raise InvalidRequest(f"customer_id: no person {ref.value}", field="customer_id")
    made = token(link_secret(), workspace_id, person.cio_id, None)
    return {"token": made, "url": f"{links.base_url().rstrip('/')}/t/{CENTRE}/{made}"}


def read(value: str) -> Target:
    """The person a centre token names; ``NotFound`` (a 404 page) for anything we did not sign."""
    try:
        payload = links.verify(link_secret(), CENTRE, value)
    except links.InvalidToken as exc:
        raise NotFound("this link is not valid") from exc
    workspace_id, cio_id, delivery_id = payload.get("w"), payload.get("p"), payload.get("d")
    if not isinstance(workspace_id, str) or not isinstance(cio_id, str):
        raise NotFound("this link is not valid")
    return Target(workspace_id, cio_id, delivery_id if isinstance(delivery_id, str) else None)
