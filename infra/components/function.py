"""A Python Lambda function with its own role and log group, so least privilege starts from nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import LAMBDA_ARCHITECTURE, LAMBDA_PYTHON_VERSION, LAMBDA_RUNTIME, DeployConfig
from infra.nag import acknowledge
from nudge.delivery import telemetry


@dataclass(frozen=True)
class FunctionCode:
    """What a function runs: its folder, its handler in it, and the layers beside it."""

    code_dir: Path
    layers: Sequence[lambda_.ILayerVersion]
    handler: str = "handler.handler"


class ServiceFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: FunctionCode,
        environment: Mapping[str, str],
        config: DeployConfig,
        sized_as: str,
    ) -> None:
        """Named ``construct_id`` in lower case (its service name); its memory and timeout are the
        config's ``<sized_as>_memory_mb`` and ``<sized_as>_timeout_seconds``."""
        super().__init__(scope, construct_id)
        service_name = construct_id.lower()
        self.service_name = service_name
        self.log_group = logs.LogGroup(self, "Logs", retention=config.retention)
        # An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which may write to
        # any log group in the account: this one writes to its own group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Nudge {service_name} function",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            code=lambda_.Code.from_asset(str(code.code_dir)),
            handler=code.handler,
            layers=list(code.layers),
            role=self.role,
            log_group=self.log_group,
            memory_size=int(getattr(config, f"{sized_as}_memory_mb")),
            timeout=Duration.seconds(int(getattr(config, f"{sized_as}_timeout_seconds"))),
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "LOG_LEVEL": config.log_level,
                # Where the functions' own metrics (EMF in their logs) are published.
                telemetry.NAMESPACE_ENV: telemetry.NAMESPACE,
                **environment,
            },
        )
        # CDK makes the function depend on its role's policy (which matters: the first invocation must
        # find its permissions) and on the role, which cfn-lint rightly calls redundant next to the GetAtt.
        cfn_function = cast(CfnResource, self.function.node.default_child)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            f"Pinned to Python {LAMBDA_PYTHON_VERSION}: the dependency layer's compiled wheels are built "
            "for that CPython (infra/config.py); moving runtime is a deliberate change made together.",
        )
