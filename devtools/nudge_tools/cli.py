"""``nudge``: the operator CLI. Where its commands go, first match wins:

1. ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_DYNAMODB``), when set;
2. the local runtime, when ``<state-dir>/local.json`` exists (``--state-dir``, default ``.nudge``, as for
   ``nudge local``): its ``aws_endpoint_url`` and ``aws_region``;
3. AWS itself, as boto3 is configured (credentials, region; table names from ``NUDGE_*_TABLE`` or
   ``NUDGE_TABLE_PREFIX``).

A local endpoint (a loopback address: the local runtime, DynamoDB Local, LocalStack) accepts any
credentials, so the CLI signs for one with placeholders: it needs none configured, and real ones are
never handed to a local process. Missing credentials and an endpoint that does not answer are one line
on stderr and exit code 1, not a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)
from pynamodb.exceptions import PynamoDBException

from nudge import settings
from nudge.errors import NudgeError
from nudge.roles import LABELS

LOCAL_CONTRACT = "local.json"  # what ``nudge local`` writes into its state directory once it is ready
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# local.json key -> the variable ``nudge.console_auth.users`` reads (after a deploy: the stack's outputs)
LOCAL_USER_POOL = {
    "console_user_pool_id": "NUDGE_USER_POOL_ID",
    "console_user_pool_client_id": "NUDGE_USER_POOL_CLIENT_ID",
}
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
NO_CREDENTIALS_HINT = (
    "configure them (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) to reach a deployment, "
    "or start the local runtime (make run) to use it"
)


@dataclass(frozen=True)
class AwsTarget:
    """Where this process's AWS clients go, and where that was decided (for error messages)."""

    endpoint_url: str | None
    source: str

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None and urlsplit(self.endpoint_url).hostname in LOOPBACK_HOSTS


