"""Synthesize the app once per session, in-process, exactly as ``cdk synth`` would but without pip."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Read by the jsii Node process, which starts on the first aws_cdk import.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from infra.app import create_app
from infra.config import REPO_ROOT, DeployConfig


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])


@dataclass(frozen=True)
class Synthesized:
    template: Template
    resources: dict[str, dict[str, Any]]
    assembly_dir: Path
    config: DeployConfig

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == resource_type}

    def one_of_type(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    # A failing cdk-nag check makes this synth raise, with the report in the message.
    app, stack = create_app(
        build_dir=tmp_path_factory.mktemp("build"),
        with_dependencies=False,
        context=cdk_json_context(),
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
    )
    assembly = app.synth()
    template = Template.from_stack(stack)
    return Synthesized(
        template=template,
        resources=template.to_json()["Resources"],
        assembly_dir=Path(assembly.directory),
        config=DeployConfig.from_context(app),
    )
