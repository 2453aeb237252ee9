"""Sending and its feedback: the SES configuration set and its event topic, what each new function may do
beyond its tables (SES, SMS, push, the link secret), what it is told, and the optional push application.
The deliveries stream and the feedback subscription's dead letters are in test_async_paths."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.conftest import Synthesized, as_list

pytestmark = pytest.mark.infra

# The event types the feedback function acts on, as the configuration set names them; never open or
# click, which would make SES track messages a second time beside Nudge's own signed links, nor send,
# which the pipeline records itself (an SNS publish and an invocation per email for nothing).
EMAIL_EVENTS = {"delivery", "bounce", "complaint", "reject", "deliveryDelay", "renderingFailure"}
SES_SEND = {"ses:SendEmail", "ses:SendRawEmail"}
# The functions that sign or verify links (or derive webhook signing keys from the link secret: the
# reporting worker signs each event with its webhook's derived key).
READS_LINK_SECRET = {"send", "api", "links", "reporting"}
# The functions that render messages, and so build links and pick the default sender.
RENDERS = {"send", "api"}


def only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def ref_of(synth: Synthesized, resource_type: str) -> dict[str, str]:
    return {"Ref": synth.one_of_type(resource_type)[0]}


def feedback_topic(synth: Synthesized) -> tuple[str, dict[str, Any]]:
    """The SES events topic (the stack's other topic is monitoring's, for alarms)."""
    (found,) = [
        (logical_id, topic)
        for logical_id, topic in synth.of_type("AWS::SNS::Topic").items()
        if topic["Properties"].get("DisplayName") == "Nudge SES events"
    ]
    return found


def statements_with(synth: Synthesized, service: str, prefix: str) -> list[dict[str, Any]]:
    """A function's policy statements with any action of a service (``ses:``, ``sns:``, ...)."""
    return [
        statement
        for statement in synth.role_statements(synth.role_of(service))
        if any(action.startswith(prefix) for action in as_list(statement["Action"]))
    ]


def rendered(resource: Any) -> str:
    """An ``Fn::Join`` ARN as text, each reference shown as ``<name>``: ``arn:<AWS::Partition>:ses:...``."""
    if isinstance(resource, str):
        return resource
    delimiter, parts = resource["Fn::Join"]
    assert all(isinstance(part, str) or set(part) == {"Ref"} for part in parts), parts
    return str(delimiter).join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts)


def ses_arn(resource: str) -> str:
    return f"arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:{resource}"


# The configuration set and its events


