"""The Nudge stack: a thin composition of one construct per concern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.build import BuiltAssets
from infra.components.evaluation import StreamEvaluation
from infra.components.function import ServiceFunction
from infra.components.http_api import ApiBackend, HttpApi
from infra.components.layers import SharedLayers
from infra.components.schedule import Daily, EveryMinute
from infra.components.tables import DataTables
from infra.config import PROJECT, DeployConfig
from nudge.api.routes import ROUTES as APP_ROUTES
from nudge.model import TABLE_MODELS
from nudge.tracking.routes import ROUTES as TRACK_ROUTES

# The tables each function reads and writes, from the code it runs. A function is told the names of
# exactly these tables and granted nothing else.
#
# Track: authenticates against workspace credentials (read only) and writes everything else.
TRACK_READS = frozenset({"workspaces"})
TRACK_WRITES = frozenset({"people", "events", "objects", "segments"})
# App API: authenticates app keys against workspaces; reads people (profiles, identifier look-ups,
# devices); writes segments (definitions, the dependency index, manual memberships) and billing (asking
# for this period's usage opens the workspace's first period, and its opening invoice, if absent).
API_READS = frozenset({"workspaces", "people"})
API_WRITES = frozenset({"segments", "billing"})
# Evaluation from the streams: reads a person's profile and devices, events, objects and relationships,
# and a workspace's billing anchor; writes memberships, re-checks and backfill progress to segments, and
# usage metering (counters, identities, once-only markers) to billing.
EVALUATION_READS = frozenset({"workspaces", "people", "events", "objects"})
EVALUATION_WRITES = frozenset({"segments", "billing"})
# The re-check sweep runs the evaluate function's code but only the segment re-checks, which never meter
# usage: evaluation's segment access alone (memberships, re-checks, the sweep's bookmark).
SWEEP_READS = frozenset({"people", "events", "objects"})
SWEEP_WRITES = frozenset({"segments"})
# The daily billing run: scans workspaces (read only); reads usage counters and credits, and writes
# periods, invoices and applied credits, all in billing.
BILLING_READS = frozenset({"workspaces"})
BILLING_WRITES = frozenset({"billing"})


class NudgeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, assets: BuiltAssets, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", PROJECT)
        Tags.of(self).add("stage", config.stage)
        self.config = config

        self.tables = DataTables(self, "Tables", models=TABLE_MODELS)
        self.layers = SharedLayers(
            self, "Layers", domain_dir=assets.domain_layer, dependencies_dir=assets.dependencies_layer
        )

        self.track = self._service(
            "Track",
            code_dir=assets.functions["track"],
            reads=TRACK_READS,
            writes=TRACK_WRITES,
            memory_mb=config.track_memory_mb,
            timeout_seconds=config.track_timeout_seconds,
        )
        self.app_api = self._service(
            "Api",
            code_dir=assets.functions["api"],
            reads=API_READS,
            writes=API_WRITES,
            memory_mb=config.api_memory_mb,
            timeout_seconds=config.api_timeout_seconds,
        )
        self.evaluate = self._service(
            "Evaluate",
            code_dir=assets.functions["evaluate"],
            reads=EVALUATION_READS,
            writes=EVALUATION_WRITES,
            memory_mb=config.evaluate_memory_mb,
            timeout_seconds=config.evaluate_timeout_seconds,
        )
        self.sweep = self._service(
            "Sweep",
            code_dir=assets.functions["evaluate"],
            handler="handler.sweep",
            reads=SWEEP_READS,
            writes=SWEEP_WRITES,
            memory_mb=config.sweep_memory_mb,
            timeout_seconds=config.sweep_timeout_seconds,
        )
        self.billing = self._service(
            "Billing",
            code_dir=assets.functions["billing"],
            reads=BILLING_READS,
            writes=BILLING_WRITES,
            memory_mb=config.billing_memory_mb,
            timeout_seconds=config.billing_timeout_seconds,
        )

        # One API for both: Customer.io's clients take the Track and App base URLs separately, and both
        # are this API's URL. (Its construct id predates the App routes; renaming it would replace the
        # API, and with it the URL every client is configured with.)
        self.api = HttpApi(
            self,
            "TrackApi",
            backends=[
                ApiBackend(
                    "Track",
                    self.track.function,
                    [(route.method, route.path) for route in TRACK_ROUTES],
                    "Customer.io's Track API authenticates with HTTP Basic (site id and API key) per "
                    "workspace: the function checks it against the hashed key on every request.",
                ),
                ApiBackend(
                    "App",
                    self.app_api.function,
                    [(route.method, route.path) for route in APP_ROUTES],
                    "Customer.io's App API authenticates with a Bearer app key per workspace: the function "
                    "looks the key's hash up in the workspaces table on every request.",
                ),
            ],
            config=config,
        )

        streamed = self.tables.streamed
        unreadable = streamed.keys() - (EVALUATION_READS | EVALUATION_WRITES)
        if unreadable:
            # The evaluate function tells a record's table by the table names it was given.
            raise ValueError(f"evaluation consumes streams of tables it is not given: {sorted(unreadable)}")
        self.stream_evaluation = StreamEvaluation(
            self, "StreamEvaluation", function=self.evaluate.function, tables=streamed
        )
        self.rechecks = EveryMinute(
            self, "SegmentRechecks", function=self.sweep.function, name="segment re-check sweep"
        )
        # 00:05 UTC, just after the day's period boundaries (periods start at midnight UTC). The run bills
        # as of its event's time and catches up on periods a missed day left open.
        self.billing_runs = Daily(
            self, "BillingRuns", function=self.billing.function, name="billing run", hour=0, minute=5
        )

        CfnOutput(self, "TrackApiUrl", value=self.api.url, description="Base URL of the Track API")
        CfnOutput(self, "AppApiUrl", value=self.api.url, description="Base URL of the App API (the same API)")

    def _service(
        self,
        construct_id: str,
        *,
        code_dir: Path,
        reads: frozenset[str],
        writes: frozenset[str],
        memory_mb: int,
        timeout_seconds: int,
        handler: str = "handler.handler",
    ) -> ServiceFunction:
        """A function told the names of exactly the tables it is granted, and granted nothing else."""
        service = ServiceFunction(
            self,
            construct_id,
            code_dir=code_dir,
            service_name=construct_id.lower(),
            handler=handler,
            layers=self.layers.all,
            environment=self.tables.environment(reads | writes),
            config=self.config,
            memory_mb=memory_mb,
            timeout_seconds=timeout_seconds,
        )
        self.tables.grant(service.function, read_only=reads, read_write=writes)
        return service
