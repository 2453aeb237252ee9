"""An export of 100,000 people: does it complete, is every row there once, and what does it read?

A workspace's 100,000 profiles are stored straight into moto's people table (BatchWriteItem, as
``identify`` would have stored them: ``bench.segment_workload.person_item``), then one customers export
(filter: ``plan`` exists, so everyone; columns id, email, cio_id, plan, country) is started through the
App API handler and run by the exports worker's handler, invocation after invocation, each given
Lambda's 15 minutes as it would be deployed. Its CSV is read back from moto's S3 and checked row by row
against the people stored; the worker's DynamoDB calls and read units are metered (``bench.meter``).

Run by hand (it takes minutes, and is not part of ``make bench``): ``python -m bench.export_run``
(``--people 2000`` for a quick run). It prints the numbers bench/README.md's "Exports" section records.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from collections import Counter
from typing import Any

PEOPLE = 100_000
BATCH = 25  # BatchWriteItem's maximum
BUCKET = "nudge-bench-exports"


def run(people: int) -> dict[str, object]:
    import boto3
    from pynamodb import signals

    from bench.environment import REGION
    from bench.meter import SwitchedMeter
    from bench.units import item_read_units
    from functions.exports import handler as exports_handler
    from nudge import settings, workspaces
    from nudge.exports import queue
    from nudge_tools.local.exports_worker import DeadlineContext, sqs_event
    from tests.support.aws import mocked_account
    from tests.support.track import AppClient

    class Recorded:
        def __init__(self) -> None:
            self.messages: list[str] = []

        def send(self, workspace_id: str, export_id: int) -> None:
            self.messages.append(queue.message(workspace_id, export_id))

    class ResponseMeter(SwitchedMeter):
        """The switched meter, billing a BatchGetItem from the whole items it returned (the worker's reads
        ask for no projection) instead of reading each one again: exact, and 100,000 fewer GetItems."""

        def _read_units(self, operation: str, request: Any, parsed: Any) -> tuple[float, bool]:
            if operation != "BatchGetItem" or any(
                "ProjectionExpression" in s for s in request["RequestItems"].values()
            ):
                return super()._read_units(operation, request, parsed)
            if parsed.get("UnprocessedKeys"):
                raise RuntimeError("BatchGetItem left keys unprocessed: the meter does not model retries")
            units = 0.0
            for table, spec in request["RequestItems"].items():
                found = parsed.get("Responses", {}).get(table, [])
                consistent = bool(spec.get("ConsistentRead"))
                units += sum(item_read_units(item, consistent=consistent) for item in found)
                units += (len(spec["Keys"]) - len(found)) * item_read_units(None, consistent=consistent)
            return units, True

    meter = ResponseMeter(REGION)
    with meter.installed(), mocked_account():
        if signals.signals_available:
            signals.pre_dynamodb_send.connect(meter.count_send)
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        import os

        os.environ["NUDGE_EXPORTS_BUCKET"] = BUCKET
        settings.reload()  # the settings are read once: again, now that they name the bucket
        recorded = Recorded()
        queue.install(recorded)
        keys = workspaces.create_workspace("Bench", "essentials")
        ws = keys.workspace_id

        began = time.perf_counter()
        expected = _store_people(ws, people)
        stored_s = time.perf_counter() - began
        print(f"  exports: {people:,} people stored in {stored_s:.1f} s", file=sys.stderr, flush=True)

        app = AppClient(keys.app_api_key)
        started = app.post(
            "/v1/exports/customers",
            {
                "filters": {"attribute": {"field": "plan", "operator": "exists"}},
                "attributes": ["plan", "country"],
            },
        )
        assert started.status == 200, started.json
        export_id = started.json["export"]["id"]
        invocations: list[float] = []
        with meter.counting() as calls:
            began = time.perf_counter()
            while recorded.messages:
                at = time.perf_counter()
                context: Any = DeadlineContext(900.0)  # what the handler reads of a Lambda context
                answer = exports_handler.handler(sqs_event(recorded.messages.pop(0), 1), context)
                invocations.append(time.perf_counter() - at)
                if answer["batchItemFailures"]:
                    raise RuntimeError(f"an invocation failed: {answer}")
            export_s = time.perf_counter() - began
        if signals.signals_available:
            signals.pre_dynamodb_send.disconnect(meter.count_send)

        export = app.get(f"/v1/exports/{export_id}").json["export"]
        link = app.get(f"/v1/exports/{export_id}/download").json["url"]
        key = link.split("?")[0].split(f"{BUCKET}/", 1)[-1].split(".amazonaws.com/", 1)[-1]
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        parts = s3.head_object(Bucket=BUCKET, Key=key, PartNumber=1).get("PartsCount", 1)
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        queue.install(None)
        return {
            "people": people,
            "status": export["status"],
            "total": export["total"],
            **_checked(rows, expected),
            "bytes": len(body),
            "parts": parts,
            "invocations": len(invocations),
            "longest_invocation_s": round(max(invocations), 1),
            "store_s": round(stored_s, 1),
            "export_s": round(export_s, 1),
            "calls": dict(Counter(c.operation for c in calls)),
            "read_units": round(sum(c.read_units for c in calls), 1),
            "write_units": round(sum(c.write_units for c in calls), 1),
            "exact": all(c.exact for c in calls),
        }


def _store_people(workspace_id: str, people: int) -> dict[str, tuple[str, str]]:
    """``people`` profiles written straight to the people table, 25 a request: cio_id -> (id, email)."""
    import boto3

    from bench.environment import REGION
    from bench.segment_workload import person_item
    from nudge import ids
    from nudge.settings import get_settings

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = get_settings().table_name("people")
    expected: dict[str, tuple[str, str]] = {}
    now = int(time.time())
    for start in range(0, people, BATCH):
        items = []
        for n in range(start, min(start + BATCH, people)):
            cio = ids.cio_id()
            item = person_item(workspace_id, n, cio, now)
            expected[cio] = (item["id"]["S"], item["email"]["S"])
            items.append({"PutRequest": {"Item": item}})
        pending: Any = {table: items}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    return expected


def _checked(rows: list[dict[str, str]], expected: dict[str, tuple[str, str]]) -> dict[str, int]:
    """The file's rows against the people stored: how many, repeated, missing and wrong."""
    seen = Counter(r["cio_id"] for r in rows)
    repeated = [c for c, count in seen.items() if count > 1]
    missing = set(expected) - set(seen)
    wrong = [r["cio_id"] for r in rows if expected.get(r["cio_id"]) != (r["id"], r["email"])]
    wrong += [r["cio_id"] for r in rows if (r["plan"], r["country"]) != ("free", "FR")]
    return {"rows": len(rows), "repeated": len(repeated), "missing": len(missing), "wrong": len(wrong)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export_run", description=__doc__)
    parser.add_argument("--people", type=int, default=PEOPLE)
    args = parser.parse_args()
    from bench.environment import use_mocked_aws

    use_mocked_aws()  # before anything imports nudge
    result = run(args.people)
    print(json.dumps(result, indent=2))
    good = result["status"] == "done" and result["rows"] == result["total"] == args.people
    good = good and not (result["repeated"] or result["missing"] or result["wrong"])
    print("every row there once and right" if good else "WRONG", file=sys.stderr)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