def test_configuration_set_keeps_reputation_metrics_and_sends(synthesized: Synthesized) -> None:
    _, configuration_set = synthesized.one_of_type("AWS::SES::ConfigurationSet")

    assert configuration_set["Properties"]["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    assert configuration_set["Properties"]["SendingOptions"] == {"SendingEnabled": True}


def test_every_email_event_is_published_to_the_feedback_topic(synthesized: Synthesized) -> None:
    _, destination = synthesized.one_of_type("AWS::SES::ConfigurationSetEventDestination")
    properties = destination["Properties"]

    assert properties["ConfigurationSetName"] == ref_of(synthesized, "AWS::SES::ConfigurationSet")
    assert properties["EventDestination"]["Enabled"] is True
    assert set(properties["EventDestination"]["MatchingEventTypes"]) == EMAIL_EVENTS
    assert properties["EventDestination"]["SnsDestination"] == {
        "TopicARN": {"Ref": feedback_topic(synthesized)[0]}
    }


def test_feedback_topic_is_encrypted_with_a_rotated_key_ses_may_use(synthesized: Synthesized) -> None:
    _, topic = feedback_topic(synthesized)
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synthesized.resources[key_id]
    key_statements = key["Properties"]["KeyPolicy"]["Statement"]

    # A customer managed key: SES cannot publish to a topic under the AWS managed alias/aws/sns.
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert topic["Properties"]["SignatureVersion"] == "2"  # SHA256, verified by the feedback function
    assert key["Properties"]["EnableKeyRotation"] is True
    assert {
        "Sid": "SesPublishesEncryptedEvents",
        "Effect": "Allow",
        "Principal": {"Service": "ses.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    } in key_statements


def test_only_this_configuration_set_may_publish_to_the_topic_and_only_over_tls(
    synthesized: Synthesized,
) -> None:
    topic = {"Ref": feedback_topic(synthesized)[0]}
    (policy,) = [
        p
        for p in synthesized.of_type("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [topic]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allowed = [s for s in statements if s["Effect"] == "Allow"]

    assert policy["Properties"]["Topics"] == [topic]
    assert {
        "Sid": "AllowPublishThroughSSLOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": topic,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in statements
    (publish,) = allowed
    assert publish["Principal"] == {"Service": "ses.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    condition = publish["Condition"]["StringEquals"]
    assert condition["AWS:SourceAccount"] == {"Ref": "AWS::AccountId"}
    configuration_set = synthesized.one_of_type("AWS::SES::ConfigurationSet")[0]
    assert rendered(condition["AWS:SourceArn"]) == ses_arn(f"configuration-set/<{configuration_set}>")


# The link secret


def test_link_secret_is_generated_long_and_retained(synthesized: Synthesized) -> None:
    _, secret = synthesized.one_of_type("AWS::SecretsManager::Secret")

    # Links already sent (unsubscribe links above all) must outlive the stack and any replacement.
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"
    assert secret["Properties"]["GenerateSecretString"] == {"ExcludePunctuation": True, "PasswordLength": 64}


def test_only_the_functions_that_sign_links_may_read_the_link_secret(synthesized: Synthesized) -> None:
    secret = ref_of(synthesized, "AWS::SecretsManager::Secret")
    readers = {
        service
        for service in synthesized.functions()
        for statement in synthesized.role_statements(synthesized.role_of(service))
        if secret in as_list(statement["Resource"])
    }

    assert readers == READS_LINK_SECRET
    for service in READS_LINK_SECRET:
        (statement,) = statements_with(synthesized, service, "secretsmanager:")
        assert set(as_list(statement["Action"])) == {
            "secretsmanager:GetSecretValue",
            "secretsmanager:DescribeSecret",
        }
        assert as_list(statement["Resource"]) == [secret]


# What the send function may do beyond its tables


def test_send_may_send_email_only_from_the_sender_identity_with_the_configuration_set(
    synthesized: Synthesized,
) -> None:
    (statement,) = statements_with(synthesized, "send", "ses:")
    configuration_set = synthesized.one_of_type("AWS::SES::ConfigurationSet")[0]

    assert statement["Effect"] == "Allow"
    assert set(as_list(statement["Action"])) == SES_SEND
    assert sorted(rendered(resource) for resource in as_list(statement["Resource"])) == sorted(
        [
            ses_arn(f"configuration-set/<{configuration_set}>"),
            ses_arn(f"identity/{synthesized.config.sender_domain}"),
        ]
    )


def test_no_other_function_may_send_email_text_or_push(synthesized_with_push: Synthesized) -> None:
    synth = synthesized_with_push
    for service in synth.functions():
        if service == "send":
            continue
        for prefix in ("ses:", "sns:", "mobiletargeting:"):
            assert statements_with(synth, service, prefix) == [], (service, prefix)


def test_send_may_text_phone_numbers_and_nothing_else_of_sns(synthesized: Synthesized) -> None:
    # Publish to a phone number has no resource ARN, hence *; nothing else of SNS is granted.
    (statement,) = statements_with(synthesized, "send", "sns:")

    assert statement == {"Action": "sns:Publish", "Effect": "Allow", "Resource": "*"}


def test_push_is_off_by_default(synthesized: Synthesized) -> None:
    assert synthesized.of_type("AWS::Pinpoint::App") == {}
    assert statements_with(synthesized, "send", "mobiletargeting:") == []
    assert "NUDGE_PINPOINT_APPLICATION_ID" not in synthesized.variables("send")
    assert "NUDGE_SMS_SENDER_ID" not in synthesized.variables("send")


def test_push_when_enabled_sends_only_through_its_application(synthesized_with_push: Synthesized) -> None:
    synth = synthesized_with_push
    app_id, _ = synth.one_of_type("AWS::Pinpoint::App")
    (statement,) = statements_with(synth, "send", "mobiletargeting:")

    assert as_list(statement["Action"]) == ["mobiletargeting:SendMessages"]
    assert statement["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [app_id, "Arn"]}, "/messages"]]}
    assert synth.variables("send")["NUDGE_PINPOINT_APPLICATION_ID"] == {"Ref": app_id}
    assert synth.variables("send")["NUDGE_SMS_SENDER_ID"] == "Nudge"
    synth.template.has_output("PushApplicationId", {"Value": {"Ref": app_id}})


def test_the_template_with_push_is_as_clean(synthesized_with_push: Synthesized) -> None:
    # The validation report of that synth: nothing but the acknowledged Pinpoint deprecation warning.
    report = json.loads((synthesized_with_push.assembly_dir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    suppressed = [
        v["ruleName"] for plugin in report["pluginReports"] for v in plugin.get("suppressedViolations", [])
    ]

    assert violations == []
    assert suppressed == ["W3696"]
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")
    assert [str(match) for match in api.lint_file(synthesized_with_push.template_file)] == []


# What the functions are told


@pytest.mark.parametrize("service", sorted(READS_LINK_SECRET))
def test_link_signers_are_told_the_secret(synthesized: Synthesized, service: str) -> None:
    secret = ref_of(synthesized, "AWS::SecretsManager::Secret")

    assert synthesized.variables(service)["NUDGE_LINK_SECRET_ARN"] == secret


def test_no_other_function_is_told_the_secret(synthesized: Synthesized) -> None:
    told = {
        service
        for service in synthesized.functions()
        if "NUDGE_LINK_SECRET_ARN" in synthesized.variables(service)
    }

    assert told == READS_LINK_SECRET


@pytest.mark.parametrize("service", sorted(RENDERS))
def test_renderers_are_told_the_links_base_and_the_default_sender(
    synthesized: Synthesized, service: str
) -> None:
    variables = synthesized.variables(service)
    api_id = synthesized.one_of_type("AWS::ApiGatewayV2::Api")[0]

    # The API's own URL (the API resource alone: no cycle through the functions it integrates).
    assert variables["NUDGE_LINKS_URL"] == {"Fn::GetAtt": [api_id, "ApiEndpoint"]}
    assert variables["NUDGE_DEFAULT_FROM"] == f"no-reply@{synthesized.config.sender_domain}"


def test_send_is_told_the_configuration_set(synthesized: Synthesized) -> None:
    variables = synthesized.variables("send")

    assert variables["NUDGE_SES_CONFIGURATION_SET"] == ref_of(synthesized, "AWS::SES::ConfigurationSet")
    assert [
        s for s in synthesized.functions() if "NUDGE_SES_CONFIGURATION_SET" in synthesized.variables(s)
    ] == ["send"]


def test_feedback_is_told_its_topic_and_nothing_else_is(synthesized: Synthesized) -> None:
    topic, _ = feedback_topic(synthesized)

    assert synthesized.variables("feedback")["NUDGE_FEEDBACK_TOPIC_ARN"] == {"Ref": topic}
    assert [s for s in synthesized.functions() if "NUDGE_FEEDBACK_TOPIC_ARN" in synthesized.variables(s)] == [
        "feedback"
    ]


# Outputs


@pytest.mark.parametrize(
    ("output", "resource_type"),
    [
        ("EmailConfigurationSetName", "AWS::SES::ConfigurationSet"),
        ("LinkSecretArn", "AWS::SecretsManager::Secret"),
    ],
)
def test_stack_outputs_what_operators_configure_against(
    synthesized: Synthesized, output: str, resource_type: str
) -> None:
    synthesized.template.has_output(
        output, {"Value": ref_of(synthesized, resource_type), "Description": Match.any_value()}
    )


def test_stack_outputs_the_feedback_topic(synthesized: Synthesized) -> None:
    synthesized.template.has_output(
        "FeedbackTopicArn",
        {"Value": {"Ref": feedback_topic(synthesized)[0]}, "Description": Match.any_value()},
    )
