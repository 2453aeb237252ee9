"""The two layers every function shares: the domain package and its third-party dependencies."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME


class SharedLayers(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, domain_dir: Path, dependencies_dir: Path
    ) -> None:
        super().__init__(scope, construct_id)
        # Separate layers: the domain package changes with every commit, the dependencies rarely, so a
        # deploy re-uploads only the small one.
        self.domain = self._layer("Domain", domain_dir, "Nudge domain package (nudge.*)")
        self.dependencies = self._layer("Dependencies", dependencies_dir, "Third-party runtime dependencies")

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.domain]

    def _layer(self, construct_id: str, folder: Path, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            construct_id,
            code=lambda_.Code.from_asset(str(folder)),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[LAMBDA_ARCHITECTURE],
            description=description,
        )
