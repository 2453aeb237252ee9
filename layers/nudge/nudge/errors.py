"""Domain errors. The HTTP edge maps them to answers by type, never by message text."""

from __future__ import annotations

import re


class NudgeError(Exception):
    """Base class for errors the domain raises on purpose."""


class InvalidRequest(NudgeError):
    """The request breaks a rule. ``messages`` are Customer.io's exact error strings."""

    def __init__(self, *messages: str, field: str = "", reason: str = "invalid") -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)
        self.field = field
        self.reason = reason

    @property
    def pointer(self) -> str | None:
        """``field`` (``filter.and[0].device``) as the JSON pointer an App API error names it by
        (``/filter/and/0/device``: an array index in RFC 6901's form). A field is a dotted path, so a key
        holding a dot (an attribute ``address.city``) reads as two levels, and nothing is escaped."""
        if not self.field:
            return None
        return "/" + re.sub(r"\[(\d+)\]", r".\1", self.field).replace(".", "/")


class Unauthorized(NudgeError):
    """Missing or wrong credentials."""


class Forbidden(NudgeError):
    """The credentials are good, but do not allow this: not a member of the workspace, or a role below
    the route's."""


class NotFound(NudgeError):
    """The addressed thing does not exist in this workspace."""


class Conflict(NudgeError):
    """The change collides with existing data (an identifier already taken)."""


class UnsupportedMediaType(NudgeError):
    """The body is not in the media type the route reads (415)."""
