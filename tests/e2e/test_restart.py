"""The local runtime keeps its state across restarts: stopped with Ctrl-C (SIGINT) or killed (SIGKILL)
in the middle of a campaign's delay, and started again on the same --state-dir.

At 60x a 1,500-second delay is 25 real seconds (room for a slow stop and start on a busy machine); the
downtime passes at the wall clock's pace on the local clock, so the journey is still waiting when the
runtime comes back, and finishes some seconds later."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.local_runtime import Runtime, start

SCALE = ("--time-scale", "60")
DELAY_SECONDS = 1500  # 25 real seconds at 60x


def _ok(answer: requests.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def _template(local: Runtime, subject: str, body: str) -> str:
    template = {"name": uuid.uuid4().hex, "channel": "email", "subject": subject, "body": body}
    return str(_ok(local.app("POST", "/v1/templates", template))["template"]["id"])


def _campaign(local: Runtime, event: str, blocks: dict[str, Any]) -> str:
    definition = {
        "name": uuid.uuid4().hex,
        "trigger": {"type": "event", "name": event},
        "workflow": {"start": "b1", "blocks": blocks},
    }
    campaign_id = _ok(local.app("POST", "/v1/campaigns", {"campaign": definition}))["campaign"]["id"]
    _ok(local.app("POST", f"/v1/campaigns/{campaign_id}/activate", {}))
    return str(campaign_id)


def _messages_to(local: Runtime, address: str) -> list[dict[str, Any]]:
    return [m for m in local.get("/_local/outbox").json() if m["recipient"] == address]


def _event(local: Runtime, person: str, name: str, event_id: str) -> None:
    body = {"name": name, "id": event_id, "data": {"at": "restart"}}
    assert local.track("POST", f"/api/v1/customers/{person}/events", body).ok


def _events_stored(local: Runtime, event_id: str) -> int:
    dynamodb = local.aws("dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("events"))
    found = dynamodb.scan(
        TableName=table,
        FilterExpression="event_id = :id",
        ExpressionAttributeValues={":id": {"S": event_id}},
    )
    return int(found["Count"])


def _waiting(local: Runtime, campaign_id: str) -> int:
    metrics = _ok(local.app("GET", f"/v1/campaigns/{campaign_id}/metrics"))
    return int(metrics["metrics"]["campaign"].get("waiting", 0))


def _state(local: Runtime, person: str, ids: dict[str, str]) -> dict[str, Any]:
    """Everything the restart must keep, as the APIs answer it."""
    return {
        "person": _ok(local.app("GET", f"/v1/customers/{person}/attributes"))["customer"],
        "person_segments": _ok(local.app("GET", f"/v1/customers/{person}/segments")),
        "segments": _ok(local.app("GET", "/v1/segments")),
        "members": _ok(local.app("GET", f"/v1/segments/{ids['segment']}/membership")),
        "template": _ok(local.app("GET", f"/v1/templates/{ids['template']}")),
        "campaign": _ok(local.app("GET", f"/v1/campaigns/{ids['campaign']}"))["campaign"],
        "delivery": _ok(local.app("GET", f"/v1/messages/{ids['delivery']}")),
        "usage": _ok(local.app("GET", "/v1/billing/usage"))["usage"],
        "invoices": _ok(local.app("GET", "/v1/billing/invoices")),
        "outbox": local.get("/_local/outbox").json(),
    }


def _prepare(local: Runtime, tag: str) -> tuple[str, dict[str, str]]:
    """A person in a segment, a welcome email sent (a delivery, a message in the outbox with a tracking
    link), and a journey waiting in a delay: the event is sent once everything else has settled."""
    person = f"ann-{tag}"
    address = f"{person}@example.com"
    segment = _ok(
        local.app(
            "POST",
            "/v1/segments",
            {
                "segment": {
                    "name": f"pro {tag}",
                    "conditions": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}},
                }
            },
        )
    )["segment"]["id"]
    welcome = _template(
        local, f"Welcome {tag}", '<p>Hi! <a href="https://example.com/start">Start here</a></p>'
    )
    later = _template(local, f"Later {tag}", "<p>After the delay</p>")
    _campaign(local, f"signed-up-{tag}", {"b1": {"type": "send", "channel": "email", "template_id": welcome}})
    delayed = _campaign(
        local,
        f"ordered-{tag}",
        {
            "b1": {"type": "delay", "seconds": DELAY_SECONDS, "next": "b2"},
            "b2": {"type": "send", "channel": "email", "template_id": later},
        },
    )
    assert local.track("PUT", f"/api/v1/customers/{person}", {"email": address, "plan": "pro"}).ok
    _event(local, person, f"signed-up-{tag}", "01J00000000000000000000001")
    welcome_message = local.wait_until(lambda: _messages_to(local, address), timeout=30)[0]
    local.wait_until(
        lambda: _ok(local.app("GET", f"/v1/segments/{segment}/customer_count"))["count"] == 1, timeout=30
    )
    ordered_at = int(local.status()["now"])  # the local clock, just before the journey starts
    _event(local, person, f"ordered-{tag}", "01J00000000000000000000002")
    local.wait_until(lambda: _waiting(local, delayed) == 1, timeout=30)
    ids = {
        "segment": str(segment),
        "template": later,
        "campaign": delayed,
        "delivery": str(welcome_message["delivery_id"]),
        "ordered_at": str(ordered_at),
    }
    return person, ids


def _stop(local: Runtime, how: signal.Signals) -> None:
    local.process.send_signal(how)
    assert local.process.wait(timeout=60) == (0 if how == signal.SIGINT else -signal.SIGKILL)
    local._drain.join(timeout=10)


def _restart_keeps_everything(state_dir: Path, how: signal.Signals) -> None:
    tag = uuid.uuid4().hex[:8]
    local = start(state_dir, *SCALE)
    person, ids = _prepare(local, tag)
    address = f"{person}@example.com"
    assert _events_stored(local, "01J00000000000000000000002") == 1
    if how == signal.SIGKILL:
        time.sleep(2.5)  # the snapshot is at most a second behind: let it catch up with the journey's wait
    before = _state(local, person, ids)
    assert [m["subject"] for m in _messages_to(local, address)] == [f"Welcome {tag}"]  # still waiting
    keys = {k: local.contract[k] for k in ("workspace_id", "site_id", "track_api_key", "app_api_key")}
    _stop(local, how)

    again = start(state_dir, *SCALE)
    try:
        assert {k: again.contract[k] for k in keys} == keys
        after = _state(again, person, ids)
        # The waiting count, usage and outbox move on once the journey finishes: compared before that.
        assert after == before
        assert _events_stored(again, "01J00000000000000000000002") == 1

        # The journey resumes in its delay and sends once, after the restart, when the delay is over.
        again.wait_until(lambda: len(_messages_to(again, address)) == 2, timeout=60)
        time.sleep(2)
        later = [m for m in _messages_to(again, address) if m["subject"] == f"Later {tag}"]
        assert len(later) == 1
        sent_at = datetime.fromisoformat(later[0]["sent_at"].replace("Z", "+00:00")).timestamp()
        assert sent_at >= int(ids["ordered_at"]) + DELAY_SECONDS
        again.wait_until(lambda: _waiting(again, ids["campaign"]) == 0, timeout=10)

        # A tracking link in a message sent before the restart still verifies.
        html = next(m["html"] for m in _messages_to(again, address) if m["subject"] == f"Welcome {tag}")
        link = re.search(r'href="[^"]*(/t/c/[^"]+)"', html)
        assert link is not None, html
        # The test's runtimes each take a free port; `nudge local` keeps its --port, so links keep theirs.
        click = again.get(link.group(1).replace("&amp;", "&"), allow_redirects=False)
        assert click.status_code in (301, 302, 303, 307), click.text
        assert click.headers["location"] == "https://example.com/start"

        # The same keys write: the Track API answers 200 for the old key.
        assert again.track("PUT", f"/api/v1/customers/{person}", {"plan": "free"}).ok
    finally:
        again.stop()


@pytest.fixture(scope="module")
def restarts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[None]]]:
    """The three scenarios, each with its own runtimes and state dir, run side by side: most of the first
    two is the journey's 25-second wait, which need not be waited three times over. Each test then takes
    its own scenario's outcome (its assertion errors included) from its future."""
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="restart") as pool:
        yield {
            "sigint": pool.submit(
                _restart_keeps_everything, tmp_path_factory.mktemp("sigint") / "state", signal.SIGINT
            ),
            "sigkill": pool.submit(
                _restart_keeps_everything, tmp_path_factory.mktemp("sigkill") / "state", signal.SIGKILL
            ),
            "ctrl-c": pool.submit(_second_ctrl_c_and_reset, tmp_path_factory.mktemp("ctrl-c")),
        }


