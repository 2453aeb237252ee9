"""The Nudge stack: a thin composition of one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.build import BuiltAssets
from infra.components.function import ServiceFunction
from infra.components.layers import SharedLayers
from infra.components.tables import DataTables
from infra.components.track_api import TrackApi
from infra.config import PROJECT, DeployConfig
from nudge.model import TABLE_MODELS
from nudge.tracking.routes import ROUTES

# The Track API authenticates against workspace credentials (read only) and writes everything else.
TRACK_READS = frozenset({"workspaces"})
TRACK_WRITES = frozenset({"people", "events", "objects", "segments"})


class NudgeStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, assets: BuiltAssets, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", PROJECT)
        Tags.of(self).add("stage", config.stage)

        self.tables = DataTables(self, "Tables", models=TABLE_MODELS)
        layers = SharedLayers(
            self, "Layers", domain_dir=assets.domain_layer, dependencies_dir=assets.dependencies_layer
        )

        self.track = ServiceFunction(
            self,
            "Track",
            code_dir=assets.functions["track"],
            service_name="track",
            layers=layers.all,
            environment=self.tables.environment(TRACK_READS | TRACK_WRITES),
            config=config,
            memory_mb=config.track_memory_mb,
            timeout_seconds=config.track_timeout_seconds,
        )
        self.tables.grant(self.track.function, read_only=TRACK_READS, read_write=TRACK_WRITES)

        self.track_api = TrackApi(
            self,
            "TrackApi",
            handler=self.track.function,
            routes=[(route.method, route.path) for route in ROUTES],
            config=config,
        )
        CfnOutput(self, "TrackApiUrl", value=self.track_api.url, description="Base URL of the Track API")
