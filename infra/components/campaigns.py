"""Campaign workflows in Step Functions: the role every campaign state machine runs as, the log group
their executions log errors to, and the broadcast fan-out machine, deployed once by the stack.

A campaign's own state machine is not in this stack: the App API creates it when the campaign goes live
(``nudge.campaigns.step_functions.AwsWorkflows``), named ``nudge-<stage>-<workspace>-<campaign>``, and
publishes a version on every activation that changed the definition. So the grants below name those
machines by that prefix, never by resource, and the stack keeps no reference to them:

- ``grant_deploy`` (the App API): create, describe and update the stage's campaign machines and publish
  their versions, pass this role to Step Functions (and to nothing else), start the broadcast machine;
  and the environment ``AwsWorkflows`` and the compiler read.
- ``grant_start_campaigns`` (evaluation, the sweep, the campaigns function): start executions of the
  stage's campaign machines, whose versions the same prefix covers (Step Functions authorizes a version
  ARN against its state machine's ARN).

The broadcast machine gets a name CloudFormation generates (it starts with its logical id), outside the
``nudge-<stage>-`` prefix: the App API's right to update campaign machines does not reach it.
"""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import ArnFormat, CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.components.outputs import output
from infra.config import DeployConfig
from infra.nag import acknowledge
from nudge.campaigns import broadcast_machine
from nudge.campaigns.compiler import FUNCTION_ENV

# The permissions Step Functions documents for a state machine's role when its executions log to
# CloudWatch Logs (vended logs): the service sets up the delivery to the log group as the role. None of
# these actions takes a resource ARN.
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
# What going live takes (``AwsWorkflows.deploy``): look the machine up, create it or update it, publishing
# a version either way (``publish=True`` needs PublishStateMachineVersion besides Create or Update).
DEPLOY_ACTIONS = (
    "states:DescribeStateMachine",
    "states:CreateStateMachine",
    "states:UpdateStateMachine",
    "states:PublishStateMachineVersion",
)
START_ACTIONS = ("states:StartExecution",)
# A campaign message's delivery metrics (opened, clicked, bounced, ...: ``nudge.delivery.feedback``) are
# counted on its campaign and block (``nudge.campaigns.metrics.from_delivery``) by the functions that
# record them: a conditional update of a counters item, or its first put. Those items' partitions
# (``metrics_pk``: ``<ws>#c#<campaign>#metrics#<shard>``), and nothing else of the table.
METRICS_ACTIONS = ("dynamodb:UpdateItem", "dynamodb:PutItem")
METRICS_PARTITIONS = ("*#c#*#metrics#*",)
# The variables nudge.campaigns.step_functions and nudge.campaigns.compiler read.
STAGE_ENV = "NUDGE_STAGE"
ROLE_ENV = "NUDGE_CAMPAIGN_ROLE_ARN"
LOG_GROUP_ENV = "NUDGE_CAMPAIGN_LOG_GROUP_ARN"
BROADCAST_MACHINE_ENV = "NUDGE_BROADCAST_MACHINE_ARN"
CAMPAIGNS_FUNCTION_ENV = FUNCTION_ENV
# The placeholder the broadcast machine's definition carries for the campaigns function's ARN, filled in
# by CloudFormation (DefinitionSubstitutions).
_FUNCTION_PLACEHOLDER = "CampaignsFunctionArn"


def machine_prefix(stage: str) -> str:
    """What every campaign state machine's name starts with (``step_functions.machine_name``)."""
    return f"nudge-{stage}-"


