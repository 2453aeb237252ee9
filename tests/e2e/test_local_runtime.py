"""The local runtime over real HTTP: the start-up contract, the gateway, streams and the dead-letter list."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import requests

from infra.table_specs import table_specs
from nudge.model import TABLE_MODELS
from tests.support.local_runtime import launch, start
from tests.support.stream_records import event_insert

README = Path(__file__).resolve().parents[2] / "README.md"
TRACK_CLIENT_EXAMPLE = re.compile(
    r"^<!-- README example \(python\): track_client[^\n]*-->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL
)


def _evaluation(runtime):
    """The evaluate function's stream pump: records, batches and dead letters per table."""
    return runtime.status()["streams"]["evaluate"]


def test_contract_file_has_every_promised_key(local):
    assert set(local.contract) == {
        "track_url",
        "app_url",
        "site_id",
        "track_api_key",
        "app_api_key",
        "cdp_api_key",
        "workspace_id",
        "aws_endpoint_url",
        "aws_region",
        "console_url",
        "console_email",
        "console_password",
        "console_user_pool_id",
        "console_user_pool_client_id",
    }
    assert local.contract["track_url"] == f"http://127.0.0.1:{local.port}"


def test_the_banner_shows_the_contract_and_a_curl_example_that_works(local):
    for key in (
        "track_url",
        "site_id",
        "track_api_key",
        "app_api_key",
        "cdp_api_key",
        "workspace_id",
        "aws_endpoint_url",
    ):
        assert str(local.contract[key]) in local.banner
    assert "Its state is kept in the state directory" in local.banner
    assert "time scale      60x" in local.banner
    # The line after "Try it:" (whatever the runtime logged since follows it in the captured output).
    command = local.banner.split("Try it:", 1)[1].strip().splitlines()[0]
    assert command.startswith("curl ")
    answer = subprocess.run(
        ["bash", "-c", command + " -s -w ' %{http_code}'"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert answer.stdout == "{} 200"


def test_health_and_openapi(local):
    assert local.get("/_local/health").json() == {"status": "ok"}
    document = local.get("/openapi.json").json()
    assert "/api/v1/customers/{identifier}" in document["paths"]


def test_track_calls_land_in_dynamodb_and_reach_the_evaluate_handler(local):
    before = _evaluation(local)["tables"]["events"]["records"]
    assert (
        local.track("PUT", "/api/v1/customers/e2e-1", {"email": "e2e@example.com", "plan": "pro"}).status_code
        == 200
    )
    assert (
        local.track(
            "POST", "/api/v1/customers/e2e-1/events", {"name": "purchase", "id": "e2e-evt"}
        ).status_code
        == 200
    )
    dynamodb = local.aws("dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if t.endswith("people"))
    lookup = dynamodb.get_item(
        TableName=table,
        Key={"pk": {"S": f"{local.contract['workspace_id']}#id#e2e-1"}, "sk": {"S": "lookup"}},
    )
    assert "Item" in lookup
    local.wait_until(lambda: _evaluation(local)["tables"]["events"]["records"] > before)
    dead_keys = [d["keys"]["pk"]["S"] for d in _evaluation(local)["dead_letters"]]
    assert not any(local.contract["workspace_id"] in key for key in dead_keys)


def test_a_failing_stream_record_is_dead_lettered_and_its_batch_still_processed(local):
    people = next(t for t in local.aws("dynamodb").list_tables()["TableNames"] if t.endswith("people"))
    before = _evaluation(local)["tables"]["people"]["records"]
    # Written behind the API's back: an item with no workspace scope, which evaluation must refuse.
    local.aws("dynamodb").put_item(
        TableName=people, Item={"pk": {"S": "rogue"}, "sk": {"S": "profile"}, "kind": {"S": "person"}}
    )
    local.track("PUT", "/api/v1/customers/after-rogue", {"plan": "pro"})
    dead = local.wait_until(
        lambda: [d for d in _evaluation(local)["dead_letters"] if d["keys"]["pk"]["S"] == "rogue"]
    )
    assert dead[0]["table"] == "people" and dead[0]["attempts"] >= 2
    stats = local.wait_until(
        lambda: (s := _evaluation(local)["tables"]["people"])["records"] >= before + 3 and s
    )
    assert stats["dead_letters"] == 1  # only the rogue record; the person's records went through


def test_unknown_api_paths_get_api_gateways_404(local):
    answer = local.get("/api/v1/nope")
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}


def test_wrong_credentials_are_401_over_http(local):
    answer = requests.put(f"{local.url}/api/v1/customers/x", json={}, auth=("nope", "nope"), timeout=10)
    assert answer.status_code == 401


def test_outbox_endpoints(local):
    # The session's runtime is shared: other tests' messages may be there already.
    messages = local.get("/_local/outbox").json()
    assert isinstance(messages, list)
    assert all({"channel", "recipient", "delivery_id", "sent_at"} <= set(m) for m in messages)
    page = local.get("/_local/outbox.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_local_tables_match_what_the_stack_deploys(local):
    dynamodb = local.aws("dynamodb")
    names = dynamodb.list_tables()["TableNames"]
    for spec in table_specs(TABLE_MODELS):
        name = next(n for n in names if n.endswith(spec.logical_name))
        table = dynamodb.describe_table(TableName=name)["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        assert keys == {
            "HASH": spec.partition_key.name,
            **({"RANGE": spec.sort_key.name} if spec.sort_key else {}),
        }
        assert {i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])} == {
            i.name for i in spec.global_indexes
        }
        assert {i["IndexName"] for i in table.get("LocalSecondaryIndexes", [])} == {
            i.name for i in spec.local_indexes
        }
        assert table.get("StreamSpecification", {}).get("StreamViewType") == spec.stream_view_type
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == spec.ttl_attribute


def test_the_cli_reaches_the_runtimes_data(local):
    env = {
        "AWS_ENDPOINT_URL": local.contract["aws_endpoint_url"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "PATH": "/usr/bin:/bin",
    }
    import json
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "nudge_tools.cli", "workspace", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert local.contract["workspace_id"] in [w["workspace_id"] for w in json.loads(out)]


def test_a_busy_port_is_a_one_line_error(local, tmp_path):
    process = launch(tmp_path, port=local.port)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert output.strip().splitlines() == [
        f"nudge local: port {local.port} on 127.0.0.1 is already in use (choose another with --port)"
    ]


def test_tls_mode_a_console_folder_and_a_clean_ctrl_c(tmp_path):
    console = tmp_path / "console-build"
    (console / "assets").mkdir(parents=True)
    (console / "index.html").write_text("<!doctype html><title>console</title>")
    (console / "assets" / "app-3f2a1b9c.js").write_text("export {};")
    runtime = start(tmp_path / "state", "--tls", "--console", str(console))
    try:
        cert = runtime.contract["tls_cert"]
        assert runtime.url.startswith("https://localhost:")
        assert requests.get(runtime.url + "/_local/health", verify=cert, timeout=10).status_code == 200
        # The console's client-side routes get its index.html; its hashed assets are cached for good.
        page = requests.get(runtime.url + "/console/campaigns/42", verify=cert, timeout=10)
        assert (page.status_code, page.headers["cache-control"]) == (200, "no-cache")
        assert page.text == "<!doctype html><title>console</title>"
        asset = requests.get(runtime.url + "/console/assets/app-3f2a1b9c.js", verify=cert, timeout=10)
        assert asset.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "immutable" in asset.headers["cache-control"]
        # Customer.io's official Python client speaks only https: the README's example of it, as written.
        env = {
            **os.environ,
            "REQUESTS_CA_BUNDLE": cert,
            "SITE_ID": runtime.contract["site_id"],
            "TRACK_API_KEY": runtime.contract["track_api_key"],
            "NUDGE_HOST": "localhost",
            "NUDGE_PORT": str(runtime.port),
        }
        example = TRACK_CLIENT_EXAMPLE.search(README.read_text())
        assert example is not None, "the README's Python Track client example is not marked"
        ran = subprocess.run(
            [sys.executable, "-c", example.group(1)], env=env, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        events = runtime.wait_until(lambda: _evaluation(runtime)["tables"]["events"]["records"])
        assert events >= 1
        ann = requests.get(
            runtime.url + "/v1/customers/ann/attributes",
            headers={"Authorization": f"Bearer {runtime.contract['app_api_key']}"},
            verify=cert,
            timeout=10,
        )
        assert ann.json()["customer"]["attributes"]["plan"] == "pro"
        # nudge demo trusts the certificate local.json names (it tracks, then watches the outbox no time).
        command = ["demo", "--state-dir", str(runtime.state_dir), "--watch", "0"]
        demo = subprocess.run(
            [sys.executable, "-m", "nudge_tools.cli", *command],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "tracked order_placed" in demo.stdout and not demo.stderr, demo.stderr
    finally:
        code, output = runtime.stop()
    assert code == 0
    assert "stopping" in output and "Traceback" not in output
    assert "Its state is kept in the state directory" in output


def test_step_functions_run_lambda_tasks_on_the_runtimes_own_handlers(local):
    sfn = local.aws("stepfunctions")
    definition = {
        "StartAt": "Evaluate",
        "States": {
            "Evaluate": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:nudge-evaluate",
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="e2e-routing", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/local"
    )["stateMachineArn"]
    good = event_insert("nudge-events", "6")
    foreign = event_insert("not-nudges", "7")
    execution = sfn.start_execution(
        stateMachineArn=machine, name="e2e-1", input=json.dumps({"Records": [good, foreign]})
    )
    done = local.wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] != "RUNNING" and d
        )
    )
    assert done["status"] == "SUCCEEDED"
    # The evaluate handler's own answer: it refuses a record from a table that is not Nudge's.
    assert json.loads(done["output"]) == {"batchItemFailures": [{"itemIdentifier": "7"}]}


def test_bad_time_scale_is_refused(tmp_path):
    process = launch(tmp_path, "--time-scale", "0")
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert output.strip() == "nudge: --time-scale must be a positive number"


def test_the_scheduler_fires_what_eventbridge_fires(local):
    schedules = {s["name"]: s for s in local.status()["schedules"]}
    assert set(schedules) == {"segment re-checks", "scheduled deliveries", "billing run (daily)"}
    billing = local.wait_until(
        lambda: (
            (b := {s["name"]: s for s in local.status()["schedules"]}["billing run (daily)"])["runs"] and b
        )
    )
    assert billing["failures"] == 0
