"""A Python Lambda function with its own role and log group, so least privilege starts from nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


class ServiceFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        service_name: str,
        handler: str = "handler.handler",
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        config: DeployConfig,
        memory_mb: int,
        timeout_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
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
            code=lambda_.Code.from_asset(str(code_dir)),
            handler=handler,
            layers=list(layers),
            role=self.role,
            log_group=self.log_group,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_seconds),
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
