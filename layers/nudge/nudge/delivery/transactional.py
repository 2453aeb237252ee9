"""The transactional App API (``POST /v1/send/email|sms|push|in_app``), compatible with Customer.io's
clients: validate the request, find or create the person, and queue one delivery. The send function
takes it from there; the answer is ``{delivery_id, queued_at}``.

A client that retries may send an ``Idempotency-Key`` header: the same key is the same delivery.

The request's correlation id (its API Gateway request id) is kept in the delivery's request, so the send
function's log lines about the delivery carry the same id as the API's about the request.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from nudge.delivery import records, templates
from nudge.delivery.request_shapes import (
    INLINE,
    INLINE_REQUIRED,
    MAX_RECIPIENTS,
    MESSAGE_DATA,
    SEND_FLAGS,
    SEND_OPTIONS,
    is_email_address,
    read,
)
from nudge.delivery.request_shapes import SEND_CHANNELS as CHANNELS
from nudge.delivery.template_store import resolve
from nudge.errors import InvalidRequest
from nudge.tracking import people
from nudge.tracking.identifiers import from_map


def send(
    workspace_id: str,
    channel: str,
    body: dict[str, Any],
    idempotency_key: str | None,
    *,
    correlation_id: str = "",
) -> dict[str, Any]:
    if channel not in CHANNELS:
        raise InvalidRequest(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
    ref = from_map(body.get("identifiers"), allow_phone=False)
    template_id = _template_id(workspace_id, channel, body.get("transactional_message_id"))
    from nudge.delivery import settings

    workspace_settings = settings.load(workspace_id)
    # Inline content is written in the workspace's default language, recorded with the request so that
    # a queued message renders as it was checked even if the default changes meanwhile.
    language = workspace_settings.template_language
    content = _inline(channel, body, required=template_id is None, language=language)
    sender = content.get("from")
    if sender and "{" not in sender and workspace_settings.smtp is None:
        settings.check_sender_domain(sender, "from")
    request: dict[str, Any] = {"content": content, "transactional": True}
    if content:
        request["language"] = language
    if correlation_id:
        request["correlation_id"] = correlation_id
    send_at = _add_options(request, body)
    _check_recipients(channel, request)

    cio_id = people.find_or_create(workspace_id, ref)
    if cio_id is None:
        raise InvalidRequest(f"person {ref} is suppressed", field="identifiers")
    delivery_id = (
        records.stable_id(workspace_id, "transactional", idempotency_key) if idempotency_key else _new_id()
    )
    delivery, _ = records.queue(
        workspace_id,
        records.NewDelivery(
            delivery_id=delivery_id,
            cio_id=cio_id,
            channel=channel,
            source="transactional",
            request=request,
            template_id=template_id,
            send_at=send_at,
            draft=bool(request.get("queue_draft")),
        ),
    )
    return {"delivery_id": delivery.delivery_id, "queued_at": int(delivery.queued_at)}


def _template_id(workspace_id: str, channel: str, reference: Any) -> str | None:
    """The template a send names (``transactional_message_id``), which must be of its channel."""
    if reference is None:
        return None
    if isinstance(reference, bool) or not isinstance(reference, int | str):
        raise InvalidRequest(
            "transactional_message_id must be a template's id or its trigger name",
            field="transactional_message_id",
        )
    template = resolve(workspace_id, reference)
    if template.channel != channel:
        raise InvalidRequest(
            f"transactional message {reference} is a {template.channel} template, not {channel}",
            field="transactional_message_id",
        )
    return template.id


def _add_options(request: dict[str, Any], body: dict[str, Any]) -> int | None:
    """The send's optional fields, read (``SEND_OPTIONS``) and added to ``request``; its ``send_at``."""
    options = read(SEND_OPTIONS, body, ())
    request.update({flag: options[flag] for flag in SEND_FLAGS if options[flag] is not None})
    for name in ("to", "bcc", "message_data", "attachments"):
        if options[name] is not None:
            request[name] = options[name]
    for name in ("headers", "custom_data"):  # parts of the message itself
        if options[name] is not None:
            request["content"][name] = options[name]
    send_at: int | None = options["send_at"]
    return send_at


_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164, as SNS and Twilio take a number


def _check_recipients(channel: str, request: dict[str, Any]) -> None:
    """``to`` and ``bcc`` as the channel addresses them, checked now: a typo is a 400 for its sender
    rather than a message that fails later where only the delivery's record says why."""
    to, bcc = request.get("to"), request.get("bcc") or []
    if to is not None and channel == "email" and not is_email_address(to):
        raise InvalidRequest(
            "to must be one email address, like ann@example.com or Ann <ann@example.com>; more recipients "
            "go in bcc",
            field="to",
        )
    if to is not None and channel == "sms" and not _PHONE.match(to):
        raise InvalidRequest("to must be a phone number in E.164 form, like +15555550100", field="to")
    for address in bcc:
        if not is_email_address(address):
            raise InvalidRequest(f'bcc: "{address}" is not an email address', field="bcc")
    if 1 + len(bcc) > MAX_RECIPIENTS:
        raise InvalidRequest(
            f"to and bcc cannot hold more than {MAX_RECIPIENTS} addresses together", field="bcc"
        )


def _new_id() -> str:
    return secrets.token_hex(16)


def _inline(channel: str, body: dict[str, Any], *, required: bool, language: str) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for name in INLINE[channel]:
        key = "_from" if name == "from" and "_from" in body else name
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"{name} must be a string", field=name)
        try:
            templates.check(value, language)
        except templates.TemplateError as exc:
            raise InvalidRequest(f"{name} is not a valid template: {exc.reason}", field=name) from exc
        content[name] = value
    if required:
        for name in INLINE_REQUIRED[channel]:
            if name not in content:
                raise InvalidRequest(f"{name} is required without a transactional_message_id", field=name)
    return content


def message_data_of(value: Any) -> dict[str, Any]:
    """``message_data`` as a send keeps it: an object of bounded size, or a 400 at the field."""
    data: dict[str, Any] = read(MESSAGE_DATA, value, ("message_data",))
    return data
