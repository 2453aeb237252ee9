"""Devices: push tokens on a person. A token belongs to one person at a time, as in Customer.io."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.errors import InvalidRequest
from nudge.model import Device, IdentifierLookup
from nudge.model.base import plain
from nudge.model.keys import LOOKUP, device_sk, lookup_pk, person_pk
from nudge.tracking import people
from nudge.tracking.identifiers import PersonRef
from nudge.tracking.limits import TIMESTAMP_SCHEMA, byte_len, check_attributes, check_timestamp

PLATFORMS = ("ios", "android")
MAX_TOKEN_BYTES = 1000  # FCM tokens run past the 150-byte identifier limit
# A device's own fields besides its id (``id`` in the v1 API, ``token`` in v2), as JSON Schema; any other
# key is an attribute. ``DeviceRequest.parse`` reads them, ``DeviceRequest.schema`` describes them.
_FIELDS: dict[str, dict[str, Any]] = {
    "platform": {"type": "string", "enum": list(PLATFORMS)},
    "last_used": {"anyOf": [TIMESTAMP_SCHEMA, {"type": "null"}]},
    "attributes": {"type": ["object", "null"]},
}
_KNOWN = ("id", "token", *_FIELDS)


@dataclass(frozen=True)
class DeviceRequest:
    token: str
    platform: str
    last_used: int | None
    attributes: dict[str, Any]

    @staticmethod
    def schema(id_field: str) -> dict[str, Any]:
        """The JSON Schema of what :meth:`parse` reads (its route's documented body)."""
        return {
            "type": "object",
            "required": [id_field, "platform"],
            "properties": {id_field: {"type": "string"}, **_FIELDS},
        }

    @classmethod
    def parse(cls, device: Any, *, id_field: str) -> DeviceRequest:
        """Both body shapes: extra attributes directly in ``device`` (python, ruby) or in
        ``device.attributes`` (node)."""
        if not isinstance(device, dict):
            raise InvalidRequest("device must be an object", field="device")
        token = device.get(id_field)
        if token is not None and not isinstance(token, str):
            raise InvalidRequest(f"device {id_field} must be a string", field=f"device.{id_field}")
        if not token or not token.strip():
            raise InvalidRequest(f"device {id_field} must be present", field=f"device.{id_field}")
        if byte_len(token) > MAX_TOKEN_BYTES:
            raise InvalidRequest(
                f"device {id_field} cannot be longer than {MAX_TOKEN_BYTES} bytes",
                field=f"device.{id_field}",
            )
        platform = device.get("platform")
        if platform not in PLATFORMS:
            raise InvalidRequest("device platform must be one of ios, android", field="device.platform")
        nested = device.get("attributes") or {}
        if not isinstance(nested, dict):
            raise InvalidRequest("device attributes must be an object", field="device.attributes")
        attributes = {k: v for k, v in device.items() if k not in _KNOWN}
        attributes.update(nested)
        check_attributes(attributes)
        last_used = check_timestamp(device.get("last_used"), "device.last_used")
        return cls(token.strip(), platform, last_used, attributes)


def add_device(workspace_id: str, ref: PersonRef, req: DeviceRequest) -> bool:
    cio = people.find_or_create(workspace_id, ref)
    if cio is None:
        return False
    owner_key = lookup_pk(workspace_id, "device", req.token)
    try:
        owner: str | None = IdentifierLookup.get(owner_key, LOOKUP).cio_id
    except DoesNotExist:
        owner = None
    if owner is not None and owner != cio:
        Device(person_pk(workspace_id, owner), device_sk(req.token)).delete()
    if owner != cio:
        IdentifierLookup(owner_key, LOOKUP, workspace_id=workspace_id, cio_id=cio).save()
    Device(
        person_pk(workspace_id, cio),
        device_sk(req.token),
        workspace_id=workspace_id,
        cio_id=cio,
        device_id=req.token,
        platform=req.platform,
        last_used=req.last_used,
        attributes=req.attributes,
        updated_at=clock.now(),
    ).save()
    return True


def delete_device(workspace_id: str, ref: PersonRef, token: str) -> None:
    cio = people.resolve_cio_id(workspace_id, ref)
    if cio is None or not token:
        return
    Device(person_pk(workspace_id, cio), device_sk(token)).delete()
    if _owned_by(workspace_id, token, cio):
        IdentifierLookup(lookup_pk(workspace_id, "device", token), LOOKUP).delete()


def _owned_by(workspace_id: str, token: str, cio_id: str) -> bool:
    try:
        return IdentifierLookup.get(lookup_pk(workspace_id, "device", token), LOOKUP).cio_id == cio_id
    except DoesNotExist:
        return False


def list_devices(workspace_id: str, cio_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": d.device_id,
            "platform": d.platform,
            "last_used": d.last_used,
            "attributes": plain(d.attributes),
        }
        for d in Device.query(person_pk(workspace_id, cio_id), Device.sk.startswith("device#"))
    ]
