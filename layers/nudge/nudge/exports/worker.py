"""The exports worker: an export's rows from its source into its file, in steps a new invocation can
continue.

One invocation leases the export (``store.claim``), then reads chunks of rows from the saved cursor into
a buffer. Each time the buffer holds a part's worth (``Limits.part_bytes``, at least S3's 5 MB), the part
is uploaded under the next part number and the step saved: upload id, parts and their ETags, the cursor
after the chunk, the rows so far. When the time left runs low, the buffer is written as the step's tail
object, the step saved, the lease given back and the rest handed to a new invocation through the queue.
The last chunk goes out as the last part, and the upload is completed.

A step that fails before its save is done again from the saved state: the same cursor reads the same
rows, the same part number replaces the part, and the saved tail is the one the save named. So a retried
step neither loses nor repeats a row. Only the invocation holding the lease saves (every save is
conditional on the step it read), so a second delivery of the same message changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from nudge.delivery.channels.aws_errors import STORAGE_ERRORS
from nudge.errors import NotFound
from nudge.exports import files, queue, sources, store
from nudge.model.base import plain
from nudge.model.exports import Export

log = logging.getLogger(__name__)

DONE, CONTINUED, FAILED, SKIPPED = "done", "continued", "failed", "skipped"
LEASE_MARGIN_SECONDS = 30


@dataclass(frozen=True)
class Limits:
    part_bytes: int = files.PART_MIN_BYTES
    rows_per_read: int = 1000  # index entries per Query: ten BatchGetItems of profiles
    # Stop reading and hand over when less than this is left: a chunk and a part upload fit in it.
    reserve_seconds: float = 60.0


def run(
    workspace_id: str,
    export_id: int,
    *,
    owner: str,
    time_left: Callable[[], float],
    limits: Limits = Limits(),
) -> str:
    """Work on the export until it is done, failed, or the time runs low; answers what happened."""
    export = store.claim(
        workspace_id, export_id, owner, int(time.time() + time_left()) + LEASE_MARGIN_SECONDS
    )
    if export is None:
        return SKIPPED  # finished, gone, or another invocation holds it
    try:
        return _run(export, owner, time_left, limits)
    except sources.ExportFailed as exc:
        _abort(export)
        store.fail(export, exc.reason, owner=owner)
        log.info("export failed", extra={"export_id": export_id, "reason": exc.reason})
        return FAILED
    except Exception:
        # Storage unavailable, a bug: the lease goes back so the message's next delivery can go on, and
        # the error propagates (the queue retries, then dead-letters).
        _release(export, owner)
        raise


def give_up(workspace_id: str, export_id: int, error: BaseException) -> None:
    """The queue's last try failed with ``error``, whatever it was: the export is failed (whoever held
    it), so its owner sees why instead of an export that stays running."""
    try:
        export = store.load(workspace_id, export_id)
    except NotFound:
        return
    if store.fail(export, gave_up_reason(error)):
        _abort(export)


def gave_up_reason(error: BaseException) -> str:
    """What the export's owner is told: the kind of failure and the error's type, never its message
    (which can carry table names, keys and the like)."""
    kind = "storage kept failing" if isinstance(error, STORAGE_ERRORS) else "an internal error"
    return f"the export could not be written ({kind}: {type(error).__name__}); start it again"


def _run(export: Export, owner: str, time_left: Callable[[], float], limits: Limits) -> str:
    source = sources.for_request(str(export.workspace_id), store.request_of(export))
    key = str(export.object_key)
    buffer = bytearray()
    if export.upload_id is None:
        upload_id = files.start_upload(key)
        buffer += _csv([source.header])
        cursor: sources.Cursor | None = sources.START
    else:
        upload_id = str(export.upload_id)
        cursor = json.loads(export.cursor_json) if export.cursor_json else sources.START
        if export.tail_key:
            buffer += files.read_tail(str(export.tail_key))
    parts = [plain(p) for p in export.parts or []]
    rows = int(export.rows)
    # A step saved after the last part: only completing the upload (and the record) is left.
    uploaded = export.upload_id is not None and cursor is None
    read_once = False
    while cursor is not None:
        if read_once and time_left() < limits.reserve_seconds:
            return _hand_over(export, owner, upload_id, parts, cursor, rows, bytes(buffer))
        chunk, cursor = source.read(cursor, limits.rows_per_read)
        read_once = True
        buffer += _csv(chunk)
        rows += len(chunk)
        if cursor is not None and len(buffer) >= limits.part_bytes:
            parts.append(_upload(key, upload_id, len(parts) + 1, bytes(buffer)))
            if not _save(export, owner, upload_id, parts, cursor, rows, tail=None):
                return SKIPPED
            buffer = bytearray()
    if not uploaded:
        parts.append(_upload(key, upload_id, len(parts) + 1, bytes(buffer)))
        if not _save(export, owner, upload_id, parts, None, rows, tail=None):
            return SKIPPED
    _complete(key, upload_id, parts)
    return DONE if store.finish(export, owner, rows) else SKIPPED


def _save(
    export: Export,
    owner: str,
    upload_id: str,
    parts: list[dict[str, object]],
    cursor: sources.Cursor | None,
    rows: int,
    *,
    tail: str | None,
) -> bool:
    """One step saved (``cursor`` None: the source is exhausted and every part uploaded); the tail it
    replaces is deleted once nothing points to it."""
    old_tail = export.tail_key
    saved = store.save_progress(
        export,
        owner,
        upload_id=upload_id,
        parts=parts,
        cursor_json=json.dumps(cursor),
        tail_key=tail,
        rows=rows,
    )
    if saved and old_tail and old_tail != tail:
        files.delete(str(old_tail))
    return saved


def _complete(key: str, upload_id: str, parts: list[dict[str, object]]) -> None:
    """Complete the upload; a try after one that completed it but died before saving finds the file."""
    try:
        files.complete_upload(key, upload_id, parts)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchUpload" or not files.exists(key):
            raise


def _hand_over(
    export: Export,
    owner: str,
    upload_id: str,
    parts: list[dict[str, object]],
    cursor: sources.Cursor,
    rows: int,
    buffered: bytes,
) -> str:
    """Save the step with what is buffered as its tail, and leave the rest to a new invocation."""
    key = str(export.object_key)
    tail = files.tail_key(key, int(export.step) + 1) if buffered else None
    if tail is not None:
        files.write_tail(tail, buffered)
    if not _save(export, owner, upload_id, parts, cursor, rows, tail=tail):
        return SKIPPED
    store.release(export, owner)
    queue.get().send(str(export.workspace_id), int(export.export_id))
    return CONTINUED


def _upload(key: str, upload_id: str, number: int, data: bytes) -> dict[str, object]:
    return {"n": number, "etag": files.upload_part(key, upload_id, number, data)}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def _abort(export: Export) -> None:
    """The unfinished upload's parts are billed storage until aborted (the lifecycle rule would abort it
    after a week): abort it now, and never let that hide why the export failed."""
    if export.upload_id is None:
        return
    try:
        files.abort_upload(str(export.object_key), str(export.upload_id))
    except (ClientError, BotoCoreError) as exc:
        log.warning(
            "export upload not aborted", extra={"export_id": int(export.export_id), "error": str(exc)}
        )


def _release(export: Export, owner: str) -> None:
    try:
        store.release(export, owner)
    except STORAGE_ERRORS as exc:
        log.warning(
            "export lease not released", extra={"export_id": int(export.export_id), "error": str(exc)}
        )
