"""Object identifiers and validated relationship lists, parsed before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nudge.errors import InvalidRequest
from nudge.tracking.limits import MAX_OBJECT_ATTRIBUTES_BYTES, byte_len, check_attributes, check_identifier

MAX_RELATIONSHIPS = 100
_ACTIONS = ("add_relationships", "delete_relationships")


@dataclass(frozen=True)
class ObjectRef:
    object_type_id: str
    object_id: str


def object_ref(identifiers: Any, field: str = "identifiers") -> ObjectRef | str:
    """``{object_type_id, object_id}`` (or ``anonymous_id``), or ``{cio_object_id}`` returned as a str."""
    if not isinstance(identifiers, dict):
        raise InvalidRequest(f"{field} must be an object", field=field)
    if "cio_object_id" in identifiers:
        return check_identifier(identifiers["cio_object_id"], f"{field}.cio_object_id")
    type_id = identifiers.get("object_type_id")
    if type_id is None:
        raise InvalidRequest(f"{field}.object_type_id must be present", field=f"{field}.object_type_id")
    object_id = identifiers.get("object_id", identifiers.get("anonymous_id"))
    return ObjectRef(
        check_identifier(type_id, f"{field}.object_type_id"),
        check_identifier(object_id, f"{field}.object_id"),
    )


def check_object_attributes(attributes: Any, field: str = "attributes") -> dict[str, Any]:
    """An object's attributes, or a relationship's (``field``: where they are, named in errors)."""
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise InvalidRequest(f"{field} must be an object", field=field)
    check_attributes(attributes)
    if byte_len(attributes) > MAX_OBJECT_ATTRIBUTES_BYTES:
        raise InvalidRequest(
            f"object attributes cannot be longer than {MAX_OBJECT_ATTRIBUTES_BYTES} bytes",
            field=field,
            reason="too_long",
        )
    return attributes


# What ``relationship_list`` reads (each entry's identifiers and attributes are checked as it is read).
RELATIONSHIPS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_RELATIONSHIPS,
    "items": {"type": "object", "properties": {"identifiers": {"type": "object"}}},
}


def relationship_list(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise InvalidRequest(f"{field} must be a list of relationships", field=field)
    if len(value) > MAX_RELATIONSHIPS:
        raise InvalidRequest(f"{field} cannot have more than {MAX_RELATIONSHIPS} relationships", field=field)
    return value


@dataclass(frozen=True)
class ObjectLinks:
    """Relationships from one person to objects, to add or to delete."""

    add: bool
    entries: tuple[tuple[ObjectRef | str, dict[str, Any]], ...]

    @classmethod
    def parse(cls, relationships: Any, *, add: bool, field: str = "cio_relationships") -> ObjectLinks:
        """Entries are ``{identifiers: {object_type_id, object_id} | {cio_object_id},
        relationship_attributes?}``."""
        entries = relationship_list(relationships, field)
        return cls(
            add,
            tuple(
                (
                    object_ref(entry.get("identifiers"), f"{field}[{i}].identifiers"),
                    check_object_attributes(
                        entry.get("relationship_attributes"), f"{field}[{i}].relationship_attributes"
                    ),
                )
                for i, entry in enumerate(entries)
            ),
        )

    @classmethod
    def parse_identify(cls, value: Any) -> ObjectLinks:
        """An identify's ``cio_relationships``: v1's ``{action, relationships}`` or v2's list (add)."""
        if isinstance(value, list):
            return cls.parse(value, add=True)
        if not isinstance(value, dict):
            raise InvalidRequest("cio_relationships must be an object", field="cio_relationships")
        action = value.get("action", "add_relationships")
        if action not in _ACTIONS:
            raise InvalidRequest(
                "cio_relationships.action must be add_relationships or delete_relationships",
                field="cio_relationships.action",
            )
        return cls.parse(
            value.get("relationships", []),
            add=action == "add_relationships",
            field="cio_relationships.relationships",
        )


# What ``ObjectLinks.parse_identify`` reads: v1's ``{action, relationships}``, or v2's list (added).
IDENTIFY_LINKS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {"action": {"enum": list(_ACTIONS)}, "relationships": RELATIONSHIPS_SCHEMA},
        },
        RELATIONSHIPS_SCHEMA,
    ]
}
