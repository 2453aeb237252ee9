"""Deployment settings: context keys, defaults and validation."""

from __future__ import annotations

from dataclasses import fields

import pytest
from aws_cdk import App

from infra.config import SIZED_FUNCTIONS, DeployConfig
from tests.infra.conftest import cdk_json_context

pytestmark = pytest.mark.infra

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789abc"


def test_cdk_json_sets_only_keys_the_app_reads() -> None:
    known = {field.name for field in fields(DeployConfig)}
    ours = {key for key in cdk_json_context() if not key.startswith("@")}  # "@..." are CDK feature flags

    assert ours <= known


def test_defaults_apply_when_context_is_empty() -> None:
    assert DeployConfig.from_context(App()) == DeployConfig()


def test_command_line_context_arrives_as_text_and_is_converted() -> None:
    config = DeployConfig.from_context(App(context={"throttle_rate": "250", "throttle_burst": "40"}))

    assert (config.throttle_rate, config.throttle_burst) == (250.0, 40)


def test_cdk_json_sets_every_key_to_its_default() -> None:
    # The defaults live in DeployConfig; cdk.json spells them out for whoever tunes a stage, and must not
    # quietly differ.
    ours = {key: value for key, value in cdk_json_context().items() if not key.startswith("@")}

    assert DeployConfig.from_context(App(context=ours)) == DeployConfig()


def test_every_function_is_sized_from_context() -> None:
    context = {
        f"{name}_{setting}": value
        for name in SIZED_FUNCTIONS
        for setting, value in (("memory_mb", "1024"), ("timeout_seconds", "30"))
    }
    config = DeployConfig.from_context(App(context=context))

    assert {getattr(config, key) for key in context if key.endswith("_memory_mb")} == {1024}
    assert {getattr(config, key) for key in context if key.endswith("_timeout_seconds")} == {30}


def test_sending_defaults_send_nothing_optional() -> None:
    config = DeployConfig()

    assert (config.sender_domain, config.default_from) == ("example.com", "no-reply@example.com")
    assert (config.push_enabled, config.sms_sender_id) == (False, "")
    assert (config.send_memory_mb, config.send_timeout_seconds) == (512, 120)


def test_monitoring_defaults_alarm_before_ses_acts_and_email_nobody() -> None:
    config = DeployConfig()

    assert config.alarm_email == ""
    assert (config.iterator_age_alarm_seconds, config.api_5xx_alarm_rate) == (300, 0.01)
    # SES reviews an account at a 5% bounce rate and a 0.1% complaint rate: the alarms come first.
    assert (config.ses_bounce_alarm_rate, config.ses_complaint_alarm_rate) == (0.04, 0.0008)
    assert config.ses_bounce_alarm_rate < 0.05
    assert config.ses_complaint_alarm_rate < 0.001


def test_monitoring_context_arrives_as_text_and_is_converted() -> None:
    config = DeployConfig.from_context(
        App(
            context={
                "alarm_email": "ops@example.com",
                "iterator_age_alarm_seconds": "120",
                "api_5xx_alarm_rate": "0.05",
                "ses_bounce_alarm_rate": "0.03",
                "ses_complaint_alarm_rate": "0.0005",
            }
        )
    )

    assert config.alarm_email == "ops@example.com"
    assert (config.iterator_age_alarm_seconds, config.api_5xx_alarm_rate) == (120, 0.05)
    assert (config.ses_bounce_alarm_rate, config.ses_complaint_alarm_rate) == (0.03, 0.0005)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("1", True), ("0", False)],
)
def test_flags_read_json_booleans_and_command_line_text(raw: object, expected: bool) -> None:
    # bool("false") is True: a flag is read by what it says, not by whether it is empty.
    assert DeployConfig.from_context(App(context={"push_enabled": raw})).push_enabled is expected


