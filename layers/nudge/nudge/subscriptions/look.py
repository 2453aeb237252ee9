"""The hosted subscription centre's look: the name it shows and two colours, a workspace setting
(``GET/PUT /v1/settings/subscription_center``). Colours are ``#rrggbb`` only, so nothing but a colour
ever reaches the page's style sheet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.errors import InvalidRequest
from nudge.model.subscriptions import CentreLook, topics_pk

SK = "centre"
NAME_MAX = 100
DEFAULT_ACCENT = "#1f5fbf"
DEFAULT_BACKGROUND = "#f4f5f7"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {
            "type": ["string", "null"],
            "maxLength": NAME_MAX,
            "description": "the heading of the page (the workspace's brand); null: none",
        },
        "accent_color": {"type": ["string", "null"], "pattern": _COLOUR.pattern},
        "background_color": {"type": ["string", "null"], "pattern": _COLOUR.pattern},
    },
}


@dataclass(frozen=True)
class Look:
    name: str | None
    accent_color: str
    background_color: str

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "accent_color": self.accent_color,
            "background_color": self.background_color,
        }


def load(workspace_id: str) -> Look:
    try:
        item = CentreLook.get(topics_pk(workspace_id), SK)
    except DoesNotExist:
        return Look(None, DEFAULT_ACCENT, DEFAULT_BACKGROUND)
    return Look(item.name, item.accent or DEFAULT_ACCENT, item.background or DEFAULT_BACKGROUND)


def update(workspace_id: str, body: dict[str, Any]) -> Look:
    """Apply the fields present in ``body`` (``null`` puts a colour back to its default)."""
    try:
        item = CentreLook.get(topics_pk(workspace_id), SK, consistent_read=True)
    except DoesNotExist:
        item = CentreLook(topics_pk(workspace_id), SK, workspace_id=workspace_id, updated_at=clock.now())
    if "name" in body:
        name = body["name"]
        if name is not None and (not isinstance(name, str) or len(name.strip()) > NAME_MAX):
            raise InvalidRequest(f"name must be text of at most {NAME_MAX} characters", field="name")
        item.name = name.strip() or None if isinstance(name, str) else None
    for field, attribute in (("accent_color", "accent"), ("background_color", "background")):
        if field in body:
            value = body[field]
            if value is not None and (not isinstance(value, str) or not _COLOUR.match(value)):
                raise InvalidRequest(f"{field} must be a colour as #rrggbb", field=field)
            setattr(item, attribute, value.lower() if isinstance(value, str) else None)
    item.updated_at = clock.now()
    item.save()
    return load(workspace_id)
