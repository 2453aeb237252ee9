"""Render a delivery into the message its channel sends: the first step of the pipeline.

The template's fields and the request's inline fields (inline wins) are sources rendered in the sandbox,
each in its own language (the template's, or the one the inline content was checked in), with
``customer``, ``event``, ``trigger`` (a transactional request's ``message_data``), ``campaign`` and
``message``, plus ``unsubscribe_url``, ``view_in_browser_url`` and ``subscription_center_url``. Email
HTML then gets tracked links and an open pixel unless the message is untracked.
"""

from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nudge.delivery import centre_links, links, templates
from nudge.delivery.messages import Attachment, DeviceToken, Email, Push, Sms, Webhook
from nudge.delivery.records import ADDRESSED_SOURCES
from nudge.delivery.settings import WorkspaceDelivery
from nudge.delivery.signing import link_secret
from nudge.delivery.template_store import StoredTemplate
from nudge.model.base import plain
from nudge.model.keys import person_pk
from nudge.model.people import Device, Person
from nudge.settings import get_settings

DEFAULT_FROM = "nudge@localhost"


@dataclass(frozen=True)
class InApp:
    workspace_id: str
    delivery_id: str
    cio_id: str
    payload: Mapping[str, Any]


Message = Email | Sms | Push | Webhook | InApp


@dataclass(frozen=True)
class Composed:
    message: Message | None  # None: no address for the channel (gate 4 records it)
    address: Any
    links: list[str] = field(default_factory=list)
    retained: dict[str, Any] = field(default_factory=dict)  # what "view in browser" shows later


@dataclass(frozen=True)
class Job:
    """Everything composing one delivery needs, read once by the pipeline."""

    workspace_id: str
    delivery_id: str
    channel: str
    source: str
    request: dict[str, Any]
    person: Person
    template: StoredTemplate | None
    layout: str | templates.Source | None
    snippets: Mapping[str, str | templates.Source]
    settings: WorkspaceDelivery


class _Fields(dict[str, Any]):
    """A message's fields, each knowing the language its source is written in."""

    def __init__(self, job: Job) -> None:
        super().__init__(job.template.fields if job.template else {})
        template_language = job.template.language if job.template else templates.JINJA
        self.languages = dict.fromkeys(self, template_language)
        # Requests queued before languages existed (and system messages) carry none: Jinja.
        inline_language = str(job.request.get("language") or templates.JINJA)
        for key, value in job.request.get("content", {}).items():
            if value is not None:
                self[key] = value
                self.languages[key] = inline_language

    def language(self, name: str) -> str:
        return self.languages.get(name, templates.JINJA)


def compose(job: Job) -> Composed:
    """Raises ``templates.TemplateError`` when any field fails to render."""
    fields = _Fields(job)
    context = _context(job)
    return _COMPOSERS[job.channel](job, fields, context)


def _context(job: Job) -> dict[str, Any]:
    person = job.person
    customer = plain(person.attributes)
    customer.update({"cio_id": person.cio_id})
    if person.person_id:
        customer["id"] = person.person_id
    if person.email:
        customer["email"] = person.email
    if person.phone:
        customer["phone"] = person.phone
    base, secret = links.base_url(), link_secret()
    return {
        "customer": customer,
        "event": job.request.get("event") or {},
        "trigger": job.request.get("message_data") or {},
        "campaign": job.request.get("campaign") or {},
        "message": {"id": job.delivery_id, "channel": job.channel},
        "unsubscribe_url": links.link_url(base, secret, links.UNSUBSCRIBE, job.workspace_id, job.delivery_id),
        "view_in_browser_url": links.link_url(base, secret, links.VIEW, job.workspace_id, job.delivery_id),
        # The reader's subscription centre: every topic, unsubscribe from all, resubscribe. Mail addressed
        # to someone else (a template's test, rendered as a person) gets a link that opens nobody's.
        "subscription_center_url": centre_links.nobodys(base)
        if job.source in ADDRESSED_SOURCES
        else centre_links.url(base, secret, job.workspace_id, person.cio_id, job.delivery_id),
    }


def _text(fields: _Fields, name: str, context: dict[str, Any]) -> str | None:
    source = fields.get(name)
    return (
        None if source is None else templates.render_text(str(source), context, fields.language(name)).strip()
    )


