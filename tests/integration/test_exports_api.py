"""Exports over the App API (``/v1/exports``) and the exports worker, under moto: the real App API handler,
the real worker handler fed SQS-shaped events, and moto's S3 (the file is read back through the presigned
URL's key)."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import boto3
import moto.s3.models
import pytest

from functions.exports import handler as exports_handler
from nudge import workspaces
from nudge.delivery import records, states
from nudge.exports import files, queue, store, worker
from nudge.model.deliveries import Delivery
from nudge.model.exports import Export, export_sk, exports_pk
from nudge.segments import definitions
from nudge_tools.local.exports_worker import DeadlineContext, sqs_event
from tests.integration.test_people_api import refused
from tests.support.deliveries import cio_id
from tests.support.track import AppClient

BUCKET = "nudge-test-exports"


class RecordedQueue:
    """The queue port, recording each message for the test to deliver."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, workspace_id: str, export_id: int) -> None:
        self.messages.append(queue.message(workspace_id, export_id))


@pytest.fixture
def sent(account, monkeypatch) -> RecordedQueue:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("NUDGE_EXPORTS_BUCKET", BUCKET)
    recorded = RecordedQueue()
    queue.install(recorded)
    yield recorded
    queue.install(None)


def deliver_all(sent: RecordedQueue, budget_seconds: float = 900.0) -> list[dict]:
    """Every message (and those the worker sends itself) through the real handler, as SQS would."""
    answers = []
    while sent.messages:
        answers.append(
            exports_handler.handler(sqs_event(sent.messages.pop(0), 1), DeadlineContext(budget_seconds))
        )
    return answers


def run_chunked(sent: RecordedQueue, limits: worker.Limits) -> list[str]:
    """Every message through the worker with no time to spare: each invocation reads one chunk, saves it
    and hands the rest over."""
    outcomes = []
    while sent.messages:
        workspace_id, export_id = queue.parse(sent.messages.pop(0))
        outcomes.append(
            worker.run(
                workspace_id, export_id, owner=f"run-{len(outcomes)}", time_left=lambda: 0.0, limits=limits
            )
        )
    return outcomes


def csv_of(app: AppClient, export_id: int) -> list[dict[str, str]]:
    answer = app.get(f"/v1/exports/{export_id}/download")
    assert answer.status == 200, answer.json
    url = urlsplit(answer.json["url"])
    assert "X-Amz-Signature=" in url.query and "X-Amz-Expires=900" in url.query
    key = (
        url.path.lstrip("/").split("/", 1)[1]
        if url.path.lstrip("/").startswith(BUCKET)
        else url.path.lstrip("/")
    )
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return list(csv.DictReader(io.StringIO(body.decode())))


def _people(track, count, **attributes):
    for i in range(count):
        plan = "pro" if i % 3 == 0 else "free"
        track.put(
            f"/api/v1/customers/p{i:03d}", {"email": f"p{i:03d}@example.com", "plan": plan, **attributes}
        )


def _search_ids(app, filter_):
    ids, start = [], ""
    while True:
        answer = app.post(
            "/v1/customers?limit=1000" + (f"&start={start}" if start else ""), {"filter": filter_}
        )
        assert answer.status == 200, answer.json
        ids += [i["id"] for i in answer.json["identifiers"]]
        start = answer.json["next"]
        if not start:
            return sorted(ids)


def _start(app, filters, **body):
    answer = app.post("/v1/exports/customers", {"filters": filters, **body})
    assert answer.status == 200, answer.json
    return answer.json["export"]


# --- customers ---------------------------------------------------------------------------------------


def test_a_customers_export_starts_pending_and_ends_done_with_the_rows_the_search_finds(app, track, ws, sent):
    _people(track, 30)
    filters = {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}

    started = _start(app, filters, attributes=["plan", "created_at"])
    assert started["status"] == "pending" and started["failed"] is False and started["total"] == 0
    assert app.get(f"/v1/exports/{started['id']}/download").status == 409
    deliver_all(sent)

    done = app.get(f"/v1/exports/{started['id']}").json["export"]
    rows = csv_of(app, started["id"])
    assert done["status"] == "done" and done["total"] == len(rows) == 10
    assert sorted(r["id"] for r in rows) == _search_ids(app, filters)
    assert list(rows[0]) == ["id", "email", "cio_id", "plan", "created_at"]
    assert all(r["plan"] == "pro" and r["email"] == f"{r['id']}@example.com" for r in rows)
    assert {r["cio_id"] for r in rows} == {cio_id(ws, r["id"]) for r in rows}
    assert app.get(f"/v1/exports/{started['id']}").json["export"]["downloads"] == 1


