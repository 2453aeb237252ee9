"""Segment definitions: create, read, update, delete, validated before anything is stored.

Definitions live in one partition per workspace (``<ws>#segments``), so listing them is one query;
members live in one partition per segment. Creating or changing a dynamic segment starts a backfill
(``state: building``) that the stream consumer drives page by page (see ``backfill``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nudge import clock
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.model import Membership, Segment
from nudge.model.keys import segments_pk
from nudge.model.segments import DYNAMIC, MANUAL, load_segment, members
from nudge.segments import dependents
from nudge.segments.condition_eval import FieldsOnly
from nudge.segments.conditions import (
    CONDITION_SCHEMA,
    Condition,
    ConditionError,
    dependencies,
    evaluate,
    parse,
    referenced_segments,
    to_json,
)
from nudge.shapes import NOT_BLANK, Schema

BUILDING, FINISHED = "building", "finished"
_NAME_MAX = 255


@dataclass(frozen=True)
class SegmentView:
    id: str
    name: str
    description: str
    type: str
    state: str
    progress: int | None
    created_at: int
    updated_at: int
    conditions: dict[str, Any] | None

    def to_api(self) -> dict[str, Any]:
        """Customer.io's segment object (plus ``conditions`` for dynamic segments)."""
        body: dict[str, Any] = {
            "id": int(self.id) if self.id.isdigit() else self.id,
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "state": self.state,
            "progress": self.progress,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.conditions is not None:
            body["conditions"] = self.conditions
        return body


def view(segment: Segment) -> SegmentView:
    return SegmentView(
        id=str(segment.segment_id),
        name=segment.name,
        description=segment.description,
        type=segment.type,
        state=segment.state,
        progress=int(segment.progress) if segment.type == DYNAMIC else None,
        created_at=int(segment.created_at),
        updated_at=int(segment.updated_at),
        conditions=json.loads(segment.conditions_json) if segment.conditions_json else None,
    )


def condition_of(segment: Segment) -> Condition | None:
    return parse(json.loads(segment.conditions_json)) if segment.conditions_json else None


# --- reading -----------------------------------------------------------------------------------------


def load(workspace_id: str, segment_id: str) -> Segment:
    return load_segment(workspace_id, segment_id)


def load_many(workspace_id: str, segment_ids: Iterable[str]) -> list[Segment]:
    keys = sorted({(segments_pk(workspace_id), str(s)) for s in segment_ids})
    return [s for s in Segment.batch_get(keys) if isinstance(s, Segment)]  # PynamoDB pages by 100 keys


def get(workspace_id: str, segment_id: str) -> SegmentView:
    return view(load(workspace_id, segment_id))


def list_segments(workspace_id: str) -> list[SegmentView]:
    return [view(s) for s in Segment.query(segments_pk(workspace_id)) if isinstance(s, Segment)]


# --- validation ------------------------------------------------------------------------------------


def _parse_conditions(workspace_id: str, data: Any, own_id: str | None) -> Condition:
    try:
        condition = parse(data)
    except ConditionError as exc:
        raise InvalidRequest(
            f"conditions.{exc.path}: {exc.message}" if exc.path else f"conditions: {exc.message}",
            field=f"conditions.{exc.path}" if exc.path else "conditions",
            reason=exc.rule,
        ) from exc
    _check_references(workspace_id, condition, own_id)
    return condition


def parse_conditions(workspace_id: str, data: Any) -> Condition:
    """Conditions checked as a new segment's would be, without saving anything (a segment preview's)."""
    return _parse_conditions(workspace_id, data, None)


def _check_references(workspace_id: str, condition: Condition, own_id: str | None) -> None:
    """Every referenced segment exists, and following references never leads back to ``own_id``."""
    pending = list(referenced_segments(condition))
    seen: set[str] = set()
    while pending:
        segment_id = pending.pop()
        if segment_id == own_id:
            raise InvalidRequest(
                f"conditions: segment {own_id} would depend on itself (a cycle)",
                field="conditions",
                reason="cycle",
            )
        if segment_id in seen:
            continue
        seen.add(segment_id)
        try:
            referenced = load(workspace_id, segment_id)
        except NotFound as exc:
            raise InvalidRequest(
                f"conditions: unknown segment {segment_id}", field="conditions", reason="unknown_segment"
            ) from exc
        inner = condition_of(referenced)
        if inner is not None:
            pending.extend(referenced_segments(inner))


# A segment's fields as ``create`` and ``update`` read them, each beside the JSON Schema that says the
# same (the App API documents its segment bodies with ``segment_schema``).

_NAME_SCHEMA: Schema = {"type": "string", "pattern": NOT_BLANK, "maxLength": _NAME_MAX}


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > _NAME_MAX:
        raise InvalidRequest(f"name must be 1 to {_NAME_MAX} characters", field="name")
    return name.strip()


_DESCRIPTION_SCHEMA: Schema = {"description": "a string; a value of another type is ignored"}


def _description(value: Any) -> str | None:
    """The description given, None when it is not a string (ignored, as it always was)."""
    return value if isinstance(value, str) else None


def _or_null(schema: Schema, meaning: str) -> Schema:
    return {"description": meaning, "anyOf": [{"type": "null"}, schema]}


def segment_schema(new: bool) -> Schema:
    """What ``create`` (``new``) or ``update`` reads from a segment; other keys are ignored. Conditions
    are read by ``conditions.parse``, whose schema says what it accepts."""
    unchanged = "null or left out: unchanged"
    name = _NAME_SCHEMA if new else _or_null(_NAME_SCHEMA, unchanged)
    no_conditions = "null or left out: a manual segment" if new else unchanged
    return {
        "type": "object",
        "properties": {
            "name": name,
            "description": _DESCRIPTION_SCHEMA,
            "conditions": _or_null(CONDITION_SCHEMA, no_conditions),
        },
        "required": ["name"] if new else [],
    }


def dependency_keys(condition: Condition) -> set[str]:
    keys = set(dependencies(condition))
    if evaluate(condition, FieldsOnly({}, clock.now())).matched:  # a person with nothing yet
        keys.add(dependents.NEW_PERSON)
    return keys


# --- writing ---------------------------------------------------------------------------------------


def create(workspace_id: str, name: Any, description: Any = "", conditions: Any = None) -> SegmentView:
    name = _check_name(name)
    description = _description(description) or ""
    segment_id = str(secrets.randbelow(9_000_000) + 1_000_000)  # Customer.io segment ids are numeric
    now = clock.now()
    segment = Segment(
        segments_pk(workspace_id),
        segment_id,
        workspace_id=workspace_id,
        segment_id=segment_id,
        name=name,
        description=description,
        type=MANUAL,
        created_at=now,
        updated_at=now,
    )
    keys: set[str] = set()
    if conditions is not None:
        condition = _parse_conditions(workspace_id, conditions, segment_id)
        keys = dependency_keys(condition)
        segment.type = DYNAMIC
        segment.conditions_json = json.dumps(to_json(condition), sort_keys=True)
        segment.dependencies = sorted(keys)
        segment.state, segment.progress, segment.backfill_shard = BUILDING, 0, 0
    # The index first: a change arriving between the two writes then finds a segment not yet stored and
    # skips it, where the other order could miss the change for good.
    dependents.add(workspace_id, segment_id, keys)
    segment.save(condition=Segment.pk.does_not_exist())
    return view(segment)


def create_manual_segment(workspace_id: str, name: str, description: str = "") -> str:
    """A manual segment, filled through ``add_customers``: its id."""
    return create(workspace_id, name, description).id


def update(
    workspace_id: str, segment_id: str, *, name: Any = None, description: Any = None, conditions: Any = None
) -> SegmentView:
    segment = load(workspace_id, segment_id)
    if name is not None:
        segment.name = _check_name(name)
    given = _description(description)
    if given is not None:
        segment.description = given
    old_keys = set(segment.dependencies or [])
    new_keys = old_keys
    if conditions is not None:
        if segment.type != DYNAMIC:
            raise InvalidRequest("conditions: a manual segment has no conditions", field="conditions")
        condition = _parse_conditions(workspace_id, conditions, str(segment_id))
        new_keys = dependency_keys(condition)
        segment.conditions_json = json.dumps(to_json(condition), sort_keys=True)
        segment.dependencies = sorted(new_keys)
        segment.state, segment.progress, segment.backfill_shard, segment.backfill_cursor = (
            BUILDING,
            0,
            0,
            None,
        )
        segment.revision = int(segment.revision) + 1
    segment.updated_at = clock.now()
    dependents.add(workspace_id, str(segment_id), new_keys - old_keys)
    segment.save()
    dependents.remove(workspace_id, str(segment_id), old_keys - new_keys)
    return view(segment)


def delete(workspace_id: str, segment_id: str) -> None:
    segment = load(workspace_id, segment_id)
    users = [
        s.id
        for s in list_segments(workspace_id)
        if s.conditions is not None and str(segment_id) in referenced_segments(parse(s.conditions))
    ]
    if users:
        raise Conflict(f"segment {segment_id} is used by segment {users[0]}")
    dependents.remove(workspace_id, str(segment_id), segment.dependencies or [])
    segment.delete()
    # Members last: each removal is an exit the campaign engine sees.
    with Membership.batch_write() as batch:
        for member in members(workspace_id, str(segment_id)):
            batch.delete(member)
