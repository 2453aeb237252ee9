"""The local runtime's demo: a workspace seeded with a segment, templates and two campaigns, and
``nudge demo``, which tracks sample people against a running runtime so the emails arrive in its outbox.

- "Welcome series": people entering the segment "Demo: signed up" (anyone with ``signed_up_at``) get a
  welcome email, then after a 5-minute delay a tips email if their plan is pro, an upgrade email if
  not. ``make run`` runs at 60x, so the delay passes in 5 seconds. The tips email belongs to the
  subscription topic "Product tips" (opt-out), and links the reader's subscription centre.
- "Order confirmation": every ``order_placed`` event sends a receipt built from the event's data.
"""

from __future__ import annotations

import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any

WELCOME_DELAY_SECONDS = 300


def _template(workspace_id: str, name: str, subject: str, body: str) -> str:
    from nudge.delivery import template_store

    return template_store.create(
        # Liquid, said outright: a local state from before languages has a Jinja default.
        workspace_id,
        {"name": name, "channel": "email", "subject": subject, "body": body, "language": "liquid"},
    ).id


def seed(workspace_id: str) -> dict[str, str]:
    """Create the demo's segment, templates and campaigns (active) in ``workspace_id``; their ids."""
    from nudge.campaigns import lifecycle, store
    from nudge.segments import definitions
    from nudge.subscriptions import topics

    segment = definitions.create(
        workspace_id,
        "Demo: signed up",
        "Everyone with a signed_up_at attribute",
        {"attribute": {"field": "signed_up_at", "operator": "exists"}},
    )
    welcome = _template(
        workspace_id,
        "Demo: welcome",
        "Welcome to Acme, {{ customer.first_name | default: 'friend' }}!",
        '<h1>Welcome aboard</h1><p>Start with <a href="https://acme.example/start">our guide</a>.</p>'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    )
    product_tips = topics.create(
        workspace_id, {"name": "Product tips", "description": "How to get more out of Acme, now and then"}
    )
    tips = _template(
        workspace_id,
        "Demo: pro tips",
        "Three things pro users love",
        "<p>Hi {{ customer.first_name }}, here are three tips for your pro plan.</p>"
        '<p><a href="{{ subscription_center_url }}">Choose what you hear about</a></p>',
    )
    upgrade = _template(
        workspace_id,
        "Demo: upgrade",
        "Ready for more, {{ customer.first_name }}?",
        '<p>Pro unlocks everything. <a href="https://acme.example/pricing">See plans</a>.</p>',
    )
    receipt = _template(
        workspace_id,
        "Demo: order confirmation",
        "Order {{ event.order_id }} confirmed",
        "<p>Thanks {{ customer.first_name }}! Your total is {{ event.total }}.</p>",
    )
    welcome_campaign = store.create(
        workspace_id,
        {
            "name": "Welcome series",
            "trigger": {"type": "segment_entry", "segment_id": segment.id},
            "workflow": {
                "start": "welcome",
                "blocks": {
                    "welcome": {"type": "send", "channel": "email", "template_id": welcome, "next": "wait"},
                    "wait": {"type": "delay", "seconds": WELCOME_DELAY_SECONDS, "next": "plan"},
                    "plan": {
                        "type": "branch",
                        "condition": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
                        "true": "tips",
                        "false": "upgrade",
                    },
                    "tips": {
                        "type": "send",
                        "channel": "email",
                        "template_id": tips,
                        "topic_id": product_tips.id,
                    },
                    "upgrade": {"type": "send", "channel": "email", "template_id": upgrade},
                },
            },
        },
    )
    order_campaign = store.create(
        workspace_id,
        {
            "name": "Order confirmation",
            "trigger": {"type": "event", "name": "order_placed"},
            "settings": {"frequency": {"type": "every_match"}},
            "workflow": {
                "start": "receipt",
                "blocks": {"receipt": {"type": "send", "channel": "email", "template_id": receipt}},
            },
        },
    )
    for campaign in (welcome_campaign, order_campaign):
        lifecycle.activate(workspace_id, campaign["id"])
    return {
        "segment": segment.id,
        "welcome_campaign": welcome_campaign["id"],
        "order_campaign": order_campaign["id"],
    }


# --- nudge demo: sample people and events, over HTTP, against a running runtime ----------------------


def _call(contract: dict[str, Any], method: str, path: str, body: Any) -> None:
    credentials = b64encode(f"{contract['site_id']}:{contract['track_api_key']}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the runtime's own http(s) URL
        contract["track_url"] + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/json"},
    )
    with _open(contract, request) as answer:
        answer.read()


def _outbox(contract: dict[str, Any]) -> list[dict[str, Any]]:
    with _open(contract, contract["track_url"] + "/_local/outbox") as answer:
        found: list[dict[str, Any]] = json.loads(answer.read())
    return found


def _open(contract: dict[str, Any], request: urllib.request.Request | str) -> Any:
    """The runtime's own URL; under ``--tls``, trusting the self-signed certificate local.json names."""
    cert = contract.get("tls_cert")
    context = ssl.create_default_context(cafile=cert) if cert else None
    return urllib.request.urlopen(request, timeout=10, context=context)  # noqa: S310 - the runtime's own URL


def run(state_dir: Path, *, watch_seconds: float = 30.0) -> int:
    """Track the demo people and events, then print the emails as they land in the outbox."""
    contract_path = state_dir / "local.json"
    if not contract_path.is_file():
        print(f"nudge demo: no running local runtime ({contract_path} not found): start one with `make run`")
        return 1
    contract = json.loads(contract_path.read_text())
    try:
        return _track_and_watch(contract, watch_seconds)
    except (urllib.error.URLError, ConnectionError) as exc:  # URLError: refused, TLS refused, timed out
        reason = getattr(exc, "reason", exc)
        url = contract["track_url"]
        print(
            f"nudge demo: the local runtime at {url} does not answer ({reason}): start it (make run)",
            file=sys.stderr,
        )
        return 1


def _track_and_watch(contract: dict[str, Any], watch_seconds: float) -> int:
    before = {m["delivery_id"] for m in _outbox(contract)}
    now = int(time.time())
    tag = str(now)[-5:]
    people = (
        (f"demo-ann-{tag}", "Ann", "pro"),
        (f"demo-bob-{tag}", "Bob", "free"),
    )
    for person, first_name, plan in people:
        _call(
            contract,
            "PUT",
            f"/api/v1/customers/{person}",
            {"email": f"{person}@example.com", "first_name": first_name, "plan": plan, "signed_up_at": now},
        )
        print(f"tracked {person} ({plan}): enters 'Demo: signed up', starting the welcome series")
    _call(
        contract,
        "POST",
        f"/api/v1/customers/{people[1][0]}/events",
        {"name": "order_placed", "data": {"order_id": f"A-{tag}", "total": "$42.00"}},
    )
    print(f"tracked order_placed for {people[1][0]}: starts 'Order confirmation'")
    print(f"watching {contract['track_url']}/_local/outbox.html for {watch_seconds:g} s ...")
    seen = set(before)
    deadline = time.monotonic() + watch_seconds
    while time.monotonic() < deadline and len(seen) - len(before) < 5:
        for message in _outbox(contract):
            if message["delivery_id"] not in seen:
                seen.add(message["delivery_id"])
                print(f"  {message['sent_at']}  to {message['recipient']}: {message['subject']}")
        time.sleep(0.5)
    arrived = len(seen) - len(before)
    print(f"{arrived} email(s) arrived; expected 5 (2 welcomes, the receipt, then tips and upgrade)")
    return 0 if arrived >= 5 else 1
