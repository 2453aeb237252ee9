"""A newsletter to ``PEOPLE`` people in the local runtime: how long until every email is in the outbox.

``nudge local --no-demo`` starts in a subprocess on an empty state directory; ``PEOPLE`` people are
imported through ``POST /api/v2/batch`` (``local_speed``'s import: until every one is evaluated and
metered, so the runtime is idle when the clock starts); the workspace's ``sending_rate`` is set
(``RATE`` messages a second: the broadcast paces its pages by it, and a page that queues its messages
itself takes a second's worth); then one ``POST /v1/newsletters`` to everyone, ``send_now``, and the
clock stops when the outbox directory holds an email per person (counted as files: polling
``/_local/outbox`` would serialize thousands of messages each time). Target: within ``MAX_SECONDS``.

``python -m bench.newsletter_local [people] [rate]`` runs it alone (not part of ``make bench``: the import
of 10,000 people takes minutes).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.local_speed import _import, _json
from tests.support.local_runtime import start

PEOPLE = 10_000
RATE = 1000
MAX_SECONDS = 180.0


def _emails(outbox: Path) -> int:
    return sum(1 for _ in outbox.glob("*.eml")) if outbox.exists() else 0


def measure(people: int = PEOPLE, rate: int = RATE) -> tuple[float, float]:
    """(seconds to import, seconds from the newsletter's request until the last email)."""
    with tempfile.TemporaryDirectory(prefix="nudge-newsletter-") as directory:
        state_dir = Path(directory)
        runtime = start(state_dir, "--no-demo")
        try:
            import_s = _import(runtime, people)
            _json(runtime.app("PUT", "/v1/settings/delivery", {"sending_rate": rate}))
            outbox = state_dir / "outbox"
            before = _emails(outbox)
            began = time.perf_counter()
            _json(
                runtime.app(
                    "POST",
                    "/v1/newsletters",
                    {
                        "name": "Bench",
                        "subject": "News for {{ customer.id }}",
                        "body": '<p>Hello {{ customer.email }}, <a href="https://shop.example/">new</a></p>',
                        "send_now": True,
                    },
                )
            )
            runtime.wait_until(lambda: _emails(outbox) >= before + people, timeout=3600, interval=0.5)
            seconds = time.perf_counter() - began
            # Printed before the runtime stops: stopping writes its state (10,000 people: can take longer
            # than the stop's 30 s on a loaded machine), and a timeout there must not lose the measure.
            print(f"every email in the outbox {seconds:.1f} s after the request (import {import_s:.0f} s)")
        finally:
            runtime.stop()
    return import_s, seconds


def main(argv: list[str]) -> int:
    people = int(argv[0]) if argv else PEOPLE
    rate = int(argv[1]) if len(argv) > 1 else RATE
    import_s, seconds = measure(people, rate)
    passed = seconds <= MAX_SECONDS
    print(
        f"newsletter to {people:,} people at sending_rate {rate}: every email in the outbox {seconds:.1f} s"
        f" after the request ({people / seconds:.1f} people/s); the import took {import_s:.0f} s"
    )
    print(("PASS " if passed else "FAIL ") + f"within {MAX_SECONDS:g} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
