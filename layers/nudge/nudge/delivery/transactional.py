"""The transactional App API (``POST /v1/send/email|sms|push|in_app``), compatible with Customer.io's
clients: validate the request, find or create the person, and queue one delivery. The send function
takes it from there; the answer is ``{delivery_id, queued_at}``.

A client that retries may send an ``Idempotency-Key`` header: the same key is the same delivery.

The request's correlation id (its API Gateway request id) is kept in the delivery's request, so the send
function's log lines about the delivery carry the same id as the API's about the request.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from nudge.delivery import records, templates
from nudge.delivery.request_shapes import (
    ATTACHMENTS_MAX_BYTES,
    INLINE,
    INLINE_REQUIRED,
    MESSAGE_DATA_MAX_BYTES,
    SEND_FLAGS,
)
from nudge.delivery.request_shapes import SEND_CHANNELS as CHANNELS
from nudge.delivery.template_store import resolve
from nudge.errors import InvalidRequest
from nudge.tracking import people
from nudge.tracking.identifiers import from_map
from nudge.tracking.limits import MAX_TIMESTAMP


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
    _add_options(request, body)
    send_at = _send_at(body.get("send_at"))

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
    template = resolve(workspace_id, reference)
    if template.channel != channel:
        raise InvalidRequest(
            f"transactional message {reference} is a {template.channel} template, not {channel}",
            field="transactional_message_id",
        )
    return template.id


def _add_options(request: dict[str, Any], body: dict[str, Any]) -> None:
    """The send's optional fields, each checked (in this order) and added to ``request``."""
    for flag in SEND_FLAGS:
        if flag in body and body[flag] is not None:
            if not isinstance(body[flag], bool):
                raise InvalidRequest(f"{flag} must be true or false", field=flag)
            request[flag] = body[flag]
    if body.get("to") is not None:
        if not isinstance(body["to"], str) or not body["to"].strip():
            raise InvalidRequest("to must be a non-empty string", field="to")
        request["to"] = body["to"].strip()
    if body.get("bcc") is not None:
        request["bcc"] = _string_or_list(body["bcc"], "bcc")
    if body.get("headers") is not None:
        request["content"]["headers"] = _headers(body["headers"])
    if body.get("custom_data") is not None:
        if not isinstance(body["custom_data"], dict):
            raise InvalidRequest("custom_data must be an object", field="custom_data")
        request["content"]["custom_data"] = body["custom_data"]
    if body.get("message_data") is not None:
        request["message_data"] = message_data_of(body["message_data"])
    if body.get("attachments") is not None:
        request["attachments"] = _attachments(body["attachments"])


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


def _string_or_list(value: Any, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise InvalidRequest(f"{field} must be a string or a list of strings", field=field)
    return [v for part in items for v in (p.strip() for p in part.split(",")) if v]


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidRequest("headers must be an object of strings", field="headers")
    return value


def message_data_of(value: Any) -> dict[str, Any]:
    """``message_data`` as a send keeps it: an object of bounded size, or a 400 at the field."""
    import json

    if not isinstance(value, dict):
        raise InvalidRequest("message_data must be an object", field="message_data")
    if len(json.dumps(value)) > MESSAGE_DATA_MAX_BYTES:
        raise InvalidRequest(
            f"message_data cannot be longer than {MESSAGE_DATA_MAX_BYTES} bytes", field="message_data"
        )
    return value


def _attachments(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidRequest(
            "attachments must be an object of file name to base64 content", field="attachments"
        )
    total = 0
    for name, data in value.items():
        if not isinstance(data, str):
            raise InvalidRequest(f"attachment {name} must be base64 text", field="attachments")
        try:
            total += len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequest(f"attachment {name} is not valid base64", field="attachments") from exc
    if total > ATTACHMENTS_MAX_BYTES:
        raise InvalidRequest(
            f"attachments cannot be larger than {ATTACHMENTS_MAX_BYTES} bytes in total", field="attachments"
        )
    return value


def _send_at(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIMESTAMP:
        raise InvalidRequest("send_at must be a unix timestamp in seconds", field="send_at")
    return value