def target_aws(state_dir: Path) -> AwsTarget:
    """Point this process's AWS clients at the command's target. Called before any Nudge module that
    builds a client or reads the settings is imported: both read the environment once."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        target = AwsTarget(endpoint, "AWS_ENDPOINT_URL")
    else:
        contract_path = state_dir / LOCAL_CONTRACT
        if not contract_path.is_file():
            return AwsTarget(None, "AWS")
        try:
            contract = json.loads(contract_path.read_text())
            endpoint = str(contract["aws_endpoint_url"])
            region = str(contract["aws_region"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise NudgeError(f"{contract_path} is not a local runtime's contract ({exc})") from exc
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = region
        # The console's user pool on the runtime's moto (``nudge user add``); a runtime from before the
        # console names none.
        for key, variable in LOCAL_USER_POOL.items():
            if key in contract:
                os.environ[variable] = str(contract[key])
        target = AwsTarget(endpoint, str(contract_path))
    if target.local:
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ.pop(
            "AWS_PROFILE", None
        )  # a profile would take precedence over nothing, but not over these
    settings.reload()  # in case anything read them already
    return target


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from (PynamoDB wraps botocore's errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def aws_problem(exc: BaseException, target: AwsTarget) -> str | None:
    """One line for an AWS failure an operator fixes by configuring the CLI, or None for any other."""
    for cause in _causes(exc):
        if isinstance(cause, NoCredentialsError):
            return f"no AWS credentials found: {NO_CREDENTIALS_HINT}"
        if isinstance(cause, PartialCredentialsError):
            return f"incomplete AWS credentials ({cause}): {NO_CREDENTIALS_HINT}"
        if isinstance(cause, EndpointConnectionError):
            where = f"{target.endpoint_url} (from {target.source})" if target.endpoint_url else "AWS"
            if target.source.endswith(LOCAL_CONTRACT):
                return (
                    f"the local runtime at {where} does not answer: start it (make run), "
                    "or remove that file to use AWS"
                )
            return f"cannot reach {where}: {cause}"
    return None


def _print_keys(keys: object, as_json: bool, title: str) -> None:
    data = asdict(keys)  # type: ignore[call-overload]
    if as_json:
        print(json.dumps(data))
        return
    print(title)
    for label, name in (
        ("workspace id", "workspace_id"),
        ("site id", "site_id"),
        ("track api key", "track_api_key"),
        ("app api key", "app_api_key"),
        ("pipelines key", "cdp_api_key"),
    ):
        print(f"  {label:<14} {data[name]}")
    print("The keys are shown only this once and stored hashed: keep them somewhere safe now.")


def _workspace_create(args: argparse.Namespace) -> None:
    from nudge import workspaces
    from nudge.delivery import settings as delivery_settings

    keys = workspaces.create_workspace(args.name, args.plan, args.billing_start)
    delivery_settings.start_new_workspace(keys.workspace_id)  # a new workspace writes Liquid
    _print_keys(keys, args.json, "Workspace created.")


def _workspace_list(args: argparse.Namespace) -> None:
    from nudge import workspaces

    found = workspaces.list_workspaces()
    if args.json:
        print(json.dumps([asdict(w) for w in found]))
        return
    print(f"{'workspace id':<18} {'site id':<22} {'plan':<11} {'billing start':<13} name")
    for w in found:
        print(f"{w.workspace_id:<18} {w.site_id:<22} {w.plan:<11} {w.billing_start:<13} {w.name}")


def _keys_rotate(args: argparse.Namespace) -> None:
    from nudge import workspaces

    keys = workspaces.rotate_keys(args.workspace)
    _print_keys(keys, args.json, "Keys rotated: the previous Track, App and Pipelines keys no longer work.")


def _segment_create(args: argparse.Namespace) -> None:
    from nudge.segments import definitions

    segment_id = definitions.create_manual_segment(args.workspace, args.name, args.description)
    print(json.dumps({"segment_id": segment_id}) if args.json else f"Manual segment created: {segment_id}")


def _workspace_update(args: argparse.Namespace) -> None:
    from nudge.billing import details as billing_details

    billing_details.update_billing_details(
        args.workspace,
        invoice_contact=args.invoice_contact,
        tax_location=args.tax_location,
        tax_exempt=args.tax_exempt,
    )
    print("Workspace updated.")


def _billing_run(args: argparse.Namespace) -> None:
    from datetime import date

    from nudge.billing import invoicing

    try:
        at = date.fromisoformat(args.at) if args.at else date.today()
    except ValueError as exc:
        raise NudgeError("--at must be a date YYYY-MM-DD") from exc
    result = invoicing.run(at)
    issued = result.issued
    print(
        json.dumps({"at": at.isoformat(), "invoices": issued, "not_billed": result.failed})
        if args.json
        else f"Billing run for {at}: {len(issued)} invoice(s) issued. {' '.join(issued)}".rstrip()
    )
    result.raise_if_incomplete()  # after what was billed is printed: one line to stderr, exit 2


def _billing_credit(args: argparse.Namespace) -> None:
    from nudge.billing import credits

    credit_id = credits.add_credit(args.workspace, args.invoice, args.amount_cents, args.reason)
    print(f"Credit {credit_id} recorded: {args.amount_cents} cents off the next invoice.")


def _billing_usage(args: argparse.Namespace) -> None:
    from nudge import clock, workspaces
    from nudge.billing import invoicing, periods

    workspace = workspaces.load(args.workspace)
    period = invoicing.current_period(workspace)
    estimate = invoicing.draft(workspace, period, issued_on=periods.day_of(clock.now()))
    print(json.dumps(estimate.to_json(), indent=2))


def _user_add(args: argparse.Namespace) -> None:
    from botocore.exceptions import ClientError

    from nudge.console_auth import members
    from nudge.console_auth.users import UserPoolNotConfigured

    try:
        added = members.add(args.workspace, args.email, args.role)
    except UserPoolNotConfigured as exc:
        raise NudgeError(str(exc)) from exc
    except ClientError as exc:  # Cognito refused (a policy, a permission): its own words, one line
        raise NudgeError(f"the user pool refused: {exc}") from exc
    member = added.member
    if args.json:
        body = {"email": member.email, "workspace_id": args.workspace, "role": member.role.label}
        print(json.dumps({**body, "password": added.password}))
        return
    print(f"{member.email} is {member.role.label} in workspace {args.workspace}.")
    if added.password is None:
        print("An existing console user: their password is unchanged.")
    else:
        print(f"  password  {added.password}")
        print(
            "A temporary password, shown only this once: it signs in once, to choose their own password, "
            "and expires after the pool's temporary-password validity (3 days deployed)."
        )


def _tables_create(_: argparse.Namespace) -> None:
    from nudge.model import create_tables

    create_tables()
    print("Tables ready.")


def _local(args: argparse.Namespace) -> None:
    from pathlib import Path

    if not args.time_scale > 0:
        raise NudgeError("--time-scale must be a positive number")
    if args.console and not (Path(args.console) / "index.html").is_file():
        raise NudgeError(f"--console {args.console}: no index.html there to serve")

    from nudge_tools.local.runtime import Options, main

    code = main(
        Options(
            host=args.host,
            port=args.port,
            tls=args.tls,
            state_dir=Path(args.state_dir),
            time_scale=args.time_scale,
            demo=not args.no_demo,
            reset=args.reset,
            console_dir=Path(args.console) if args.console else None,
        )
    )
    if code:
        raise SystemExit(code)


def _demo(args: argparse.Namespace) -> None:
    from pathlib import Path

    from nudge_tools.local import demo

    code = demo.run(Path(args.state_dir), watch_seconds=args.watch)
    if code:
        raise SystemExit(code)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nudge", description="Operate a Nudge deployment.")
    groups = parser.add_subparsers(dest="group", required=True)
    # Every command that reads or writes Nudge's data: where a running local runtime's contract is.
    aws = argparse.ArgumentParser(add_help=False)
    aws.add_argument(
        "--state-dir",
        default=".nudge",
        help="a running local runtime's state directory (its local.json is used unless AWS_ENDPOINT_URL is)",
    )
    aws.set_defaults(targets_aws=True)

    _workspace_commands(groups, aws)
    _keys_commands(groups, aws)
    _segment_commands(groups, aws)
    _billing_commands(groups, aws)
    _user_commands(groups, aws)
    _tables_commands(groups, aws)
    _local_commands(groups)
    return parser


def _workspace_commands(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], aws: argparse.ArgumentParser
) -> None:
    """nudge workspace create, list and update."""
    workspace = groups.add_parser("workspace", help="create and list workspaces").add_subparsers(
        dest="command", required=True
    )
    create = workspace.add_parser("create", parents=[aws], help="create a workspace and print its keys once")
    create.add_argument("--name", required=True)
    create.add_argument("--plan", required=True, help="essentials, premium or enterprise")
    create.add_argument("--billing-start", help="YYYY-MM-DD (default: today)")
    create.add_argument("--json", action="store_true", help="print the ids and keys as JSON")
    create.set_defaults(run=_workspace_create)
    listing = workspace.add_parser("list", parents=[aws], help="list workspaces")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_workspace_list)

    update = workspace.add_parser("update", parents=[aws], help="set the invoice contact and tax details")
    update.add_argument("--workspace", required=True)
    update.add_argument("--invoice-contact")
    update.add_argument("--tax-location", help="a key of the billing catalog's tax rates, e.g. US-CA")
    update.add_argument("--tax-exempt", action=argparse.BooleanOptionalAction, default=None)
    update.set_defaults(run=_workspace_update)


def _keys_commands(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], aws: argparse.ArgumentParser
) -> None:
    """nudge keys rotate."""
    keys = groups.add_parser("keys", help="manage API keys").add_subparsers(dest="command", required=True)
    rotate = keys.add_parser(
        "rotate", parents=[aws], help="issue new Track and App keys; the old ones stop working"
    )
    rotate.add_argument("--workspace", required=True, help="workspace id")
    rotate.add_argument("--json", action="store_true")
    rotate.set_defaults(run=_keys_rotate)


def _segment_commands(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], aws: argparse.ArgumentParser
) -> None:
    """nudge segment create-manual."""
    segment = groups.add_parser("segment", help="manage segments").add_subparsers(
        dest="command", required=True
    )
    manual = segment.add_parser(
        "create-manual", parents=[aws], help="create a manual segment (filled via add_customers)"
    )
    manual.add_argument("--workspace", required=True)
    manual.add_argument("--name", required=True)
    manual.add_argument("--description", default="")
    manual.add_argument("--json", action="store_true")
    manual.set_defaults(run=_segment_create)


def _billing_commands(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], aws: argparse.ArgumentParser
) -> None:
    """nudge billing run, credit and usage."""
    billing = groups.add_parser("billing", help="billing runs, usage and credits").add_subparsers(
        dest="command", required=True
    )
    run = billing.add_parser(
        "run", parents=[aws], help="bill every workspace whose period ended by --at (idempotent)"
    )
    run.add_argument("--at", help="YYYY-MM-DD (default: today)")
    run.add_argument("--json", action="store_true")
    run.set_defaults(run=_billing_run)
    credit = billing.add_parser(
        "credit", parents=[aws], help="credit an invoice within its three-month grace period"
    )
    credit.add_argument("--workspace", required=True)
    credit.add_argument("--invoice", required=True)
    credit.add_argument("--amount-cents", type=int, required=True)
    credit.add_argument("--reason", required=True)
    credit.set_defaults(run=_billing_credit)
    usage = billing.add_parser(
        "usage", parents=[aws], help="this period's usage and the estimated invoice, as JSON"
    )
    usage.add_argument("--workspace", required=True)
    usage.set_defaults(run=_billing_usage)


def _user_commands(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], aws: argparse.ArgumentParser
) -> None:
    """nudge user add: the web console's users."""
    user = groups.add_parser("user", help="manage the web console's users").add_subparsers(
        dest="command", required=True
    )
    user_add = user.add_parser(
        "add",
        parents=[aws],
        help="make someone a member of a workspace with a role (creates their console user, if new)",
    )
    user_add.add_argument("--email", required=True)
    user_add.add_argument("--workspace", required=True, help="workspace id")
    user_add.add_argument("--role", required=True, choices=LABELS, help="what they may do in the workspace")
    user_add.add_argument("--json", action="store_true", help="print email, workspace_id, role, password")
    user_add.set_defaults(run=_user_add)