def test_sender_domain_names_the_default_sender() -> None:
    config = DeployConfig.from_context(App(context={"sender_domain": "mail.example.org"}))

    assert config.default_from == "no-reply@mail.example.org"


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
        {"send_timeout_seconds": "901"},
        {"feedback_memory_mb": "64"},
        {"campaigns_timeout_seconds": "901"},
        {"push_enabled": "maybe"},
        {"sender_domain": "no-reply@example.com"},
        {"sender_domain": "Example.COM"},
        {"sender_domain": ""},
        {"sms_sender_id": "far too long for one"},
        {"alarm_email": "ops"},
        {"alarm_email": "ops@example.com, dev@example.com"},
        {"iterator_age_alarm_seconds": "0"},
        {"api_5xx_alarm_rate": "1.5"},
        {"ses_bounce_alarm_rate": "0"},
        {"ses_complaint_alarm_rate": "-0.001"},
        {"custom_domain": "track.example.com", "certificate_arn": "certificate/abc"},
        {"custom_domain": "Track.Example.com", "certificate_arn": CERTIFICATE},
        {"custom_domain": "https://track.example.com", "certificate_arn": CERTIFICATE},
        {"custom_domain": "*.example.com", "certificate_arn": CERTIFICATE},
        {"custom_domain": "track.example.com", "certificate_arn": CERTIFICATE.replace(":acm:", ":iam:")},
    ],
)
def test_invalid_context_is_refused(context: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="context"):
        DeployConfig.from_context(App(context=context))


# The custom domain


def test_there_is_no_custom_domain_by_default() -> None:
    config = DeployConfig()

    assert (config.custom_domain, config.certificate_arn, config.custom_url) == ("", "", None)


def test_a_custom_domain_with_its_certificate_gives_the_https_url() -> None:
    config = DeployConfig.from_context(
        App(context={"custom_domain": "track.example.com", "certificate_arn": CERTIFICATE})
    )

    assert (config.custom_domain, config.certificate_arn) == ("track.example.com", CERTIFICATE)
    assert config.custom_url == "https://track.example.com"


@pytest.mark.parametrize(
    ("context", "given", "missing"),
    [
        ({"custom_domain": "track.example.com"}, "custom_domain", "certificate_arn"),
        ({"certificate_arn": CERTIFICATE}, "certificate_arn", "custom_domain"),
        ({"custom_domain": "track.example.com", "certificate_arn": ""}, "custom_domain", "certificate_arn"),
    ],
)
def test_a_custom_domain_and_its_certificate_go_together(
    context: dict[str, str], given: str, missing: str
) -> None:
    with pytest.raises(ValueError, match=f"go together: {given} is set but {missing} is not") as raised:
        DeployConfig.from_context(App(context=context))

    assert "ACM certificate" in str(raised.value)
    assert "stack's region" in str(raised.value)


# The console's domain (a CloudFront distribution: its certificate is in us-east-1 whatever the stack's
# region)

CONSOLE_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1a2b3c4d-aaaa-bbbb-cccc-123456789abc"


def test_a_console_domain_with_a_us_east_1_certificate_is_taken() -> None:
    context = {"console_domain": "console.example.com", "console_certificate_arn": CONSOLE_CERTIFICATE}

    config = DeployConfig.from_context(App(context=context))

    assert (config.console_domain, config.console_certificate_arn) == (
        "console.example.com",
        CONSOLE_CERTIFICATE,
    )


@pytest.mark.parametrize(
    ("context", "refusal"),
    [
        (
            {"console_domain": "console.example.com"},
            "console_domain is set but console_certificate_arn is not",
        ),
        ({"console_certificate_arn": CONSOLE_CERTIFICATE}, "go together"),
        ({"console_domain": "console.example.com", "console_certificate_arn": CERTIFICATE}, "us-east-1"),
        (
            {"console_domain": "Console.example.com", "console_certificate_arn": CONSOLE_CERTIFICATE},
            "lower-case",
        ),
        (
            {
                "console_domain": "track.example.com",
                "console_certificate_arn": CONSOLE_CERTIFICATE,
                "custom_domain": "track.example.com",
                "certificate_arn": CERTIFICATE,
            },
            "must differ from custom_domain",
        ),
    ],
)
def test_a_console_domain_needs_its_own_name_and_a_us_east_1_certificate(
    context: dict[str, str], refusal: str
) -> None:
    with pytest.raises(ValueError, match=refusal):
        DeployConfig.from_context(App(context=context))