def test_a_segment_filter_with_and_or_not_exports_what_the_search_finds(app, track, ws, sent):
    _people(track, 12)
    segment_id = definitions.create_manual_segment(ws, "Beta")
    track.post(
        f"/api/v1/segments/{segment_id}/add_customers", {"ids": ["p000", "p001", "p002", "p003", "p006"]}
    )
    filters = {
        "and": [
            {"segment": {"id": int(segment_id)}},
            {"not": {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}},
        ]
    }

    export = _start(app, filters)
    deliver_all(sent)

    rows = csv_of(app, export["id"])
    assert sorted(r["id"] for r in rows) == _search_ids(app, filters) == ["p001", "p002"]


def test_a_chunked_run_continues_in_new_invocations_and_loses_and_repeats_no_row(
    app, track, ws, sent, monkeypatch
):
    # Parts far below S3's 5 MB, so a small workspace takes several (moto enforces the minimum as S3 does).
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1)
    _people(track, 45)
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})

    outcomes = run_chunked(sent, worker.Limits(part_bytes=200, rows_per_read=4, reserve_seconds=60))

    assert outcomes[-1] == "done" and outcomes.count("continued") == len(outcomes) - 1 > 10
    stored = Export.get(*_key(ws, export))
    assert len(stored.parts) > 3  # several parts, and tails between them
    rows = csv_of(app, export["id"])
    assert sorted(r["id"] for r in rows) == [f"p{i:03d}" for i in range(45)]
    assert app.get(f"/v1/exports/{export['id']}").json["export"]["total"] == 45


def test_a_step_retried_after_its_part_was_uploaded_repeats_no_row(app, track, ws, sent, monkeypatch):
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1)
    _people(track, 20)
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    limits = worker.Limits(part_bytes=150, rows_per_read=3, reserve_seconds=0)
    real_save = store.save_progress
    calls = {"n": 0}

    def crash_on_second_save(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:  # the part is in S3, the step is not saved: the invocation dies here
            raise ConnectionError("lost the connection to DynamoDB")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(store, "save_progress", crash_on_second_save)
    workspace_id, export_id = queue.parse(sent.messages.pop(0))
    with pytest.raises(ConnectionError):
        worker.run(workspace_id, export_id, owner="first", time_left=lambda: 900.0, limits=limits)
    assert Export.get(*_key(ws, export)).lease_owner is None  # given back, so the retry goes on at once

    assert (
        worker.run(workspace_id, export_id, owner="retry", time_left=lambda: 900.0, limits=limits) == "done"
    )
    rows = csv_of(app, export["id"])
    assert sorted(r["id"] for r in rows) == [f"p{i:03d}" for i in range(20)]


def test_a_second_delivery_of_a_message_finds_the_export_taken_and_changes_nothing(app, track, sent):
    _people(track, 3)
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    workspace_id, export_id = queue.parse(sent.messages[0])
    taken = store.claim(workspace_id, export_id, "the first invocation", 2**40)
    assert taken is not None

    assert worker.run(workspace_id, export_id, owner="a duplicate", time_left=lambda: 900.0) == "skipped"
    assert app.get(f"/v1/exports/{export['id']}").json["export"]["status"] == "running"


def test_failing_an_export_by_its_lease_holder_or_by_whoever_until_it_is_finished(app, sent):
    _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    workspace_id, export_id = queue.parse(sent.messages[0])
    held = store.claim(workspace_id, export_id, "the holder", 2**40)
    assert held is not None

    # By an owner: only the one holding the lease, at the step it read.
    assert not store.fail(held, "not yours", owner="another invocation")
    assert store.load(workspace_id, export_id).status == store.RUNNING
    # Without one: whoever holds it, once; a finished export stays as it finished.
    assert store.fail(held, "given up")
    assert not store.fail(store.load(workspace_id, export_id), "again")
    failed = store.load(workspace_id, export_id)
    assert (failed.status, failed.reason, failed.lease_owner) == (store.FAILED, "given up", None)


def test_a_segment_deleted_before_the_export_ran_fails_it_with_the_reason(app, track, ws, sent):
    _people(track, 3)
    segment_id = definitions.create_manual_segment(ws, "Going")
    export = _start(app, {"segment": {"id": segment_id}})
    assert app.delete(f"/v1/segments/{segment_id}").status == 204

    deliver_all(sent)

    failed = app.get(f"/v1/exports/{export['id']}").json["export"]
    assert failed["status"] == "failed" and failed["failed"] is True
    assert failed["reason"].startswith(f"segment {segment_id} was deleted while the export ran")
    refusal = app.get(f"/v1/exports/{export['id']}/download")
    assert refusal.status == 409 and "start a new export" in refusal.json["errors"][0]["detail"]


def test_the_last_try_of_a_failing_message_fails_the_export_and_dead_letters_it(
    app, track, sent, monkeypatch
):
    _people(track, 2)
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})

    def unavailable(*_args, **_kwargs):
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    monkeypatch.setattr(files, "start_upload", unavailable)
    body = sent.messages.pop(0)
    answers = [
        exports_handler.handler(sqs_event(body, count, "m1"), DeadlineContext(900))
        for count in (1, queue.MAX_RECEIVES)
    ]

    assert [a["batchItemFailures"] for a in answers] == [[{"itemIdentifier": "m1"}]] * 2
    failed = app.get(f"/v1/exports/{export['id']}").json["export"]
    assert failed["status"] == "failed"
    assert failed["reason"] == (
        "the export could not be written (storage kept failing: EndpointConnectionError); start it again"
    )


