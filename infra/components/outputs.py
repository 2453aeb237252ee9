"""Stack outputs declared by the construct they describe."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import IConstruct


def output(construct: IConstruct, name: str, value: str, description: str) -> CfnOutput:
    """An output of ``construct``'s stack, declared where what it names is made. Its scope is the stack,
    so ``name`` stays its logical id (operators and scripts read outputs by it)."""
    return CfnOutput(Stack.of(construct), name, value=value, description=description)
