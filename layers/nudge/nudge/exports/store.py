"""Export records: created by the App API, worked on by the worker, read by both.

The worker's progress is saved as one conditional update per step (``step`` must be the one it read, and
the lease its own), so of two invocations given the same export only one moves it forward, and a step
whose save did not happen is simply done again.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from nudge import clock
from nudge.errors import NotFound
from nudge.exports import requests
from nudge.model.base import update_if
from nudge.model.exports import COUNTER_SK, EXPORT_DAYS, Export, ExportCounter, export_sk, exports_pk

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
ID_MAX = 10**12  # ids are numbers; anything longer names no export


def create(workspace_id: str, request: requests.ExportRequest, object_key: Any) -> Export:
    """A new pending export, numbered from the workspace's counter. ``object_key(id)`` names its file."""
    counter = ExportCounter(exports_pk(workspace_id), COUNTER_SK, workspace_id=workspace_id)
    counter.update(actions=[ExportCounter.last_id.add(1), ExportCounter.workspace_id.set(workspace_id)])
    export_id = int(counter.last_id)
    now = clock.now()
    export = Export(
        exports_pk(workspace_id),
        export_sk(export_id),
        workspace_id=workspace_id,
        export_id=export_id,
        export_type=requests.CUSTOMERS
        if isinstance(request, requests.CustomersExport)
        else requests.DELIVERIES,
        request_json=json.dumps(requests.to_json(request), separators=(",", ":")),
        description=request.describe(),
        status=PENDING,
        object_key=object_key(export_id),
        created_at=now,
        updated_at=now,
        expires_at=datetime.fromtimestamp(now + EXPORT_DAYS * 86400, UTC),
    )
    export.save()
    return export


def parse_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 12):
        raise NotFound(f"export {raw[:40]} not found")
    return int(raw)


def load(workspace_id: str, export_id: int) -> Export:
    try:
        return Export.get(exports_pk(workspace_id), export_sk(export_id), consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"export {export_id} not found") from exc


def list_exports(workspace_id: str) -> list[Export]:
    """Newest first. Exports expire after ``EXPORT_DAYS``, so a workspace holds only its recent ones."""
    found = Export.query(exports_pk(workspace_id), Export.sk.startswith("e#"), scan_index_forward=False)
    return [e for e in found if isinstance(e, Export)]


def request_of(export: Export) -> requests.ExportRequest:
    return requests.from_json(str(export.export_type), json.loads(export.request_json))


def view(export: Export) -> dict[str, Any]:
    """Customer.io's export object, plus ``reason`` (why it failed, or null)."""
    status = str(export.status)
    return {
        "id": int(export.export_id),
        "type": export.export_type,
        "status": status,
        "failed": status == FAILED,
        "reason": export.reason,
        "total": int(export.rows) if status == DONE else 0,  # Customer.io: 0 until done
        "rows_so_far": int(export.rows),
        "description": export.description,
        "downloads": int(export.downloads),
        "deduplicate_id": f"{int(export.export_id)}:{int(export.updated_at)}",
        "created_at": int(export.created_at),
        "updated_at": int(export.updated_at),
    }


def claim(workspace_id: str, export_id: int, owner: str, until: int) -> Export | None:
    """The export, leased to ``owner`` until ``until`` (wall-clock seconds: a lease is about invocations,
    not the product's clock); None when it is finished, gone, or leased to another invocation that has
    not run out of time."""
    try:
        export = load(workspace_id, export_id)
    except NotFound:
        return None
    now = clock.now()
    wall = int(time.time())
    taken = update_if(
        export,
        [
            Export.status.set(RUNNING),
            Export.lease_owner.set(owner),
            Export.lease_until.set(until),
            Export.updated_at.set(now),
        ],
        Export.status.is_in(PENDING, RUNNING)
        & (Export.lease_owner.does_not_exist() | (Export.lease_until < wall) | (Export.lease_owner == owner)),
    )
    return export if taken else None


def save_progress(export: Export, owner: str, **fields: Any) -> bool:
    """The step's outcome (``parts``, ``cursor_json``, ``tail_key``, ``rows``, ``upload_id``); False when
    the export is no longer this invocation's (its lease passed to another, or it was failed)."""
    actions = [getattr(Export, name).set(value) for name, value in fields.items()]
    actions += [Export.step.add(1), Export.updated_at.set(clock.now())]
    return update_if(export, actions, _ours(export, owner))


def finish(export: Export, owner: str, rows: int) -> bool:
    return update_if(
        export,
        [
            Export.status.set(DONE),
            Export.rows.set(rows),
            Export.step.add(1),
            Export.updated_at.set(clock.now()),
            Export.lease_owner.remove(),
            Export.lease_until.remove(),
            Export.tail_key.remove(),
            Export.cursor_json.remove(),
        ],
        _ours(export, owner),
    )


def fail(export: Export, reason: str, *, owner: str | None = None) -> bool:
    """Failed with ``reason``. By ``owner``: only while the export is its own, at the step it read.
    Without one (the queue's last try, a start the queue refused, a run a stop interrupted): whoever
    holds it, unless it finished meanwhile."""
    condition = Export.status.is_in(PENDING, RUNNING) if owner is None else _ours(export, owner)
    return update_if(
        export,
        [
            Export.status.set(FAILED),
            Export.reason.set(reason),
            Export.step.add(1),
            Export.updated_at.set(clock.now()),
            Export.lease_owner.remove(),
            Export.lease_until.remove(),
        ],
        condition,
    )


def release(export: Export, owner: str) -> bool:
    """Give the lease back (the invocation stops early), so the next delivery of its message goes on."""
    return update_if(export, [Export.lease_owner.remove(), Export.lease_until.remove()], _ours(export, owner))


def count_download(export: Export) -> None:
    export.update(actions=[Export.downloads.add(1)])


def _ours(export: Export, owner: str) -> Any:
    return (Export.step == export.step) & (Export.lease_owner == owner) & (Export.status == RUNNING)