def test_the_last_try_fails_the_export_whatever_the_error_naming_its_type_only(app, track, sent, monkeypatch):
    _people(track, 2)
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})

    def broken(*_args, **_kwargs):
        raise KeyError("internal detail: nudge-prod-people#ws#p001")

    monkeypatch.setattr(worker.sources, "for_request", broken)
    body = sent.messages.pop(0)
    answers = []
    for count in (1, queue.MAX_RECEIVES):
        answers.append(exports_handler.handler(sqs_event(body, count, "m1"), DeadlineContext(900)))
        if count == 1:
            assert app.get(f"/v1/exports/{export['id']}").json["export"]["status"] == "running"

    # Dead-lettered still (the queue sees the failure), and the export says why without internals.
    assert [a["batchItemFailures"] for a in answers] == [[{"itemIdentifier": "m1"}]] * 2
    failed = app.get(f"/v1/exports/{export['id']}").json["export"]
    assert failed["status"] == "failed"
    assert failed["reason"] == "the export could not be written (an internal error: KeyError); start it again"


# --- deliveries ---------------------------------------------------------------------------------------


def _delivery(ws, person, delivery_id, *, campaign_id, template_id=None, metric=None):
    records.queue(
        ws,
        records.NewDelivery(
            delivery_id,
            cio_id(ws, person),
            "email",
            "campaign",
            {},
            campaign_id=campaign_id,
            template_id=template_id,
        ),
    )
    if metric:
        records.load(ws, delivery_id).update(
            actions=[Delivery.state.set(metric), Delivery.metrics[metric].set(1_700_000_100)]
        )


def _campaign(app) -> str:
    template = app.post(
        "/v1/templates", {"name": "Hi", "channel": "email", "subject": "Hi", "body": "<p>Hi</p>"}
    )
    assert template.status == 200, template.json
    definition = {
        "name": "Welcome",
        "trigger": {"type": "event", "name": "signed_up"},
        "workflow": {
            "start": "b1",
            "blocks": {
                "b1": {
                    "type": "send",
                    "channel": "email",
                    "template_id": str(template.json["template"]["id"]),
                }
            },
        },
    }
    answer = app.post("/v1/campaigns", {"campaign": definition})
    assert answer.status == 200, answer.json
    return str(answer.json["campaign"]["id"])


