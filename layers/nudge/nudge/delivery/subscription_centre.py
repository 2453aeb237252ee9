"""The hosted subscription centre: the page a person reaches from ``{{ subscription_center_url }}`` in a
message (or from its unsubscribe link), where they see every topic with their current state, change any,
unsubscribe from everything or resubscribe. No login: the link is the credential.

The link's token (``centre_links``) is ``links.sign(secret, "s", {"w": workspace, "p": cio_id, "d":
delivery})``: signed
(HMAC-SHA256 with the deployment's link secret, the purpose signed too), naming one person of one
workspace and the message it came in (``d``, absent for a link made another way). It never expires, so
an old message's link always lets its reader unsubscribe. A token altered in any way, or made for another
purpose, is refused with a 4xx page; nothing in it can name another workspace's person, since the
workspace is inside the signature.

The page is a plain form posted back to its own URL. There is no cookie, so a cross-site request has no
ambient authority to ride; the form also carries a second token signed for the page's own token
(purpose ``sf``), so a POST that did not come from the rendered page (a link scanner, a replayed one-click
body) changes nothing. Every change goes through identify (``subscriptions.preferences``) as Customer.io
writes it; unsubscribing from everything through a message's link also records ``unsubscribed`` on that
message (``feedback.unsubscribe``, which reports the outcome as the one-click POST does).
"""

from __future__ import annotations

import hashlib
import html
from urllib.parse import parse_qs

from nudge import clock
from nudge.delivery import feedback, links
from nudge.delivery.centre_links import Target, read
from nudge.delivery.signing import link_secret
from nudge.errors import InvalidRequest, NotFound
from nudge.model import Person
from nudge.subscriptions import look, preferences, topics
from nudge.subscriptions.look import Look
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef

FORM = "sf"
FORM_MAX_BYTES = 20_000  # a hundred topics' checkboxes fit many times over
SAVE, UNSUBSCRIBE_ALL, RESUBSCRIBE = "save", "unsubscribe_all", "resubscribe"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def form_token(page_token: str) -> str:
    return links.sign(link_secret(), FORM, {"t": _digest(page_token)})


def _form_is_ours(page_token: str, sent: str | None) -> bool:
    if not sent:
        return False
    try:
        return links.verify(link_secret(), FORM, sent).get("t") == _digest(page_token)
    except links.InvalidToken:
        return False


def _person(target: Target) -> Person:
    person = people.load(target.workspace_id, PersonRef("cio_id", target.cio_id))
    if person is None:
        raise NotFound("these preferences are no longer available")
    return person


def show(page_token: str) -> str:
    """The page for a GET: reads only."""
    target = read(page_token)
    return _render(page_token, target, _person(target), notice=None)


def submit(page_token: str, body: bytes | str | None) -> str:
    """Apply a posted form, then the page again with what changed said at its top."""
    target = read(page_token)
    form = _parse(body)
    if not _form_is_ours(page_token, _first(form, "form_token")):
        raise InvalidRequest("this form has expired: open the link again", field="form_token")
    person = _person(target)
    action = _first(form, "action") or SAVE
    if action == UNSUBSCRIBE_ALL:
        _unsubscribe_all(target)
        notice = "You are unsubscribed from all our messages."
    elif action == RESUBSCRIBE:
        preferences.change(target.workspace_id, target.cio_id, unsubscribed=False)
        notice = "You are subscribed again."
    elif action == SAVE:
        preferences.change(target.workspace_id, target.cio_id, topics=_changes(person, target, form))
        notice = "Your preferences are saved."
    else:
        raise InvalidRequest("action must be save, unsubscribe_all or resubscribe", field="action")
    return _render(page_token, target, _person(target), notice=notice)


def _unsubscribe_all(target: Target) -> None:
    if target.delivery_id is not None:
        try:
            # Records the metric on the message it came in and reports the outcome, as a one-click does.
            feedback.unsubscribe(target.workspace_id, target.delivery_id, clock.now())
            return
        except NotFound:
            pass  # the message is gone (retention, or a link made for none): the person still leaves
    preferences.change(target.workspace_id, target.cio_id, unsubscribed=True)


def _changes(person: Person, target: Target, form: dict[str, list[str]]) -> dict[str, bool]:
    """Each shown topic whose box now differs from the person's state: only what they changed is written,
    so a topic they left at its default keeps following the default."""
    states = preferences.states(person, topics.list_topics(target.workspace_id))
    return {
        state.topic.identifier: wanted
        for state in states
        if (wanted := _first(form, state.topic.identifier) == "on") != state.subscribed
    }


