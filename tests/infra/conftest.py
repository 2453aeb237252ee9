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
from infra.config import REPO_ROOT, DeployConfig, table_env_var
from nudge.model import TABLE_MODELS

# The logical id CDK gives the stack's one BucketDeployment handler (its construct id without the colons).
DEPLOY_HANDLER_PREFIX = "CustomCDKBucketDeployment"


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Synthesized:
    template: Template
    resources: dict[str, dict[str, Any]]
    assembly_dir: Path
    template_file: Path
    config: DeployConfig

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {name: r for name, r in self.resources.items() if r["Type"] == resource_type}

    def one_of_type(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        found = self.of_type(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def functions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Service name (``POWERTOOLS_SERVICE_NAME``) -> the function's logical id and resource: Nudge's
        own, not the handler CDK adds to deploy the console's files (``deploy_handlers``)."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, resource in self.of_type("AWS::Lambda::Function").items():
            if name in self.deploy_handlers():
                continue
            service = resource["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
            assert service not in found, f"two functions named {service}"
            found[service] = (name, resource)
        return found

    def deploy_handlers(self) -> dict[str, dict[str, Any]]:
        """CDK's BucketDeployment handler (one per stack), which uploads the console's build at deploy."""
        return {
            name: resource
            for name, resource in self.of_type("AWS::Lambda::Function").items()
            if name.startswith(DEPLOY_HANDLER_PREFIX)
        }

    def deploy_handler_resources(self) -> set[str]:
        """The deploy handler, its role and the policies attached to it: CDK's, not Nudge's (they are
        checked in test_console_site)."""
        roles = {str(r["Properties"]["Role"]["Fn::GetAtt"][0]) for r in self.deploy_handlers().values()}
        return (
            set(self.deploy_handlers())
            | roles
            | {
                logical_id
                for logical_id, policy in self.of_type("AWS::IAM::Policy").items()
                if roles & {ref["Ref"] for ref in policy["Properties"]["Roles"]}
            }
        )

    def function(self, service: str) -> tuple[str, dict[str, Any]]:
        return self.functions()[service]

    def role_of(self, service: str) -> str:
        """The logical id of a function's role."""
        return str(self.function(service)[1]["Properties"]["Role"]["Fn::GetAtt"][0])

    def variables(self, service: str) -> dict[str, Any]:
        """A function's environment variables."""
        return dict(self.function(service)[1]["Properties"]["Environment"]["Variables"])

    def table_ids(self) -> dict[str, str]:
        """Logical table name -> CloudFormation logical id, through the variables the functions read
        (every table is told to some function, and every function names it by the same table)."""
        ids: dict[str, str] = {}
        for _, function in self.functions().values():
            variables = function["Properties"]["Environment"]["Variables"]
            for name in TABLE_MODELS:
                if table_env_var(name) in variables:
                    logical_id = variables[table_env_var(name)]["Ref"]
                    assert ids.setdefault(name, logical_id) == logical_id, f"two {name} tables"
        assert sorted(ids) == sorted(TABLE_MODELS), "a table no function is told of"
        return ids

    def policy_statements(self) -> list[dict[str, Any]]:
        """Every statement of every role's policies."""
        return [s for role_id in self.of_type("AWS::IAM::Role") for s in self.role_statements(role_id)]

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """Every policy statement attached to one role."""
        statements = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        for inline in self.resources[role_id]["Properties"].get("Policies", []):
            statements.extend(inline["PolicyDocument"]["Statement"])
        return statements


def synthesize(tmp_path_factory: pytest.TempPathFactory, **overrides: Any) -> Synthesized:
    """The app synthesized with cdk.json's context, and ``overrides`` on top."""
    # A failing cdk-nag check makes this synth raise, with the report in the message.
    app, stack = create_app(
        build_dir=tmp_path_factory.mktemp("build"),
        with_dependencies=False,
        context={**cdk_json_context(), **overrides},
        outdir=str(tmp_path_factory.mktemp("cdk.out")),
    )
    assembly = app.synth()
    template = Template.from_stack(stack)
    return Synthesized(
        template=template,
        resources=template.to_json()["Resources"],
        assembly_dir=Path(assembly.directory),
        template_file=Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path),
        config=DeployConfig.from_context(app),
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory)


@pytest.fixture(scope="session")
def synthesized_with_push(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """With the optional parts of sending on: a push application and an SMS sender id (as ``-c`` gives
    them, in text)."""
    return synthesize(tmp_path_factory, push_enabled="true", sms_sender_id="Nudge")