def test_a_deliveries_export_holds_the_campaigns_deliveries_with_the_metric_asked(app, track, ws, sent):
    _people(track, 4)
    campaign_id = _campaign(app)
    _delivery(ws, "p000", "d0", campaign_id=campaign_id, metric=states.OPENED)
    _delivery(ws, "p001", "d1", campaign_id=campaign_id, metric=states.SENT)
    _delivery(ws, "p002", "d2", campaign_id=campaign_id, metric=states.OPENED)
    _delivery(ws, "p003", "d3", campaign_id="another", metric=states.OPENED)

    everything = app.post(
        "/v1/exports/deliveries", {"newsletter_id": campaign_id, "attributes": ["plan"]}
    ).json
    opened = app.post("/v1/exports/deliveries", {"campaign_id": campaign_id, "metric": "opened"}).json
    deliver_all(sent)

    rows = csv_of(app, everything["export"]["id"])
    assert sorted(r["delivery_id"] for r in rows) == ["d0", "d1", "d2"]
    d0 = next(r for r in rows if r["delivery_id"] == "d0")
    assert (d0["id"], d0["email"], d0["cio_id"]) == ("p000", "p000@example.com", cio_id(ws, "p000"))
    assert (d0["campaign_id"], d0["type"], d0["state"], d0["opened_at"], d0["plan"]) == (
        campaign_id,
        "email",
        "opened",
        "1700000100",
        "pro",
    )
    assert sorted(r["delivery_id"] for r in csv_of(app, opened["export"]["id"])) == ["d0", "d2"]


def test_a_newsletter_id_exports_that_newsletter_s_messages(app, track, ws, sent):
    _people(track, 2)
    newsletter = app.post("/v1/newsletters", {"name": "Digest", "subject": "Hi", "body": "<p>hi</p>"})
    assert newsletter.status == 200, newsletter.json  # a draft: nothing sent by itself
    number = newsletter.json["newsletter"]["id"]
    _delivery(ws, "p000", "d0", campaign_id=f"nl-{number}", metric=states.SENT)
    _delivery(ws, "p001", "d1", campaign_id="another", metric=states.SENT)

    export = app.post("/v1/exports/deliveries", {"newsletter_id": number})
    assert export.status == 200, export.json
    deliver_all(sent)

    assert [(r["delivery_id"], r["campaign_id"]) for r in csv_of(app, export.json["export"]["id"])] == [
        ("d0", f"nl-{number}")
    ]


def test_a_deliveries_export_keeps_to_its_window(app, track, ws, sent, monkeypatch):
    _people(track, 1)
    from nudge import clock

    for delivery_id, at in (("old", 1_600_000_000), ("in", 1_650_000_000), ("new", 1_700_000_000)):
        monkeypatch.setattr(clock, "now", lambda at=at: at)
        _delivery(ws, "p000", delivery_id, campaign_id=None)
    monkeypatch.setattr(clock, "now", lambda: 1_700_000_001)

    export = app.post("/v1/exports/deliveries", {"start": 1_640_000_000, "end": 1_660_000_000}).json["export"]
    deliver_all(sent)

    assert [r["delivery_id"] for r in csv_of(app, export["id"])] == ["in"]


# --- listing, isolation, bad input ---------------------------------------------------------------------


def test_exports_are_listed_newest_first(app, track, sent):
    first = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    second = _start(app, {"attribute": {"field": "plan", "operator": "eq", "value": "pro"}})

    listed = app.get("/v1/exports").json["exports"]

    assert [e["id"] for e in listed] == [second["id"], first["id"]] and second["id"] == first["id"] + 1
    assert {e["type"] for e in listed} == {"customers"}


def test_another_workspaces_export_is_a_404(app, track, sent):
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    deliver_all(sent)
    other = AppClient(workspaces.create_workspace("Other", "essentials").app_api_key)

    for path in (f"/v1/exports/{export['id']}", f"/v1/exports/{export['id']}/download"):
        answer = other.get(path)
        assert (
            answer.status == 404 and answer.json["errors"][0]["detail"] == f"export {export['id']} not found"
        )
    assert other.get("/v1/exports").json["exports"] == []
    assert app.get("/v1/exports/abc").status == 404