class CampaignWorkflows(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        config: DeployConfig,
    ) -> None:
        """``function``: the campaigns function, which every Task state of every campaign machine, and
        the broadcast machine's, invokes."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.stage = config.stage
        self.function = function
        # Executions log at ERROR level without execution data: inputs and outputs carry people's
        # attributes and event data, which the logs must not.
        self.log_group = logs.LogGroup(self, "ExecutionLogs", retention=config.retention)

        # The one role of every campaign state machine and of the broadcast machine: invoke the campaigns
        # function (its versions and aliases too), and log.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"Nudge {config.stage} campaign state machines (campaigns function, error logs)",
        )
        function.grant_invoke(self.role)
        self.role.add_to_policy(iam.PolicyStatement(actions=list(LOG_DELIVERY_ACTIONS), resources=["*"]))
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Step Functions sets up the delivery of execution logs to CloudWatch Logs as the state "
            "machine's role, with the log delivery and resource policy actions its documentation lists; "
            "none of them takes a resource ARN, so IAM accepts only * for them.",
        )
        function_id = stack.resolve(stack.get_logical_id(cast(CfnResource, function.node.default_child)))
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
            "The campaigns function's own versions and aliases: the wildcard stops at that one function, "
            "the only thing campaign state machines may invoke.",
        )

        self.broadcast_machine = sfn.StateMachine(
            self,
            "BroadcastMachine",
            comment="Nudge broadcast fan-out, a page of recipients at a time (campaigns function)",
            definition_body=sfn.DefinitionBody.from_string(
                json.dumps(broadcast_machine.definition(f"${{{_FUNCTION_PLACEHOLDER}}}"))
            ),
            definition_substitutions={_FUNCTION_PLACEHOLDER: function.function_arn},
            state_machine_type=sfn.StateMachineType.STANDARD,
            role=self.role,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ERROR, include_execution_data=False
            ),
            tracing_enabled=False,
        )
        # CDK makes the machine depend on its role's policy (the first execution must find it) and on the
        # role, which cfn-lint rightly calls redundant next to the GetAtt.
        cast(CfnResource, self.broadcast_machine.node.default_child).add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["W3005"]}}
        )
        acknowledge(
            self.broadcast_machine,
            "AwsSolutions-SF1",
            "Executions log at ERROR level, without execution data: every state's input and output holds "
            "people's identifiers, attributes and trigger data, which must not reach the logs. Failed "
            "and timed-out executions alarm, and Step Functions keeps each execution's history.",
        )
        acknowledge(
            self.broadcast_machine,
            "AwsSolutions-SF2",
            "Nudge uses no X-Ray anywhere (no function is traced either), so a trace would stop at the "
            "machine; executions are followed through their history, the dashboard and the alarms.",
        )
        output(
            self,
            "BroadcastMachineArn",
            self.broadcast_machine.state_machine_arn,
            "Step Functions state machine that fans campaign broadcasts out",
        )
        output(
            self,
            "CampaignRoleArn",
            self.role.role_arn,
            "Role every campaign state machine runs as (invokes the campaigns function only)",
        )

    @property
    def machines_arn(self) -> str:
        """Every campaign state machine of this stage, and (after a colon) their versions."""
        return Stack.of(self).format_arn(
            service="states",
            resource="stateMachine",
            resource_name=f"{machine_prefix(self.stage)}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def grant_start_campaigns(self, function: lambda_.Function) -> iam.Grant:
        """Start executions of this stage's campaign state machines (on their versions)."""
        grant = iam.Grant.add_to_principal(
            grantee=function, actions=list(START_ACTIONS), resource_arns=[self.machines_arn]
        )
        self._acknowledge_machines_wildcard(function)
        return grant

    def grant_deploy(self, function: lambda_.Function) -> None:
        """What the App API needs to take campaigns live: deploy their state machines as this role,
        logging here, with Task states invoking the campaigns function, and start broadcasts."""
        iam.Grant.add_to_principal(
            grantee=function, actions=list(DEPLOY_ACTIONS), resource_arns=[self.machines_arn]
        )
        # The role goes to Step Functions only: the App API can hand it to nothing else.
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
            )
        )
        self.broadcast_machine.grant_start_execution(function)
        self._acknowledge_machines_wildcard(function)
        for name, value in {
            STAGE_ENV: self.stage,
            CAMPAIGNS_FUNCTION_ENV: self.function.function_arn,
            ROLE_ENV: self.role.role_arn,
            # The log group's ARN attribute ends in ":*", which is the form Step Functions takes.
            LOG_GROUP_ENV: self.log_group.log_group_arn,
            BROADCAST_MACHINE_ENV: self.broadcast_machine.state_machine_arn,
        }.items():
            function.add_environment(name, value)

    def _acknowledge_machines_wildcard(self, function: lambda_.Function) -> None:
        role = function.role
        if role is None:
            raise ValueError("campaign state machine grants go to a function's role")
        # How cdk-nag names the resource: the ARN with its pseudo parameters (environment-agnostic stack).
        resource = (
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:"
            f"{machine_prefix(self.stage)}*"
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{resource}]",
            "Campaign state machines are created at run time, one per campaign, named "
            f"{machine_prefix(self.stage)}<workspace>-<campaign>: the wildcard stops at this stage's "
            "prefix and covers their published versions, never the broadcast machine or another stage.",
        )
