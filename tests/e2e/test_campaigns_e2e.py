"""Campaigns in the local runtime, over real HTTP: the demo, each trigger type, the exit and goal rules,
re-entry, and a broadcast to a segment of 1,000 people. The session runtime runs at 60x, so a one-minute
delay takes a second."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from typing import Any

import requests


def _ok(answer: Any) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def _template(local, subject: str, channel: str = "email") -> str:
    body: dict[str, Any] = {"name": uuid.uuid4().hex, "channel": channel}
    if channel == "email":
        body.update(subject=subject, body=f"<p>{subject}</p>")
    else:
        body.update(body=subject)
    return str(_ok(local.app("POST", "/v1/templates", body))["template"]["id"])


def _campaign(local, trigger: dict[str, Any], blocks: dict[str, Any], **extra: Any) -> str:
    definition = {"name": uuid.uuid4().hex, "trigger": trigger, "workflow": {"start": "b1", "blocks": blocks}}
    definition.update(extra)
    campaign_id = _ok(local.app("POST", "/v1/campaigns", {"campaign": definition}))["campaign"]["id"]
    _ok(local.app("POST", f"/v1/campaigns/{campaign_id}/activate", {}))
    return str(campaign_id)


def _subjects_to(local, address: str) -> list[str]:
    return sorted(m["subject"] for m in local.get("/_local/outbox").json() if m["recipient"] == address)


def _wait_for_subjects(local, address: str, expected: list[str], timeout: float = 30) -> None:
    local.wait_until(lambda: _subjects_to(local, address) == sorted(expected), timeout=timeout)


def _identify(local, person: str, **attributes: Any) -> None:
    assert local.track(
        "PUT", f"/api/v1/customers/{person}", {"email": f"{person}@example.com", **attributes}
    ).ok


def test_nudge_demo_delivers_its_emails_through_the_seeded_campaigns(local):
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "nudge_tools.cli",
            "demo",
            "--state-dir",
            str(local.state_dir),
            "--watch",
            "40",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "5 email(s) arrived" in finished.stdout


def test_an_event_triggers_once_per_event_and_only_when_its_filters_match(local):
    tag = uuid.uuid4().hex[:8]
    template = _template(local, f"Big order {tag}")
    _campaign(
        local,
        {
            "type": "event",
            "name": f"order-{tag}",
            "filters": {"attribute": {"field": "total", "operator": "gt", "value": 10}},
        },
        {
            "b1": {"type": "delay", "seconds": 60, "next": "b2"},
            "b2": {"type": "send", "channel": "email", "template_id": template},
        },
        settings={"frequency": {"type": "every_match"}},
    )
    person = f"buyer-{tag}"
    _identify(local, person)
    for event_id, total in (("01J0000000000000000000SMAL", 5), ("01J0000000000000000000BIGG", 20)):
        body = {"name": f"order-{tag}", "id": event_id, "data": {"total": total}}
        assert local.track("POST", f"/api/v1/customers/{person}/events", body).ok
    assert local.track(  # the same event again: deduplicated, and its trigger cannot start twice
        "POST",
        f"/api/v1/customers/{person}/events",
        {"name": f"order-{tag}", "id": "01J0000000000000000000BIGG", "data": {"total": 20}},
    ).ok
    _wait_for_subjects(local, f"{person}@example.com", [f"Big order {tag}"])
    time.sleep(3)  # nothing else arrives
    assert _subjects_to(local, f"{person}@example.com") == [f"Big order {tag}"]


def test_attribute_change_to_a_value_triggers(local):
    tag = uuid.uuid4().hex[:8]
    template = _template(local, f"Sorry to see you go {tag}")
    _campaign(
        local,
        {"type": "attribute_change", "attribute": f"status_{tag}", "to": "churned"},
        {"b1": {"type": "send", "channel": "email", "template_id": template}},
    )
    person = f"leaver-{tag}"
    _identify(local, person, **{f"status_{tag}": "active"})
    _identify(local, person, **{f"status_{tag}": "churned"})
    _wait_for_subjects(local, f"{person}@example.com", [f"Sorry to see you go {tag}"])


def test_segment_exit_triggers_and_once_means_once(local):
    tag = uuid.uuid4().hex[:8]
    segment = _ok(
        local.app(
            "POST",
            "/v1/segments",
            {
                "segment": {
                    "name": tag,
                    "conditions": {"attribute": {"field": "team", "operator": "eq", "value": tag}},
                }
            },
        )
    )["segment"]["id"]
    template = _template(local, f"Left the team {tag}")
    _campaign(
        local,
        {"type": "segment_exit", "segment_id": segment},
        {"b1": {"type": "send", "channel": "email", "template_id": template}},
    )
    person = f"member-{tag}"
    for team in (tag, "other", tag, "other"):  # joins, leaves, joins, leaves again
        _identify(local, person, team=team)
        time.sleep(0.5)
    _wait_for_subjects(local, f"{person}@example.com", [f"Left the team {tag}"])
    time.sleep(3)
    assert _subjects_to(local, f"{person}@example.com") == [f"Left the team {tag}"]  # frequency: once


def test_a_goal_met_during_a_delay_converts_and_exits(local):
    tag = uuid.uuid4().hex[:8]
    first, second = _template(local, f"Try it {tag}"), _template(local, f"Still there? {tag}")
    campaign = _campaign(
        local,
        {"type": "event", "name": f"trial-{tag}"},
        {
            "b1": {"type": "send", "channel": "email", "template_id": first, "next": "b2"},
            "b2": {"type": "delay", "seconds": 300, "next": "b3"},
            "b3": {"type": "send", "channel": "email", "template_id": second},
        },
        settings={"exit": "on_goal", "goal": {"event": f"purchased-{tag}"}},
    )
    person = f"trialist-{tag}"
    _identify(local, person)
    assert local.track("POST", f"/api/v1/customers/{person}/events", {"name": f"trial-{tag}"}).ok
    _wait_for_subjects(local, f"{person}@example.com", [f"Try it {tag}"])
    assert local.track("POST", f"/api/v1/customers/{person}/events", {"name": f"purchased-{tag}"}).ok

    def converted() -> Any:
        metrics = _ok(local.app("GET", f"/v1/campaigns/{campaign}/metrics"))["metrics"]["campaign"]
        return metrics["converted"] == 1 and metrics

    metrics = local.wait_until(converted, timeout=30)
    assert metrics["entered"] == 1
    assert _subjects_to(local, f"{person}@example.com") == [f"Try it {tag}"]  # the second never went


def test_a_date_attribute_minus_an_offset_fires_then(local):
    tag = uuid.uuid4().hex[:8]
    template = _template(local, f"Trial ends soon {tag}")
    _campaign(
        local,
        {"type": "date_attribute", "attribute": f"trial_end_{tag}", "offset_seconds": -3600},
        {"b1": {"type": "send", "channel": "email", "template_id": template}},
    )
    person = f"trial-{tag}"
    now = local.status()["now"]  # the runtime's clock, 60x the wall's
    # Due in two local minutes (about two real seconds): trial_end is an hour and two minutes away.
    _identify(local, person, **{f"trial_end_{tag}": now + 3600 + 120})
    _wait_for_subjects(local, f"{person}@example.com", [f"Trial ends soon {tag}"], timeout=60)


def test_a_one_time_broadcast_reaches_the_segment_s_current_members(local):
    tag = uuid.uuid4().hex[:8]
    people = [f"reader-{tag}-{n}" for n in range(3)]
    for person in people:
        _identify(local, person, newsletter=tag)
    segment = _ok(
        local.app(
            "POST",
            "/v1/segments",
            {
                "segment": {
                    "name": f"readers {tag}",
                    "conditions": {"attribute": {"field": "newsletter", "operator": "eq", "value": tag}},
                }
            },
        )
    )["segment"]["id"]
    local.wait_until(
        lambda: len(_ok(local.app("GET", f"/v1/segments/{segment}/membership"))["identifiers"]) == 3,
        timeout=20,
    )
    template = _template(local, f"Issue 1 {tag}")
    _campaign(
        local,
        {"type": "broadcast", "segment_id": segment},
        {"b1": {"type": "send", "channel": "email", "template_id": template}},
    )
    for person in people:
        _wait_for_subjects(local, f"{person}@example.com", [f"Issue 1 {tag}"])


def test_a_newsletter_ab_test_sends_the_opened_variant_to_the_rest_and_a_cancel_sends_nothing(local):
    tag = uuid.uuid4().hex[:8]
    names = [f"nl-{tag}-{n:02d}" for n in range(20)]
    batch = [
        {"type": "person", "action": "identify", "identifiers": {"id": n},
         "attributes": {"email": f"{n}@example.com", "wave": tag}}
        for n in names
    ]  # fmt: skip
    assert local.track("POST", "/api/v2/batch", {"batch": batch}).status_code == 200
    variants = [{"subject": f"A {tag}", "body": "<p>a</p>"}, {"subject": f"B {tag}", "body": "<p>b</p>"}]
    newsletter = _ok(
        local.app(
            "POST",
            "/v1/newsletters",
            {
                "name": f"Launch {tag}",
                "recipients": {"attribute": {"field": "wave", "operator": "eq", "value": tag}},
                "variants": variants,
                # 20 minutes of the runtime's time, 20 s of the test's: the test group's opens come first
                "ab_test": {"test_percent": 50, "metric": "open", "wait_seconds": 1200},
                "send_now": True,
            },
        )
    )["newsletter"]

    def ours() -> list[dict[str, Any]]:
        return [m for m in local.get("/_local/outbox").json() if tag in (m.get("subject") or "")]

    def test_group_sent() -> Any:
        found = _ok(local.app("GET", f"/v1/newsletters/{newsletter['id']}"))["newsletter"]
        test = found["broadcasts"].get("test") or {}
        return test.get("status") == "done" and len(ours()) == test["started"] and ours()

    test_group = local.wait_until(test_group_sent, timeout=60)
    assert {m["subject"] for m in test_group} == {f"A {tag}", f"B {tag}"}
    for message in test_group:
        if message["subject"] == f"B {tag}":  # the reader opens B: its open pixel, as a mail client loads it
            pixel = re.search(r'src="([^"]*/t/o/[^"]+)"', message["html"])
            assert pixel is not None
            assert requests.get(pixel.group(1), timeout=10, verify=local.verify).status_code == 200

    local.wait_until(lambda: len(ours()) == 20, timeout=120)
    everyone = ours()
    assert sorted(m["recipient"] for m in everyone) == sorted(f"{n}@example.com" for n in names)
    sent_first = {m["recipient"] for m in test_group}
    assert {m["subject"] for m in everyone if m["recipient"] not in sent_first} == {f"B {tag}"}
    found = _ok(local.app("GET", f"/v1/newsletters/{newsletter['id']}"))["newsletter"]
    assert found["winner_content_id"] == 2

    later = _ok(
        local.app(
            "POST",
            "/v1/newsletters",
            {"name": f"Later {tag}", "subject": f"Later {tag}", "body": "<p>x</p>",
             "scheduled_at": int(time.time()) + 86400 * 30},
        )
    )["newsletter"]  # fmt: skip
    assert (
        _ok(local.app("POST", f"/v1/newsletters/{later['id']}/cancel", {}))["newsletter"]["state"]
        == "canceled"
    )


# Last: a thousand journeys keep the runtime busy for a while after the test has seen them queued.
def test_an_api_broadcast_reaches_a_segment_of_1000_people(local):
    tag = uuid.uuid4().hex[:8]
    ids = [f"fan-{tag}-{n:04d}" for n in range(1000)]
    # In requests a loaded local runtime answers within the client's 10-second timeout.
    for start in range(0, 1000, 100):
        batch = [
            {"type": "person", "action": "identify", "identifiers": {"id": i}, "attributes": {"wave": tag}}
            for i in ids[start : start + 100]
        ]
        assert local.track("POST", "/api/v2/batch", {"batch": batch}).status_code == 200
    segment = _ok(local.app("POST", "/v1/segments", {"segment": {"name": f"fans {tag}"}}))["segment"]["id"]
    for start in range(0, 1000, 250):
        _ok(local.app("POST", f"/v1/segments/{segment}/add_customers", {"ids": ids[start : start + 250]}))
    template = _template(local, f"News {tag}", channel="in_app")
    campaign = _campaign(
        local, {"type": "api"}, {"b1": {"type": "send", "channel": "in_app", "template_id": template}}
    )

    began = time.monotonic()
    trigger = _ok(
        local.app(
            "POST",
            f"/v1/campaigns/{campaign}/triggers",
            {"recipients": {"segment": {"id": segment}}, "data": {"n": 1}},
        )
    )["id"]

    def done() -> Any:
        status = _ok(local.app("GET", f"/v1/campaigns/{campaign}/triggers/{trigger}"))
        return status.get("status") == "done" and status

    local.wait_until(done, timeout=600)

    def all_sent() -> Any:
        metrics = _ok(local.app("GET", f"/v1/campaigns/{campaign}/metrics"))["metrics"]["campaign"]
        return metrics["entered"] == 1000 and metrics["sent"] == 1000 and metrics

    local.wait_until(all_sent, timeout=600)
    print(f"1,000-person broadcast: all entered and every message queued in {time.monotonic() - began:.1f} s")
    assert _ok(local.app("GET", f"/v1/campaigns/{campaign}/triggers/{trigger}/errors"))["errors"] == []
