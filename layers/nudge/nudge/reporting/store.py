"""A workspace's reporting webhooks: validation, storage, the brief per-process cache the outcome
subscriber reads, and the signing key.

The signing key is never stored: it is the hex HMAC-SHA256, keyed with the deployment's link secret
(Secrets Manager), of the workspace, the webhook's id and a random salt kept on the webhook. The create
answer shows it once; the worker derives it again to sign each request. Reading the table alone (a
backup, an export) does not reveal it, and rotating the link secret changes every webhook's key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.delivery.signing import link_secret
from nudge.errors import InvalidRequest, NotFound
from nudge.model.deliveries import ReportingWebhookItem, TemplateCounter
from nudge.reporting import events
from nudge.shapes import NOT_BLANK, Field, Leaf, Obj, Open, Path, Schema

MAX_WEBHOOKS = 20  # per workspace: each event is one queued message per subscribed webhook
MAX_NAME = 255
MAX_ENDPOINT = 2048
# How long a process trusts its copy of a workspace's webhooks: a change made through the API reaches the
# functions that report events within this (at once in the process that made it).
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Webhook:
    workspace_id: str
    webhook_id: int
    name: str
    endpoint: str
    events: frozenset[str]
    disabled: bool
    full_resolution: bool
    with_content: bool
    key_salt: str

    def to_api(self) -> dict[str, Any]:
        """Customer.io's shape (``type`` is always ``webhook``: no JavaScript webhooks here)."""
        return {
            "id": self.webhook_id,
            "type": "webhook",
            "name": self.name,
            "endpoint": self.endpoint,
            "events": sorted(self.events, key=events.NAMES.index),
            "disabled": self.disabled,
            "full_resolution": self.full_resolution,
            "with_content": self.with_content,
        }

    def signing_key(self) -> str:
        return signing_key(self.workspace_id, self.webhook_id, self.key_salt)

    def wants(self, event: str) -> bool:
        return not self.disabled and event in self.events


def signing_key(workspace_id: str, webhook_id: int, salt: str) -> str:
    message = f"reporting-webhook\x1f{workspace_id}\x1f{webhook_id}\x1f{salt}".encode()
    return hmac.new(link_secret(), message, hashlib.sha256).hexdigest()


def _pk(workspace_id: str) -> str:
    return f"{workspace_id}#reporting_webhooks"


def _sk(webhook_id: int) -> str:
    return f"w#{webhook_id:010d}"


# -- validation -----------------------------------------------------------------------------------------


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("name must be a non-empty string", field="name")
    if len(value) > MAX_NAME:
        raise InvalidRequest(f"name must be at most {MAX_NAME} characters", field="name")
    return value


def _endpoint(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest("endpoint must be an http(s) URL", field="endpoint")
    if len(value) > MAX_ENDPOINT:
        raise InvalidRequest(f"endpoint must be at most {MAX_ENDPOINT} characters", field="endpoint")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise InvalidRequest("endpoint must not contain spaces or control characters", field="endpoint")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("endpoint must be an http(s) URL with a host", field="endpoint")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidRequest("endpoint has an invalid port", field="endpoint") from None
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest("endpoint must not carry credentials", field="endpoint")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return value  # a host name: its addresses are checked at each connection (the SSRF guard)
    # Cloud metadata and link-local addresses are never reachable; private ones are refused when the
    # request is made (the local runtime allows them, so developers can receive events on loopback).
    # Imported here, where it pays: the webhook channel (http.client, ssl) is about 9 ms of the cold start
    # of every function that reports outcomes, and only the App API checks an endpoint.
    from nudge.delivery.channels.webhook import blocked_reason

    why = blocked_reason(str(address), allow_private=True)
    if why is not None:
        raise InvalidRequest(f"endpoint must not be a {why}", field="endpoint")
    return value


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InvalidRequest("events must be a non-empty array of event names", field="events")
    known = set(events.NAMES)
    for index, item in enumerate(value):
        if item not in known:
            raise InvalidRequest(
                f"events[{index}] must be one of Customer.io's reporting events (email_sent, ...)",
                field=f"events[{index}]",
            )
    return sorted(set(value), key=events.NAMES.index)


def _flag(value: Any, path: Path) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"{path[-1]} must be a boolean", field=str(path[-1]))
    return value


# -- the bodies (``nudge.shapes``): each check above beside the JSON Schema that says the same -----------