def _tables_commands(
    groups: argparse._SubParsersAction[argparse.ArgumentParser], aws: argparse.ArgumentParser
) -> None:
    """nudge tables create."""
    tables = groups.add_parser("tables", help="manage tables outside CDK").add_subparsers(
        dest="command", required=True
    )
    tables.add_parser(
        "create", parents=[aws], help="create any missing table (local runtime, development)"
    ).set_defaults(run=_tables_create)


def _local_commands(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """nudge local (the whole platform on this machine) and nudge demo."""
    local = groups.add_parser("local", help="run the whole platform on this machine (moto underneath)")
    local.add_argument("--port", type=int, default=4000)
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed certificate")
    local.add_argument(
        "--state-dir",
        default=".nudge",
        help="the state (kept across restarts), outbox, certificate and local.json live here",
    )
    local.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="run waits this many times faster (86400: a day per second)",
    )
    local.add_argument("--no-demo", action="store_true", help="do not seed the demo campaigns")
    local.add_argument(
        "--reset", action="store_true", help="forget the state and outbox kept in --state-dir and start empty"
    )
    local.add_argument(
        "--console", metavar="DIR", help="serve this folder (a web console's build) under /console/"
    )
    local.set_defaults(run=_local)
    demo = groups.add_parser("demo", help="track sample people against a running local runtime")
    demo.add_argument("--state-dir", default=".nudge", help="where the runtime's local.json is")
    demo.add_argument("--watch", type=float, default=30.0, help="seconds to wait for the emails")
    demo.set_defaults(run=_demo)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    target = AwsTarget(None, "AWS")
    try:
        if getattr(args, "targets_aws", False):
            target = target_aws(Path(args.state_dir))
        args.run(args)
    except NudgeError as exc:
        print(f"nudge: {exc}", file=sys.stderr)
        return 2
    except (PynamoDBException, BotoCoreError) as exc:
        problem = aws_problem(exc, target)
        if problem is None:
            raise
        print(f"nudge: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