def test_another_workspaces_segment_or_campaign_is_a_404(app, ws, sent):
    other = workspaces.create_workspace("Other", "essentials")
    theirs = definitions.create_manual_segment(other.workspace_id, "Theirs")

    assert app.post("/v1/exports/customers", {"filters": {"segment": {"id": theirs}}}).status == 404
    assert app.post("/v1/exports/deliveries", {"campaign_id": "abc123"}).status == 404
    assert sent.messages == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/exports/customers", {}, "filters"),
        ("/v1/exports/customers", {"filters": []}, "filters"),
        ("/v1/exports/customers", {"filters": {"event": {"name": "x"}}}, "filters.event"),
        ("/v1/exports/customers", {"filters": {"segment": {}}}, "filters.segment.id"),
        ("/v1/exports/customers", {"filters": {"and": "x"}}, "filters.and"),
        ("/v1/exports/customers", {"filters": {"segment": {"id": 1}}, "attributes": "plan"}, "attributes"),
        (
            "/v1/exports/customers",
            {"filters": {"segment": {"id": 1}}, "attributes": ["", "x"]},
            "attributes.0",
        ),
        ("/v1/exports/deliveries", {"metric": "read"}, "metric"),
        ("/v1/exports/deliveries", {"start": "yesterday"}, "start"),
        ("/v1/exports/deliveries", {"start": 20, "end": 10}, "start"),
        ("/v1/exports/deliveries", {"end": 1_700_000_000_000}, "end"),
        ("/v1/exports/deliveries", {"drafts": "no"}, "drafts"),
        ("/v1/exports/deliveries", {"newsletter_id": 1, "campaign_id": "2"}, "campaign_id"),
        ("/v1/exports/deliveries", {"newsletter_id": {"id": 1}}, "newsletter_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(app, sent, path, body, field):
    refused(app.post(path, body), field)
    assert sent.messages == []


def _key(ws: str, export: dict) -> tuple[str, str]:
    return exports_pk(ws), export_sk(export["id"])


def test_a_try_after_one_that_completed_the_file_but_not_the_record_finishes_it(
    app, track, ws, sent, monkeypatch
):
    _people(track, 7)
    export = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    real_finish = store.finish

    def crash_once(*args, **kwargs):
        monkeypatch.setattr(store, "finish", real_finish)
        raise ConnectionError("lost the connection to DynamoDB")

    monkeypatch.setattr(store, "finish", crash_once)
    workspace_id, export_id = queue.parse(sent.messages.pop(0))
    with pytest.raises(ConnectionError):
        worker.run(workspace_id, export_id, owner="first", time_left=lambda: 900.0)

    assert worker.run(workspace_id, export_id, owner="retry", time_left=lambda: 900.0) == "done"
    assert app.get(f"/v1/exports/{export['id']}").json["export"]["total"] == 7
    assert sorted(r["id"] for r in csv_of(app, export["id"])) == [f"p{i:03d}" for i in range(7)]


def test_an_export_the_queue_refused_is_failed_and_the_answer_is_a_503(app, sent, monkeypatch):
    from botocore.exceptions import EndpointConnectionError

    def unreachable(*_args):
        raise EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com")

    monkeypatch.setattr(sent, "send", unreachable)
    answer = app.post(
        "/v1/exports/customers", {"filters": {"attribute": {"field": "plan", "operator": "exists"}}}
    )

    assert answer.status == 503
    [export] = app.get("/v1/exports").json["exports"]
    assert (
        export["status"] == "failed" and export["reason"] == "the export could not be queued; start it again"
    )


def test_the_local_runtime_fails_the_exports_a_stop_interrupted(app, track, sent, monkeypatch):
    from nudge_tools.local import exports_worker

    running = _start(app, {"attribute": {"field": "plan", "operator": "exists"}})
    workspace_id, export_id = queue.parse(sent.messages.pop(0))
    assert store.claim(workspace_id, export_id, "an invocation of the last run", 2**40) is not None
    monkeypatch.setenv("NUDGE_EXPORTS_BUCKET", BUCKET)  # start sets both; monkeypatch restores them
    monkeypatch.setenv("NUDGE_EXPORTS_PRESIGN_ENDPOINT", "http://127.0.0.1:1")

    worker_thread = exports_worker.start("http://127.0.0.1:1", "us-east-1", exports_handler.handler)
    worker_thread.stop()

    export = app.get(f"/v1/exports/{running['id']}").json["export"]
    assert export["status"] == "failed" and export["reason"] == exports_worker.INTERRUPTED