def _parse(body: bytes | str | None) -> dict[str, list[str]]:
    raw = body or b""
    if len(raw) > FORM_MAX_BYTES:
        raise InvalidRequest(f"the form cannot be larger than {FORM_MAX_BYTES} bytes", field="body")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return parse_qs(text, max_num_fields=topics.MAX_TOPICS + 10)
    except (UnicodeDecodeError, ValueError) as exc:  # ValueError: too many fields
        raise InvalidRequest("the form could not be read", field="body") from exc


def _first(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


# --- the page --------------------------------------------------------------------------------------

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c1e21;
background:var(--bg);padding:24px 12px}
main{max-width:560px;margin:0 auto;background:#fff;border-radius:12px;padding:24px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin:0 0 4px}
.lead{margin:0 0 20px;color:#444}
.notice{border-left:4px solid var(--accent);background:#f6f8fb;padding:10px 14px;margin:0 0 20px}
fieldset{border:0;margin:0 0 20px;padding:0}
legend{font-weight:600;font-size:1.1rem;margin-bottom:8px;padding:0}
.topic{display:flex;gap:12px;align-items:flex-start;padding:12px 0;border-top:1px solid #e4e6eb}
.topic input{width:1.35rem;height:1.35rem;margin:2px 0 0;flex:none;accent-color:var(--accent)}
.topic label{flex:1;cursor:pointer}
.topic .name{display:block;font-weight:600}
.topic .description{display:block;color:#555;font-size:.95rem}
.topic .state{display:block;color:#555;font-size:.85rem}
.actions{display:flex;flex-wrap:wrap;gap:12px;margin-top:8px}
button{font:inherit;padding:12px 18px;border-radius:8px;border:2px solid var(--accent);cursor:pointer;
min-height:48px}
button.primary{background:var(--accent);color:#fff}
button.secondary{background:#fff;color:var(--accent)}
button:focus-visible,input:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.all{border-top:1px solid #e4e6eb;margin-top:24px;padding-top:16px}
@media (max-width:480px){main{padding:18px}button{width:100%}}
"""


def _render(page_token: str, target: Target, person: Person, *, notice: str | None) -> str:
    centre = look.load(target.workspace_id)
    states = preferences.states(person, topics.list_topics(target.workspace_id))
    unsubscribed = bool(person.unsubscribed)
    parts = [_heading(centre)]
    if notice:
        parts.append(f'<p class="notice" role="status">{html.escape(notice)}</p>')
    parts.append('<form method="post">')
    parts.append(f'<input type="hidden" name="form_token" value="{html.escape(form_token(page_token))}">')
    if states:
        parts.append("<fieldset><legend>What you hear about from us</legend>")
        parts.extend(_topic(state, unsubscribed) for state in states)
        parts.append("</fieldset>")
        parts.append(
            '<div class="actions"><button class="primary" type="submit" name="action" value="save">'
            "Save preferences</button></div>"
        )
    parts.append('<div class="all">')
    if unsubscribed:
        parts.append(
            "<p>You are unsubscribed from all our messages"
            + (", whatever is ticked above" if states else "")
            + '.</p><button class="secondary" type="submit" name="action" value="resubscribe">'
            "Resubscribe</button>"
        )
    else:
        parts.append(
            "<p>Or stop every message we send you.</p>"
            '<button class="secondary" type="submit" name="action" value="unsubscribe_all">'
            "Unsubscribe from all</button>"
        )
    parts.append("</div></form>")
    return _document(centre, "".join(parts))


def _heading(centre: Look) -> str:
    title = f"{centre.name}: your preferences" if centre.name else "Your email preferences"
    return (
        f"<h1>{html.escape(title)}</h1>"
        '<p class="lead">Choose which messages you receive. Changes apply to the very next message.</p>'
    )


def _topic(state: preferences.TopicState, unsubscribed: bool) -> str:
    topic = state.topic
    key = html.escape(topic.identifier)
    described = f' aria-describedby="{key}-about"'
    description = (
        f'<span class="description">{html.escape(topic.description)}</span>' if topic.description else ""
    )
    default = "you are in unless you leave" if topic.subscribed_by_default else "only if you opt in"
    checked = " checked" if state.subscribed else ""
    return (
        f'<div class="topic"><input type="checkbox" id="{key}" name="{key}" value="on"{checked}{described}>'
        f'<label for="{key}"><span class="name">{html.escape(topic.name)}</span>{description}'
        f'<span class="state" id="{key}-about">{"Subscribed" if state.subscribed else "Not subscribed"}'
        f"{' (paused: unsubscribed from all)' if unsubscribed and state.subscribed else ''}"
        f" · {default}</span></label></div>"
    )


def _document(centre: Look, content: str) -> str:
    name = html.escape(centre.name or "Preferences")
    style = f":root{{--accent:{centre.accent_color};--bg:{centre.background_color}}}{_STYLE}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{name}: subscription preferences</title><style>{style}</style></head>"
        f"<body><main>{content}</main></body></html>"
    )
