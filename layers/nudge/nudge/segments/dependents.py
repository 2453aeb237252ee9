"""The dependency index: which dynamic segments a change can affect.

One item per dependency key (``attr:plan``, ``event:purchase``, ``device``, ``object:1``,
``segment:42``, ``new_person``) holding a string set of segment ids. A change reads only the keys it
touched, in one batched read, so the work per change follows the segments that depend on it, not the
number of segments in the workspace.
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import UpdateError

from nudge.model import Dependents
from nudge.model.base import condition_failed
from nudge.model.keys import dependents_pk

NEW_PERSON = "new_person"  # segments an empty, just-created person can match
SK = "dependents"


def add(workspace_id: str, segment_id: str, keys: Iterable[str]) -> None:
    for key in keys:
        item = Dependents(dependents_pk(workspace_id, key), SK)
        item.update(
            actions=[Dependents.segment_ids.add({segment_id}), Dependents.workspace_id.set(workspace_id)]
        )


def remove(workspace_id: str, segment_id: str, keys: Iterable[str]) -> None:
    for key in keys:
        item = Dependents(dependents_pk(workspace_id, key), SK)
        try:
            item.update(
                actions=[Dependents.segment_ids.delete({segment_id})], condition=Dependents.pk.exists()
            )
        except UpdateError as exc:
            if not condition_failed(exc):
                raise


def segments_for(workspace_id: str, keys: Iterable[str]) -> set[str]:
    """The ids of the segments depending on any of ``keys``."""
    wanted = sorted({(dependents_pk(workspace_id, key), SK) for key in keys})
    found: set[str] = set()
    for item in Dependents.batch_get(wanted):  # PynamoDB pages by 100 keys
        found.update(item.segment_ids or ())
    return found
