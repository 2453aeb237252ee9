"""One page of ``GET /v1/people`` under the local runtime's moto, with ``PEOPLE`` people stored.

The page reads the ``people_by_creation`` index (one Query per shard, ``nudge.model.newest_first``). In
AWS that costs the page, whatever the workspace's size; under moto it costs what moto reads per index
Query. The people are written straight into moto's table with BatchWriteItem, as the items ``identify``
stores (``bench.segment_workload.person_item``, one second apart), then the real App API handler answers
the first page and the page after it, with moto's speed-ups and PynamoDB's direct path installed as
``nudge local`` installs them. Reported: the median of ``RUNS`` of each page.

``python -m bench.people_page [people]`` runs it alone (not part of ``make bench``: writing 100,000 people
takes a minute or two); the numbers are recorded by hand in ``bench/README.md``.
"""

from __future__ import annotations

import statistics
import sys
import time

from bench.environment import use_mocked_aws

PEOPLE = 100_000
RUNS = 3
LIMIT = 50


def measure(people: int = PEOPLE) -> tuple[float, float, float]:
    """(seconds to write the people, median first page, median second page)."""
    use_mocked_aws()
    from bench.segment_workload import _collector_paused, _Writer, person_item
    from nudge import clock, ids, workspaces
    from nudge_tools.local import direct_dynamodb
    from tests.support.aws import mocked_account
    from tests.support.track import AppClient

    direct_dynamodb.install()
    try:
        with mocked_account():
            keys = workspaces.create_workspace("Bench", "essentials", "2026-01-01")
            began = time.perf_counter()
            now = clock.now()
            with _collector_paused():
                ws = keys.workspace_id
                _Writer().put(
                    "people", [person_item(ws, n, ids.cio_id(), now - people + n) for n in range(people)]
                )
            written = time.perf_counter() - began
            app = AppClient(keys.app_api_key)
            first, second = [], []
            for _ in range(RUNS):
                began = time.perf_counter()
                answer = app.get(f"/v1/people?limit={LIMIT}")
                first.append(time.perf_counter() - began)
                assert answer.status == 200 and len(answer.json["identifiers"]) == LIMIT, answer.json
                began = time.perf_counter()
                after = app.get(f"/v1/people?limit={LIMIT}&start={answer.json['next']}")
                second.append(time.perf_counter() - began)
                assert after.status == 200 and len(after.json["identifiers"]) == LIMIT, after.json
            newest = [i["id"] for i in answer.json["identifiers"]]
            expected = [f"person-{n:06d}" for n in range(people - 1, people - 1 - LIMIT, -1)]
            assert newest == expected, (newest[:3], expected[:3])
            return written, statistics.median(first), statistics.median(second)
    finally:
        direct_dynamodb.uninstall()


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else PEOPLE
    written, first, second = measure(people)
    print(f"{people:,} people written in {written:.1f} s")
    print(f"GET /v1/people?limit={LIMIT}: first page {first * 1000:.0f} ms, next page {second * 1000:.0f} ms")


if __name__ == "__main__":
    main()
