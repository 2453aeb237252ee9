"""Deployment settings: context keys, defaults and validation."""

from __future__ import annotations

from dataclasses import fields

import pytest
from aws_cdk import App

from infra.config import DeployConfig
from tests.infra.conftest import cdk_json_context

pytestmark = pytest.mark.infra


def test_cdk_json_sets_only_keys_the_app_reads() -> None:
    known = {field.name for field in fields(DeployConfig)}
    ours = {key for key in cdk_json_context() if not key.startswith("@")}  # "@..." are CDK feature flags

    assert ours <= known


def test_defaults_apply_when_context_is_empty() -> None:
    assert DeployConfig.from_context(App()) == DeployConfig()


def test_command_line_context_arrives_as_text_and_is_converted() -> None:
    config = DeployConfig.from_context(App(context={"throttle_rate": "250", "throttle_burst": "40"}))

    assert (config.throttle_rate, config.throttle_burst) == (250.0, 40)


def test_every_function_is_sized_from_context() -> None:
    context = {
        f"{name}_{setting}": value
        for name in ("track", "api", "evaluate", "sweep", "billing")
        for setting, value in (("memory_mb", "1024"), ("timeout_seconds", "30"))
    }
    config = DeployConfig.from_context(App(context=context))

    assert {getattr(config, key) for key in context if key.endswith("_memory_mb")} == {1024}
    assert {getattr(config, key) for key in context if key.endswith("_timeout_seconds")} == {30}


def test_stage_names_the_stack() -> None:
    assert DeployConfig.from_context(App(context={"stage": "prod"})).stack_name == "Nudge-prod"


@pytest.mark.parametrize(
    "context",
    [
        {"log_retention": "FOREVER_AND_A_DAY"},
        {"throttle_rate": "0"},
        {"stage": "dev/test"},
        {"evaluate_memory_mb": "64"},
        {"api_timeout_seconds": "0"},
        {"sweep_timeout_seconds": "901"},
        {"billing_memory_mb": "10241"},
    ],
)
def test_invalid_context_is_refused(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="context"):
        DeployConfig.from_context(App(context=context))
