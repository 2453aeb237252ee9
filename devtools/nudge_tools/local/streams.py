"""The stream pump: reads the tables' DynamoDB streams and invokes the evaluate handler with Lambda's
event source mapping semantics, because moto's mappings never fire without Docker.

- Records are batched per shard: up to ``batch_size``, or what arrived within ``window_seconds``.
- The handler reports partial batch failures (``batchItemFailures``). As Lambda does, the batch is
  retried from the first failed record (records after it are delivered again: consumers are idempotent)
  up to ``max_retries`` times; records still failing then go to the dead-letter list, and the shard moves
  on. A handler that raises fails the whole batch the same way.
- Given ``writes`` (moto's stream-write counter, ``moto_speedups.STREAM_WRITES``), an idle pump sleeps
  until the next record is written, so a record is read as soon as it exists; ``poll_seconds`` is then
  only the longest sleep. Without it the pump polls every ``poll_seconds``. Either way shards are
  discovered again at most once per ``DISCOVERY_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nudge_tools.local.apigw import LocalContext

log = logging.getLogger("nudge.local")

Handler = Callable[[dict[str, Any], Any], Any]
DISCOVERY_SECONDS = 1.0  # new shards only appear when a table's stream is re-enabled


class Writes(Protocol):
    """A count of stream records written, and a way to sleep until it changes."""

    count: int

    def wait_after(self, seen: int, timeout: float, stopped: threading.Event) -> int: ...

    def wake(self) -> None: ...


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A record from ``dynamodbstreams.get_records`` as Lambda delivers it: epoch-second creation time and
    the stream ARN, which boto3's records lack."""
    body = dict(record.get("dynamodb") or {})
    created = body.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        body["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }


@dataclass
class TableStats:
    records: int = 0
    batches: int = 0
    retried_batches: int = 0
    dead_letters: int = 0


@dataclass
class _Shard:
    table: str
    stream_arn: str
    shard_id: str
    iterator: str | None
    pending: list[dict[str, Any]] = field(default_factory=list)
    first_pending_at: float = 0.0


@dataclass(frozen=True)
class MappingSettings:
    """How a pump feeds its function, as Lambda's event source mapping would (the defaults are Lambda's,
    but the poll: how long the pump sleeps when nothing was written)."""

    function_name: str = "nudge-evaluate"
    batch_size: int = 100
    window_seconds: float = 0.0  # Lambda's default MaximumBatchingWindowInSeconds
    max_retries: int = 2
    poll_seconds: float = 0.1


class StreamPump:
    def __init__(
        self,
        client: Any,
        streams: dict[str, str],
        handler: Handler,
        *,
        region: str,
        mapping: MappingSettings | None = None,
        writes: Writes | None = None,
    ) -> None:
        """``client``: a boto3 ``dynamodbstreams`` client; ``streams``: logical table -> stream ARN."""
        mapping = mapping or MappingSettings()
        self._client = client
        self._streams = streams
        self._handler = handler
        self._function_name = mapping.function_name
        self._region = region
        self._batch_size = mapping.batch_size
        self._window = mapping.window_seconds
        self._max_retries = mapping.max_retries
        self._poll = mapping.poll_seconds
        self._writes = writes
        self._shards: dict[tuple[str, str], _Shard] = {}  # (stream ARN, shard id): ids repeat across streams
        self._stats = {table: TableStats() for table in streams}
        self._dead_letters: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = threading.Condition()
        self._quiet_cycles = 0  # loop passes that found nothing to read or deliver

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._discover_shards()
        self._thread = threading.Thread(target=self._run, name="nudge-stream-pump", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._writes is not None:
            self._writes.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until every shard was read empty twice in a row after this call (what was written before
        it has been delivered, and what that delivery wrote too, one hop deep per quiet cycle)."""
        with self.delivered:
            target = self._quiet_cycles + 2
            return self.delivered.wait_for(lambda: self._quiet_cycles >= target, timeout)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "tables": {t: vars(s).copy() for t, s in self._stats.items()},
                "dead_letters": list(self._dead_letters),
            }

    # --- the loop ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        discovered = time.monotonic()
        while not self._stop.is_set():
            # Read the count before the shards: a record written while they are read makes the wait
            # below return at once, so it is never left waiting for the timeout.
            seen = self._writes.count if self._writes is not None else 0
            busy = False
            for shard in list(self._shards.values()):
                busy |= self._poll_shard(shard)
            if not busy:
                with self.delivered:
                    self._quiet_cycles += 1
                    self.delivered.notify_all()
                if self._writes is not None:
                    self._writes.wait_after(seen, self._poll, self._stop)
                else:
                    self._stop.wait(self._poll)
                if time.monotonic() - discovered >= DISCOVERY_SECONDS:
                    self._discover_shards()
                    discovered = time.monotonic()

    def _discover_shards(self) -> None:
        for table, arn in self._streams.items():
            described = self._client.describe_stream(StreamArn=arn)["StreamDescription"]
            for shard in described.get("Shards", []):
                shard_id = shard["ShardId"]
                if (arn, shard_id) in self._shards:
                    continue
                iterator = self._client.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                self._shards[(arn, shard_id)] = _Shard(table, arn, shard_id, iterator)

    def _poll_shard(self, shard: _Shard) -> bool:
        """Read what is new, and deliver a batch when it is full or its window has passed."""
        if shard.iterator is not None:
            answer = self._client.get_records(ShardIterator=shard.iterator, Limit=self._batch_size)
            shard.iterator = answer.get("NextShardIterator")
            fresh = [lambda_record(r, shard.stream_arn, self._region) for r in answer.get("Records", [])]
            if fresh and not shard.pending:
                shard.first_pending_at = time.monotonic()
            shard.pending.extend(fresh)
        if not shard.pending:
            return False
        window_over = time.monotonic() - shard.first_pending_at >= self._window
        if len(shard.pending) < self._batch_size and not window_over:
            return True
        batch, shard.pending = shard.pending[: self._batch_size], shard.pending[self._batch_size :]
        shard.first_pending_at = time.monotonic()
        self._deliver(shard.table, batch)
        return True

    def _deliver(self, table: str, batch: list[dict[str, Any]]) -> None:
        records = batch
        for attempt in range(self._max_retries + 1):
            failed = self._invoke(records)
            with self._lock:
                stats = self._stats[table]
                stats.batches += 1
                stats.records += len(records) if attempt == 0 else 0
                stats.retried_batches += 1 if attempt else 0
            if not failed:
                break
            first = min(i for i, r in enumerate(records) if _sequence(r) in failed)
            records = records[first:]
        else:
            self._dead_letter(
                table, [r for r in records if _sequence(r) in failed], attempts=self._max_retries + 1
            )
        with self.delivered:
            self.delivered.notify_all()

    def _invoke(self, records: list[dict[str, Any]]) -> set[str]:
        """The sequence numbers that failed (all of them when the handler itself failed)."""
        try:
            result = self._handler({"Records": records}, LocalContext(function_name=self._function_name))
        # The handler is user code run as Lambda runs it: any exception is a function error that fails
        # the whole batch, which is then retried and dead-lettered like any failure. Logged, never lost.
        except Exception:
            log.exception("evaluate handler failed a whole batch of %d records", len(records))
            return {_sequence(r) for r in records}
        failures = (result or {}).get("batchItemFailures") or []
        return {str(f.get("itemIdentifier")) for f in failures}

    def _dead_letter(self, table: str, records: list[dict[str, Any]], attempts: int) -> None:
        with self._lock:
            self._stats[table].dead_letters += len(records)
            for record in records:
                body = record["dynamodb"]
                self._dead_letters.append(
                    {
                        "table": table,
                        "event_name": record.get("eventName"),
                        "keys": body.get("Keys"),
                        "sequence_number": body.get("SequenceNumber"),
                        "attempts": attempts,
                        "stream_arn": record.get("eventSourceARN"),
                    }
                )
        log.warning("dead-lettered %d %s stream records after %d attempts", len(records), table, attempts)


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"].get("SequenceNumber"))
