"""Manual segments: filled through ``add_customers`` / ``remove_customers``."""

from __future__ import annotations

from typing import Any

from nudge import clock
from nudge.errors import InvalidRequest
from nudge.model import IdentifierLookup, Membership, Segment
from nudge.model import segments as segment_items
from nudge.model.keys import LOOKUP, lookup_pk, member_sk, person_pk, segment_pk
from nudge.model.segments import MANUAL, load_segment
from nudge.tracking.identifiers import NOT_AN_EMAIL, PersonRef, from_typed
from nudge.tracking.limits import IDENTIFIER_SCHEMA, MAX_SEGMENT_IDS


def _manual_segment(workspace_id: str, segment_id: str) -> Segment:
    segment = load_segment(workspace_id, segment_id)
    if segment.type != MANUAL:
        raise InvalidRequest(f"segment {segment_id} is not a manual segment", field="segment_id")
    return segment


# add_customers / remove_customers, as ``_parse_ids`` reads them (``?id_type=`` says which identifier).
IDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ids"],
    "properties": {"ids": {"type": "array", "maxItems": MAX_SEGMENT_IDS, "items": IDENTIFIER_SCHEMA}},
}


def _parse_ids(body: dict[str, Any], id_type: str | None) -> list[PersonRef]:
    raw = body.get("ids")
    if not isinstance(raw, list):
        raise InvalidRequest("ids must be a list", field="ids")
    if len(raw) > MAX_SEGMENT_IDS:
        raise InvalidRequest(
            f"cannot add or remove more than {MAX_SEGMENT_IDS} ids in one request",
            field="ids",
            reason="too_many",
        )
    kind = id_type or "id"
    refs = []
    for i, value in enumerate(raw):
        try:
            refs.append(from_typed(kind, value, f"ids[{i}]"))
        except InvalidRequest as exc:
            if exc.reason != NOT_AN_EMAIL:
                raise
            # Skipped as an unknown person is: one bad address does not refuse the other 999.
    return refs


def _cio_ids(workspace_id: str, refs: list[PersonRef]) -> list[str]:
    """Resolve up to 1000 identifiers with batched reads; unknown people are skipped."""
    found: list[str] = [r.value for r in refs if r.kind == "cio_id"]
    keys = list(
        {(lookup_pk(workspace_id, r.kind, r.lookup_value), LOOKUP) for r in refs if r.kind != "cio_id"}
    )
    found.extend(item.cio_id for item in IdentifierLookup.batch_get(keys))  # PynamoDB pages by 100 keys
    return sorted(set(found))


def add_customers(workspace_id: str, segment_id: str, body: dict[str, Any], id_type: str | None) -> int:
    refs = _parse_ids(body, id_type)
    _manual_segment(workspace_id, segment_id)
    members_pk = segment_pk(workspace_id, segment_id)
    cio_ids = _cio_ids(workspace_id, refs)
    keys = [(members_pk, member_sk(c)) for c in cio_ids]
    existing = {m.cio_id for m in Membership.batch_get(keys)}  # PynamoDB pages by 100 keys
    now = clock.now()
    added = [c for c in cio_ids if c not in existing]
    with Membership.batch_write() as batch:
        for cio in added:  # members already in keep their original entered_at
            batch.save(
                Membership(
                    members_pk,
                    member_sk(cio),
                    workspace_id=workspace_id,
                    segment_id=segment_id,
                    cio_id=cio,
                    person_pk=person_pk(workspace_id, cio),
                    entered_at=now,
                )
            )
    return len(added)


def remove_customers(workspace_id: str, segment_id: str, body: dict[str, Any], id_type: str | None) -> None:
    refs = _parse_ids(body, id_type)
    _manual_segment(workspace_id, segment_id)
    with Membership.batch_write() as batch:
        for cio in _cio_ids(workspace_id, refs):
            batch.delete(Membership(segment_pk(workspace_id, segment_id), member_sk(cio)))


def members(workspace_id: str, segment_id: str) -> list[str]:
    return [m.cio_id for m in segment_items.members(workspace_id, segment_id)]


def segments_of(workspace_id: str, cio_id: str) -> list[str]:
    return [str(m.segment_id) for m in segment_items.memberships_of(person_pk(workspace_id, cio_id))]