def _email(job: Job, fields: _Fields, context: dict[str, Any]) -> Composed:
    to = job.request.get("to") or job.person.email or plain(job.person.attributes).get("email")
    subject = _text(fields, "subject", context) or ""
    body = templates.render_html(
        str(fields.get("body", "")),
        context,
        layout=job.layout,
        snippets=job.snippets,
        language=fields.language("body"),
    )
    preheader = _text(fields, "preheader", context)
    if preheader:
        # Shown by mail clients as the preview line, hidden in the message itself.
        body = f'<div style="display:none;max-height:0;overflow:hidden">{_escape(preheader)}</div>{body}'
    text = _text(fields, "body_plain", context) or templates.html_to_text(body)
    tracked = job.request.get("tracked", True) is not False and job.source != "system"

    def track(opens: bool) -> tuple[str, list[str]]:
        return links.track_html(
            body,
            base_url=links.base_url(),
            secret=link_secret(),
            workspace_id=job.workspace_id,
            delivery_id=job.delivery_id,
            track_opens=opens,
            track_clicks=tracked,
        )

    html, found_links = track(tracked)
    # The copy kept for "view in browser" has no open pixel: viewing it is not an open of the email.
    retained_html = track(False)[0] if tracked else html
    headers = {str(k): str(v) for k, v in (fields.get("headers") or {}).items()}
    if job.source not in ADDRESSED_SOURCES:
        # RFC 8058 one-click unsubscribe: mailbox providers POST to the signed link.
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    sender = fields.get("from") or job.settings.from_address or get_settings().default_from or DEFAULT_FROM
    if not to:
        return Composed(None, None)
    message = Email(
        workspace_id=job.workspace_id,
        delivery_id=job.delivery_id,
        # A sender from the settings or the environment is plain text, the same in either language.
        sender=templates.render_text(str(sender), context, fields.language("from")).strip(),
        to=str(to),
        subject=subject,
        text=text,
        html=html,
        reply_to=fields.get("reply_to") or job.settings.reply_to,
        bcc=tuple(_list(job.request.get("bcc"))),
        headers=headers,
        attachments=_attachments(job.request.get("attachments")),
    )
    return Composed(
        message,
        _bare_address(str(to)),
        found_links,
        {"subject": subject, "html": retained_html, "text": text},
    )


def _sms(job: Job, fields: _Fields, context: dict[str, Any]) -> Composed:
    phone = job.request.get("to") or job.person.phone or plain(job.person.attributes).get("phone")
    body = _text(fields, "body", context) or ""
    if not phone:
        return Composed(None, None)
    return Composed(Sms(job.workspace_id, job.delivery_id, str(phone), body), str(phone), [], {"text": body})


def _push(job: Job, fields: _Fields, context: dict[str, Any]) -> Composed:
    devices = tuple(
        DeviceToken(d.device_id, d.platform)
        for d in Device.query(person_pk(job.workspace_id, job.person.cio_id), Device.sk.startswith("device#"))
        if isinstance(d, Device)
    )
    title = _text(fields, "title", context) or ""
    body = _text(fields, "message", context) or ""
    data = {str(k): str(v) for k, v in (job.request.get("content", {}).get("custom_data") or {}).items()}
    if not devices:
        return Composed(None, None)
    message = Push(
        job.workspace_id,
        job.delivery_id,
        devices,
        title,
        body,
        link=_text(fields, "link", context),
        image_url=_text(fields, "image_url", context),
        sound=_text(fields, "sound", context),
        data=data,
    )
    return Composed(message, devices, [], {"title": title, "text": body})


def _in_app(job: Job, fields: _Fields, context: dict[str, Any]) -> Composed:
    payload = {"title": _text(fields, "title", context) or "", "body": _text(fields, "body", context) or ""}
    message = InApp(job.workspace_id, job.delivery_id, job.person.cio_id, payload)
    return Composed(message, job.person.cio_id, [], dict(payload))


def _webhook(job: Job, fields: _Fields, context: dict[str, Any]) -> Composed:
    url = _text(fields, "url", context)
    if fields.get("body") is not None:
        body = templates.render_text(str(fields["body"]), context, fields.language("body"))
        try:
            json.loads(body)
        except ValueError as exc:
            raise templates.TemplateError("the webhook body did not render to JSON") from exc
    else:
        body = json.dumps(
            {
                "delivery_id": job.delivery_id,
                "customer": context["customer"],
                "trigger": context["trigger"],
                "event": context["event"],
            },
            separators=(",", ":"),
        )
    if not url:
        return Composed(None, None)
    message = Webhook(
        job.workspace_id,
        job.delivery_id,
        url,
        body,
        job.settings.webhook_signing_key,
        method=str(fields.get("method") or "POST"),
        headers={str(k): str(v) for k, v in (fields.get("headers") or {}).items()},
    )
    return Composed(message, url, [], {"url": url})


_COMPOSERS = {"email": _email, "sms": _sms, "push": _push, "in_app": _in_app, "webhook": _webhook}


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value]


def _bare_address(value: str) -> str:
    match = re.search(r"<([^>]+)>\s*$", value)
    return (match.group(1) if match else value).strip().lower()


def _attachments(raw: Any) -> tuple[Attachment, ...]:
    if not raw:
        return ()
    found = []
    for name, data in dict(raw).items():
        try:
            content = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise templates.TemplateError(f"attachment {name} is not base64") from exc
        found.append(
            Attachment(str(name), content, mimetypes.guess_type(str(name))[0] or "application/octet-stream")
        )
    return tuple(found)
