"""``nudge local``: the whole platform on one machine.

moto underneath (in-process for the runtime's own clients, a server for everyone else); on top, the real
handlers behind an HTTP gateway that serves the deployed API's routes, a stream pump feeding the evaluate
handler, a scheduler, Step Functions on moto's engine and an outbox. State lives in moto's memory and in
the state directory: a snapshot of it (``persistence``, at most a second old) is loaded at start, so a
restart carries on where the last run stopped; ``--reset`` starts empty. The outbox and the TLS
certificate are files there too.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nudge import console_site, settings
from nudge_tools.local.embedded_aws import REGION, EmbeddedAws
from nudge_tools.local.static import StaticSite

if TYPE_CHECKING:
    from nudge_tools.local import persistence

log = logging.getLogger("nudge.local")


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 4000
    tls: bool = False
    state_dir: Path = Path(".nudge")
    time_scale: float = 1.0
    demo: bool = True  # seed the local workspace with a demo segment, templates and campaigns
    reset: bool = False  # forget the state stored in state_dir and start empty
    console_dir: Path | None = None  # a web console's build, served under CONSOLE_PREFIX


CONSOLE_PREFIX = console_site.PREFIX
LOCAL_ADMIN_EMAIL = "admin@nudge.local"  # the console user a first start creates, an admin of the workspace


class PortInUse(Exception):
    pass


class LocalRuntime:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.state_dir = options.state_dir.resolve()
        self.aws = EmbeddedAws()
        self.contract: dict[str, Any] = {}
        self._closers: list[Callable[[], None]] = []

    # --- start ---------------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Start everything; returns the contract written to ``<state-dir>/local.json``."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        from nudge_tools.local import persistence

        if self.options.reset:
            persistence.reset(self.state_dir)
        # First: a snapshot that cannot be read stops the start before anything has changed.
        snapshot = persistence.load(self.state_dir)
        contract_path = self.state_dir / "local.json"
        contract_path.unlink(missing_ok=True)  # written again only once this run is ready
        tls = self._tls_context() if self.options.tls else None
        # Checked before anything starts: a console folder without index.html is a typo, not a choice.
        console = StaticSite(CONSOLE_PREFIX, self.options.console_dir) if self.options.console_dir else None
        gateway_factory = self._bind_gateway(tls, console)  # fail fast on a busy port, before moto starts

        self._configure_process(snapshot)
        self.aws.start()
        self._closers.append(self.aws.stop)
        persistence.TRACKER.install()  # after the speed-ups: its lock is taken before theirs
        self._closers.append(persistence.TRACKER.uninstall)
        if snapshot is not None:
            persistence.restore_tables(REGION, snapshot.tables)
            if snapshot.user_pools is not None:
                from nudge_tools.local import console_users

                console_users.restore_pools(REGION, snapshot.user_pools)
        streams = self.aws.create_tables()  # creates only what the snapshot did not have
        # Before anything writes: what moto holds now is what the state on disk holds.
        table_changes = persistence.TableChanges(REGION, snapshot.tables if snapshot is not None else ())

        from nudge_tools.local.scheduler import Scheduler

        self.workspace = self._workspace(snapshot)
        self._console_user()
        self._install_outbox()
        self.scheduler = Scheduler(time_scale=self.options.time_scale)
        self.scheduler.start()
        self._closers.append(self.scheduler.stop)
        self.progress = persistence.StreamProgress()
        self.pumps = self._start_pumps(streams)
        self.exports = self._start_exports()
        self.reporting = self._start_reporting()
        self.stepfunctions = self._start_stepfunctions()
        if snapshot is not None:
            self._resume(snapshot)
        self._schedule_what_eventbridge_fires()
        if self.options.demo and snapshot is None:  # a restored workspace has its demo already
            from nudge_tools.local import demo

            self.demo = demo.seed(self.workspace["workspace_id"])
        self.saver = self._saver(snapshot, table_changes)
        self.saver.start(restored=snapshot is not None)  # the keys are on disk before local.json tells
        gateway = gateway_factory()
        thread = threading.Thread(target=gateway.serve_forever, name="nudge-gateway", daemon=True)
        thread.start()
        self._closers.append(self._save_and_quiesce)  # once the gateway has stopped taking requests
        self._closers.append(gateway.server_close)
        self._closers.append(gateway.shutdown)

        scheme = "https" if tls else "http"
        base = f"{scheme}://{self._display_host()}:{gateway.server_address[1]}"
        self.contract = self._contract(base)
        if tls:
            self.contract["tls_cert"] = str(self.state_dir / "tls" / "cert.pem")
        os.environ["NUDGE_TRACK_URL"] = base
        os.environ["NUDGE_LINKS_URL"] = base  # tracking links in messages point back at this gateway
        settings.reload()
        temporary = contract_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.contract, indent=2) + "\n")
        temporary.replace(contract_path)  # readers never see a half-written file
        return self.contract

    def _configure_process(self, snapshot: persistence.Snapshot | None) -> None:
        """Before any handler reads the time or the environment: the local clock (a restart continues it
        where it stopped), quiet logs, the link secret."""
        from nudge import clock
        from nudge_tools.local import persistence

        now = time.time()
        self._epoch = persistence.continued_epoch(self.options.time_scale, snapshot, now) or now
        clock.configure(self.options.time_scale, self._epoch)
        # The handlers' structured logs and metrics would drown the banner: warnings only, no EMF lines
        # (set these variables yourself to see them).
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        # Signs tracking links; kept with the state, so links in messages already sent keep working.
        os.environ.setdefault(
            "NUDGE_LINK_SECRET", snapshot.link_secret if snapshot else secrets.token_hex(32)
        )
        settings.reload()  # the handlers read the environment set here

    def _install_outbox(self) -> None:
        """Every channel sends to the outbox, which is kept with the state: it reads back the messages of
        earlier runs."""
        from nudge.delivery import channel_set
        from nudge_tools.local.outbox import Outbox
        from nudge_tools.local.outbox_channels import local_channels

        self.outbox = Outbox(self.state_dir / "outbox")
        channel_set.install(local_channels(self.outbox, None, REGION))  # None: moto in-process
        self._closers.append(lambda: channel_set.install(None))

    def _workspace(self, snapshot: persistence.Snapshot | None) -> dict[str, Any]:
        """The local workspace: created on a first start, else the snapshot's (its keys, stored hashed in
        moto, are kept there in the clear)."""
        from nudge import workspaces  # imported once this process's clients reach the embedded moto

        if snapshot is None:
            keys = workspaces.create_workspace("Local workspace", "essentials")
            from nudge.delivery import settings as delivery_settings

            delivery_settings.start_new_workspace(keys.workspace_id)  # a new workspace writes Liquid
            return {
                "workspace_id": keys.workspace_id,
                "site_id": keys.site_id,
                "track_api_key": keys.track_api_key,
                "app_api_key": keys.app_api_key,
                "cdp_api_key": keys.cdp_api_key,
            }
        workspace = dict(snapshot.workspace)  # the keys stored hashed; the snapshot has them
        if "cdp_api_key" not in workspace:
            # State saved before Pipelines keys existed: the workspace gets one now, kept from here on.
            issued = workspaces.create_key(workspace["workspace_id"], "cdp", workspaces.DEFAULT_KEY_NAME)
            assert issued.secret is not None
            workspace["cdp_api_key"] = issued.secret
        return workspace

    def _saver(
        self, snapshot: persistence.Snapshot | None, table_changes: persistence.TableChanges
    ) -> persistence.Saver:
        from nudge_tools.local import console_users, persistence

        parts = persistence.RuntimeParts(
            meta=lambda: (self.workspace, os.environ["NUDGE_LINK_SECRET"], self.workflows.machines()),
            executions=lambda: persistence.running_executions(REGION, self.local_time),
            trim_points=self.progress.trim_points,
            local_clock=self.local_time,
            user_pools=lambda: console_users.dump_pools(REGION),
        )
        return persistence.Saver(
            self.state_dir,
            table_changes,
            parts=parts,
            sequence=snapshot.sequence if snapshot is not None else 0,
        )

    def _contract(self, base: str) -> dict[str, Any]:
        """What ``local.json`` tells clients: the URLs, the workspace's keys, the console's user."""
        return {
            "console_url": f"{base}{CONSOLE_PREFIX}",
            "console_email": self.workspace["console_email"],
            "console_password": self.workspace["console_password"],
            "console_user_pool_id": self.workspace["console_user_pool_id"],
            "console_user_pool_client_id": self.workspace["console_user_pool_client_id"],
            "track_url": base,
            "app_url": base,
            "site_id": self.workspace["site_id"],
            "track_api_key": self.workspace["track_api_key"],
            "app_api_key": self.workspace["app_api_key"],
            "cdp_api_key": self.workspace["cdp_api_key"],
            "workspace_id": self.workspace["workspace_id"],
            "aws_endpoint_url": self.aws.endpoint_url,
            "aws_region": REGION,
        }

    def _console_user(self) -> None:
        """The console's user pool, and on a first start one admin of the local workspace with a random
        password (kept with the state, like the workspace's keys, and written to local.json)."""
        from nudge.console_auth import members, users
        from nudge_tools.local import console_users

        stored = users.UserPool(
            self.workspace.get("console_user_pool_id", ""),
            self.workspace.get("console_user_pool_client_id", ""),
        )
        if console_users.pool_exists(REGION, stored):
            console_users.use(stored)
            if not members.list_members(self.workspace["workspace_id"]):
                # A state kept from before the console's own table: its members were in the workspaces
                # table. The admin is a member again, with the password local.json already shows.
                members.add(self.workspace["workspace_id"], LOCAL_ADMIN_EMAIL, "admin")
            return
        # A first start, or a state kept from before the console: its pool and admin are made now.
        pool = console_users.create_user_pool(REGION)
        console_users.use(pool)
        added = members.add(self.workspace["workspace_id"], LOCAL_ADMIN_EMAIL, "admin")
        # A user of that name in a new pool is always new, so Cognito has just given it a password.
        assert added.password is not None
        # Permanent for this one user: the operator's own, on their machine, written to local.json for
        # them alone (nobody else saw it), so `make run` signs straight in. Members added later get
        # temporary passwords, as deployed.
        console_users.make_permanent(REGION, pool, LOCAL_ADMIN_EMAIL, added.password)
        self.workspace.update(
            console_user_pool_id=pool.pool_id,
            console_user_pool_client_id=pool.client_id,
            console_email=LOCAL_ADMIN_EMAIL,
            console_password=added.password,
        )

    def local_time(self, real: float) -> float:
        """The local clock (``clock.now()``, unrounded) at wall-clock time ``real``."""
        from nudge_tools.local import persistence

        return persistence.local_time(self.options.time_scale, self._epoch, real)

    def _resume(self, snapshot: Any) -> None:
        """Deploy the stored state machines again and start every execution that was running where it
        was (a Wait with what was left of it)."""
        from nudge_tools.local import persistence

        self.workflows.restore(snapshot.machines)
        local_now = self.local_time(time.time())
        for execution in snapshot.executions:
            if execution.machine not in snapshot.machines:
                log.warning("not resuming %s: its state machine was not deployed by Nudge", execution.name)
                continue
            payload = persistence.resume_input(execution, self.options.time_scale, local_now)
            self.workflows.resume(execution.machine, execution.name, payload)

    def _save_and_quiesce(self) -> None:
        """The final snapshot of a clean stop: nothing feeds the handlers any more (the gateway stopped
        before this), executions still reach their handlers, and moto is still up."""
        for pump in self.pumps.values():
            pump.stop()
        self.scheduler.stop()
        self.saver.stop()

    def _display_host(self) -> str:
        return (
            "localhost"
            if self.options.host in ("127.0.0.1", "localhost") and self.options.tls
            else (self.options.host)
        )

    def _tls_context(self) -> ssl.SSLContext:
        from nudge_tools.local.certs import ensure_certificate

        cert, key = ensure_certificate(self.state_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    def _bind_gateway(self, tls: ssl.SSLContext | None, console: StaticSite | None) -> Callable[[], Any]:
        """Bind the port now (so a busy port is reported before anything starts) and build the gateway
        once the handlers can be imported."""
        import socket

        probe = socket.socket()
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((self.options.host, self.options.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {self.options.port} on {self.options.host} is already in use") from exc
            raise
        finally:
            probe.close()

        def build() -> Any:
            from nudge_tools.local.gateway import Gateway, json_page
            from nudge_tools.local.routing import api_routes, openapi_document

            pages = {
                "/_local/health": json_page(lambda: {"status": "ok"}),
                "/_local/status": json_page(self.status),
                "/_local/outbox": json_page(lambda: [m.to_json() for m in self.outbox.messages()]),
                "/_local/outbox.html": lambda: (
                    200,
                    "text/html; charset=utf-8",
                    self.outbox.render_html().encode(),
                ),
                "/openapi.json": json_page(openapi_document),
            }
            return Gateway(
                (self.options.host, self.options.port), api_routes(), pages, tls=tls, static=console
            )

        return build

    def _start_pumps(self, streams: dict[str, str]) -> dict[str, Any]:
        """One pump per consuming function, as the stack maps each table's stream to its function."""
        from nudge.model.tables import streamed_tables
        from nudge_tools.local.moto_speedups import STREAM_WRITES, InProcessStreams
        from nudge_tools.local.routing import load_handler
        from nudge_tools.local.streams import MappingSettings, StreamPump

        client = InProcessStreams(REGION)  # moto's shards read directly (see moto_speedups)
        pumps = {}
        for function in ("evaluate", "send"):
            tables = {name: streams[name] for name in streamed_tables(function)}
            # Reports how far it got, so a snapshot keeps only the stream records not yet delivered.
            handler = self.progress.consumer(
                f"nudge-{function}", _stream_starts(tables.values()), load_handler(function)
            )
            pump = StreamPump(
                client,
                tables,
                handler,
                region=REGION,
                # Woken by each record written (writes): no polling interval to wait out, the poll only the
                # longest sleep now.
                mapping=MappingSettings(function_name=f"nudge-{function}", poll_seconds=1.0),
                writes=STREAM_WRITES,
            )
            pump.start()
            self._closers.append(pump.stop)
            pumps[function] = pump
        return pumps

    def _start_exports(self) -> Any:
        """The exports bucket in moto and the worker behind its queue, as the stack's queue feeds the
        exports function."""
        from nudge_tools.local import exports_worker
        from nudge_tools.local.routing import load_handler

        worker = exports_worker.start(self.aws.endpoint_url, REGION, load_handler("exports"))
        self._closers.append(worker.stop)
        return worker

    def _start_reporting(self) -> Any:
        """The reporting webhooks' worker behind its queue, as the stack's queue feeds the reporting
        function; loopback endpoints allowed."""
        from nudge_tools.local import reporting_worker
        from nudge_tools.local.routing import load_handler

        worker = reporting_worker.start(load_handler("reporting"), self.options.time_scale)
        self._closers.append(worker.stop)
        return worker

    def _schedule_what_eventbridge_fires(self) -> None:
        """The stack's EventBridge schedules, on the local clock."""
        from nudge_tools.local.routing import load_handler

        sweep = load_handler("evaluate", "sweep")

        def sweep_rechecks() -> None:
            sweep({}, _context("nudge-segment-rechecks"))

        # EventBridge sweeps every minute; a fast local clock would make that many times a real second,
        # so locally it is at most once per real second (re-checks then land within a second).
        interval = max(60.0, self.options.time_scale)
        self.scheduler.every(interval, "segment re-checks", sweep_rechecks)

        release = load_handler("send", "release_scheduled")

        def release_scheduled() -> None:
            release({}, _context("nudge-release-scheduled"))

        self.scheduler.every(interval, "scheduled deliveries", release_scheduled)

        bill = load_handler("billing")

        def billing_run() -> None:
            from datetime import UTC, datetime

            from nudge import clock

            at = datetime.fromtimestamp(clock.now(), UTC).isoformat()
            bill({"time": at, "source": "aws.events"}, _context("nudge-billing"))

        # Daily, like the stack's 00:05 UTC rule; it runs once at start too, which is harmless: runs are
        # idempotent and bill only periods that ended.
        self.scheduler.every(86400, "billing run (daily)", billing_run, first_after=0)

    def _start_stepfunctions(self) -> Any:
        from nudge_tools.local.routing import local_functions
        from nudge_tools.local.stepfunctions import LocalStepFunctions

        engine = LocalStepFunctions(
            self.aws.endpoint_url, REGION, local_functions(), time_scale=self.options.time_scale
        )
        self._closers.append(engine.close)
        from nudge.campaigns import step_functions
        from nudge_tools.local.campaign_workflows import LocalWorkflows

        # Campaign activations deploy, and triggers start executions, on this engine.
        self.workflows = LocalWorkflows(engine)
        step_functions.install(self.workflows)
        self._closers.append(lambda: step_functions.install(None))
        return engine

    # --- run and stop --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        from nudge import clock

        return {
            "streams": {name: pump.status() for name, pump in self.pumps.items()},
            "exports": self.exports.status(),
            "reporting_webhooks": self.reporting.status(),
            "schedules": self.scheduler.status(),
            "outbox": len(self.outbox.messages()),
            "time_scale": self.options.time_scale,
            "now": clock.now(),  # the local clock, which --time-scale makes run faster than the wall's
            "state": self.saver.status(),
        }

    def banner(self) -> str:
        c = self.contract
        served = "" if self.options.console_dir else "  (not served: start with --console DIR, or make run)"
        lines = [
            f"  Console         {c['console_url']}{served}",
            f"  console sign-in {c['console_email']} / {c['console_password']}",
            "Nudge local runtime is ready. Its state is kept in the state directory: stop it (Ctrl-C) and"
            " start it again to carry on; --reset starts empty.",
            f"  Track API       {c['track_url']}",
            f"  App API         {c['app_url']}",
            f"  site id         {c['site_id']}",
            f"  track api key   {c['track_api_key']}",
            f"  app api key     {c['app_api_key']}",
            f"  pipelines key   {c['cdp_api_key']}  (the Pipelines API: POST /v1/batch, /v1/identify, ...)",
            f"  workspace id    {c['workspace_id']}",
            f"  AWS endpoint    {c['aws_endpoint_url']} ({c['aws_region']})",
            f"  outbox          {c['track_url']}/_local/outbox.html  ({self.state_dir / 'outbox'})",
            f"  time scale      {self.options.time_scale:g}x: waits pass {self.options.time_scale:g} times"
            " faster (--time-scale)",
            f"  contract        {self.state_dir / 'local.json'}",
            f"  state           {self.state_dir / 'state'}",
        ]
        if "tls_cert" in c:
            lines.append(f"  TLS certificate {c['tls_cert']} (self-signed: trust it with --cacert)")
        cacert = f" --cacert {c['tls_cert']}" if "tls_cert" in c else ""
        lines += [
            "Try it:",
            f"  curl{cacert} -u {c['site_id']}:{c['track_api_key']} -X PUT"
            f" {c['track_url']}/api/v1/customers/ann -H 'content-type: application/json'"
            """ -d '{"email":"ann@example.com","plan":"pro"}'""",
        ]
        return "\n".join(lines)

    def stop(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def _stream_starts(stream_arns: Any) -> dict[str, int]:
    """Table name -> the first sequence number in its stream now (what a pump has yet to deliver)."""
    from nudge_tools.local import persistence

    starts = {}
    for arn in stream_arns:
        table = persistence.table_of_stream(arn)
        first = persistence.stream_start(REGION, table)
        if first is not None:
            starts[table] = first
    return starts


def _context(function_name: str) -> Any:
    from nudge_tools.local.apigw import LocalContext

    return LocalContext(function_name=function_name)


def main(options: Options) -> int:
    logging.basicConfig(level=logging.WARNING, format="nudge local: %(message)s")
    # moto's embedded server logs every request it serves (the stream pump polls many times a second).
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").addFilter(
        _handled_path_checks
    )
    runtime = LocalRuntime(options)
    try:
        runtime.start()
    except PortInUse as exc:
        print(f"nudge local: {exc} (choose another with --port)", file=sys.stderr)
        return 1
    print(runtime.banner(), flush=True)

    signals: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        # A handler runs in the main thread between two of its bytecodes, possibly inside a lock's
        # acquire: it must take no lock itself (setting an Event did, and a second Ctrl-C, or a signal
        # relayed twice, deadlocked the process), so it only records the signal.
        signals.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not signals:
        time.sleep(0.2)  # a signal cuts the sleep short, and the handler runs at once (PEP 475)
    print("nudge local: stopping", flush=True)
    # Ctrl-C must always end the process: if a component hangs while closing, say so and leave anyway.
    watchdog = threading.Timer(STOP_TIMEOUT_SECONDS, _give_up_stopping)
    watchdog.daemon = True
    watchdog.start()
    runtime.stop()
    watchdog.cancel()
    return 0


STOP_TIMEOUT_SECONDS = 20.0


def _handled_path_checks(record: logging.LogRecord) -> bool:
    """moto's ASL engine logs at ERROR every exception it evaluates, also the missing path an ``IsPresent``
    rule is there to test (every resumable journey's first state): those are not errors, so not shown."""
    args = record.args
    return not (isinstance(args, tuple) and args and str(args[0]).startswith("Exception=NoSuchJsonPathError"))


def _give_up_stopping() -> None:
    print(f"nudge local: components did not stop within {STOP_TIMEOUT_SECONDS:g} s; exiting", flush=True)
    os._exit(1)