def test_a_clean_stop_and_restart_keep_every_kind_of_state_and_a_journey_in_its_delay(restarts):
    restarts["sigint"].result()


def test_kill_9_loses_at_most_the_last_second(restarts):
    restarts["sigkill"].result()


def test_a_second_ctrl_c_while_stopping_still_stops_cleanly_and_keeps_the_state_and_reset_drops_it(restarts):
    restarts["ctrl-c"].result()


def _second_ctrl_c_and_reset(tmp_path: Path) -> None:
    local = start(tmp_path, *SCALE, "--no-demo")
    assert local.track("PUT", "/api/v1/customers/cat", {"email": "cat@example.com"}).ok
    key = local.contract["track_api_key"]
    # An impatient user, or a wrapper that relays the signal it got: SIGINTs in a row. The handler used
    # to set an Event and deadlocked on its lock when the next signal interrupted it there; a burst makes
    # that likely (the old handler hung in about half the runs).
    for _ in range(2000):
        local.process.send_signal(signal.SIGINT)
    assert local.process.wait(timeout=60) == 0
    local._drain.join(timeout=10)

    again = start(tmp_path, *SCALE, "--no-demo")
    try:
        assert again.contract["track_api_key"] == key
        assert again.app("GET", "/v1/customers/cat/attributes").status_code == 200
    finally:
        again.stop()

    # --reset starts empty on purpose: new keys, no people, an empty outbox (one test with the above: a
    # runtime's start and stop are most of either's time).
    fresh = start(tmp_path, *SCALE, "--no-demo", "--reset")
    try:
        assert fresh.contract["track_api_key"] != key
        assert fresh.app("GET", "/v1/customers/cat/attributes").status_code == 404
        assert fresh.get("/_local/outbox").json() == []
    finally:
        fresh.stop()
