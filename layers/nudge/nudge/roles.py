"""Roles a console user holds in a workspace. Ordered: each role may do everything the one below may,
and more. An App API key acts as ``ADMIN``."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from nudge.errors import InvalidRequest


class Role(IntEnum):
    VIEWER = 1  # reads
    AUTHOR = 2  # people, segments, campaigns, content (templates, layouts, snippets), tests, broadcasts
    ADMIN = 3  # everything: API keys, members, billing details, delivery and workspace settings

    @property
    def label(self) -> str:
        return self.name.lower()


LABELS = tuple(role.label for role in sorted(Role, reverse=True))  # admin, author, viewer
ROLE_SCHEMA: dict[str, Any] = {"enum": list(LABELS)}  # what ``parse_role`` accepts


def parse_role(value: object, field: str = "role") -> Role:
    """A role from its label (or a role already read from one), or a 400 naming the field and the labels
    it accepts."""
    if isinstance(value, Role):
        return value
    for role in Role:
        if value == role.label:
            return role
    raise InvalidRequest(f"{field} must be one of {', '.join(LABELS)}", field=field)