_NAME = Leaf(
    lambda value, _path: _name(value), {"type": "string", "pattern": NOT_BLANK, "maxLength": MAX_NAME}
)
_ENDPOINT = Leaf(
    lambda value, _path: _endpoint(value),
    {
        "type": "string",
        "format": "uri",
        "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f]+$",
        "maxLength": MAX_ENDPOINT,
        "description": "with a host and no credentials; not a link-local or cloud metadata address",
    },
)
_EVENTS = Leaf(
    lambda value, _path: _events(value),
    {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(events.NAMES)}},
)
_FLAGS: dict[str, Schema] = {
    "disabled": {"type": "boolean"},
    "full_resolution": {
        "type": "boolean",
        "description": "true: every open and click; false: the first of each message",
    },
    "with_content": {"type": "boolean", "description": "the message body in sent events"},
}
_FIELDS = (("name", _NAME), ("endpoint", _ENDPOINT), ("events", _EVENTS))
# POST: name, endpoint and events (each check refuses one left out with its own message), the flags
# false unless given; read in this order. Unknown keys are ignored, as they always were.
CREATE_BODY = Open(
    Obj(
        {
            **{name: Field(shape, default=None) for name, shape in _FIELDS},
            **{
                key: Field(Leaf(_flag, {**schema, "default": False}), default=False)
                for key, schema in _FLAGS.items()
            },
        },
        extra={"required": [name for name, _ in _FIELDS]},
    )
)
# PUT: the fields given (a field left out keeps its value); null is no field's value.
UPDATE_BODY = Open(
    Obj(
        {
            **{name: Field(shape, omit_none=True) for name, shape in _FIELDS},
            **{key: Field(Leaf(_flag, schema), omit_none=True) for key, schema in _FLAGS.items()},
        }
    )
)


# -- storage --------------------------------------------------------------------------------------------


def _view(item: ReportingWebhookItem) -> Webhook:
    return Webhook(
        workspace_id=item.workspace_id,
        webhook_id=int(item.webhook_id),
        name=item.name,
        endpoint=item.endpoint,
        events=frozenset(str(e) for e in item.events or []),
        disabled=bool(item.disabled),
        full_resolution=bool(item.full_resolution),
        with_content=bool(item.with_content),
        key_salt=item.key_salt,
    )


def _items(workspace_id: str) -> list[ReportingWebhookItem]:
    found = ReportingWebhookItem.query(
        _pk(workspace_id), ReportingWebhookItem.sk.startswith("w#"), consistent_read=True
    )
    return [item for item in found if isinstance(item, ReportingWebhookItem)]


def list_webhooks(workspace_id: str) -> list[Webhook]:
    return [_view(item) for item in _items(workspace_id)]


def _item(workspace_id: str, webhook_id: int) -> ReportingWebhookItem:
    try:
        return ReportingWebhookItem.get(_pk(workspace_id), _sk(webhook_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"reporting webhook {webhook_id} not found") from None


def load(workspace_id: str, webhook_id: int) -> Webhook:
    return _view(_item(workspace_id, webhook_id))


def find(workspace_id: str, webhook_id: int) -> Webhook | None:
    """The webhook, or None once deleted (the worker drops a deleted webhook's queued events)."""
    try:
        return load(workspace_id, webhook_id)
    except NotFound:
        return None


def create(workspace_id: str, body: dict[str, Any]) -> tuple[Webhook, str]:
    """The new webhook and its signing key (shown this once)."""
    read = CREATE_BODY.read(body, ())
    if len(_items(workspace_id)) >= MAX_WEBHOOKS:
        raise InvalidRequest(
            f"a workspace has at most {MAX_WEBHOOKS} reporting webhooks", field="body", reason="limit"
        )
    counter = TemplateCounter(_pk(workspace_id), "counter", workspace_id=workspace_id)
    counter.update(actions=[TemplateCounter.value.add(1)])
    webhook_id = int(counter.value)
    now = clock.now()
    item = ReportingWebhookItem(
        _pk(workspace_id),
        _sk(webhook_id),
        workspace_id=workspace_id,
        webhook_id=webhook_id,
        key_salt=secrets.token_hex(16),
        created_at=now,
        updated_at=now,
        **read,
    )
    item.save()
    forget(workspace_id)
    webhook = _view(item)
    return webhook, webhook.signing_key()


def update(workspace_id: str, webhook_id: int, body: dict[str, Any]) -> Webhook:
    """Customer.io's PUT names every field; a field left out keeps its value here."""
    item = _item(workspace_id, webhook_id)
    for key, value in UPDATE_BODY.read(body, ()).items():
        setattr(item, key, value)
    item.updated_at = clock.now()
    item.save()
    forget(workspace_id)
    return _view(item)


def delete(workspace_id: str, webhook_id: int) -> None:
    item = _item(workspace_id, webhook_id)
    item.delete()
    forget(workspace_id)


# -- the subscriber's cache -----------------------------------------------------------------------------

_lock = threading.Lock()
_cache: dict[str, tuple[float, tuple[Webhook, ...]]] = {}


def active(workspace_id: str) -> tuple[Webhook, ...]:
    """The workspace's enabled webhooks, from this process's copy when it is younger than
    ``CACHE_SECONDS``: a workspace without webhooks costs one read per process per that time."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(workspace_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = tuple(webhook for webhook in list_webhooks(workspace_id) if not webhook.disabled)
    with _lock:
        _cache[workspace_id] = (now + CACHE_SECONDS, found)
    return found


def forget(workspace_id: str | None = None) -> None:
    """Drop the cached list (after a change in this process; tests)."""
    with _lock:
        if workspace_id is None:
            _cache.clear()
        else:
            _cache.pop(workspace_id, None)
