from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, message_from_string, policy
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from nudge.delivery.channels.ses import SesEmail
from nudge.delivery.messages import (
    AmbiguousSendError,
    Attachment,
    Email,
    PermanentSendError,
    TransientSendError,
)

REGION = "us-east-1"
UNSUBSCRIBE = "<https://t.example.com/u/dlv_1>"


def email(**changes: Any) -> Email:
    fields: dict[str, Any] = {
        "workspace_id": "ws_1",
        "delivery_id": "dlv_1",
        "sender": "Acme <news@example.com>",
        "to": "ada@example.org",
        "subject": "Your invoice",
        "text": "Hello Ada",
        "html": "<p>Hello Ada</p>",
        "bcc": ("audit@example.com",),
        "headers": {"List-Unsubscribe": UNSUBSCRIBE, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        "attachments": (Attachment("invoice.pdf", b"%PDF-1.7"),),
    }
    fields.update(changes)
    return Email(**fields)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sesv2", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_raw_message_lands_in_moto_with_unsubscribe_headers_intact() -> None:
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity="example.com")

        receipt = SesEmail(client, configuration_set="nudge-events").send_email(email())

        [sent] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert receipt.provider_id == sent.id
    assert sent.source == "Acme <news@example.com>"
    assert set(sent.destinations) == {"ada@example.org", "audit@example.com"}
    mail = message_from_string(sent.raw_data, policy=policy.default)
    assert mail["List-Unsubscribe"].strip() == UNSUBSCRIBE
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Bcc"] is None
    assert [part.get_filename() for part in mail.iter_attachments()] == ["invoice.pdf"]


def test_unverified_sender_is_a_permanent_failure() -> None:
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        with pytest.raises(PermanentSendError) as refused:
            SesEmail(client).send_email(email())
    assert refused.value.reason.startswith("MessageRejected: ")
    assert "Hello Ada" not in refused.value.reason


def test_request_shape(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    captured: dict[str, Any] = {}
    client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: captured.update(params)
    )
    stubber.add_response(
        "send_email",
        {"MessageId": "0100-abc"},
        expected_params={
            "FromEmailAddress": "Acme <news@example.com>",
            "Destination": {"ToAddresses": ["ada@example.org"], "BccAddresses": ["audit@example.com"]},
            "Content": {"Raw": {"Data": ANY}},
            "ConfigurationSetName": "nudge-events",
            "EmailTags": [
                {"Name": "nudge-workspace", "Value": "ws_1"},
                {"Name": "nudge-delivery", "Value": "dlv_1"},
            ],
        },
    )

    receipt = SesEmail(client, configuration_set="nudge-events").send_email(email())

    assert receipt.provider_id == "0100-abc"
    raw = captured["Content"]["Raw"]["Data"]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Message-ID"] == "<dlv_1@nudge>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail.get_content_type() == "multipart/mixed"


def test_without_bcc_or_configuration_set_those_fields_are_left_out(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_email",
        {"MessageId": "m"},
        expected_params={
            "FromEmailAddress": "Acme <news@example.com>",
            "Destination": {"ToAddresses": ["ada@example.org"]},
            "Content": {"Raw": {"Data": ANY}},
            "EmailTags": [
                {"Name": "nudge-workspace", "Value": "ws_1"},
                {"Name": "nudge-delivery", "Value": "dlv_1"},
            ],
        },
    )

    SesEmail(client).send_email(email(bcc=()))


def test_tag_values_are_made_safe_for_ses(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_email",
        {"MessageId": "m"},
        expected_params={
            "FromEmailAddress": ANY,
            "Destination": ANY,
            "Content": ANY,
            "EmailTags": [
                {"Name": "nudge-workspace", "Value": "acme_eu"},
                {"Name": "nudge-delivery", "Value": "d_1_2"},
            ],
        },
    )

    SesEmail(client).send_email(email(workspace_id="acme.eu", delivery_id="d:1/2"))


def test_throttling_is_retried_with_backoff_then_succeeds(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("send_email", "TooManyRequestsException", "Maximum sending rate exceeded.", 429)
    stubber.add_client_error("send_email", "InternalServiceErrorException", "oops", 500)
    stubber.add_response("send_email", {"MessageId": "third-time"})
    sleeps = Sleeps()

    receipt = SesEmail(client, base_delay=0.2, sleep=sleeps).send_email(email())

    assert receipt.provider_id == "third-time"
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.2 and 0 <= sleeps[1] <= 0.4


def test_throttling_exhausted_is_transient(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):
        stubber.add_client_error("send_email", "TooManyRequestsException", "slow down", 429)
    sleeps = Sleeps()

    with pytest.raises(TransientSendError, match="TooManyRequestsException"):
        SesEmail(client, attempts=3, sleep=sleeps).send_email(email())
    assert len(sleeps) == 2


def test_message_rejected_is_permanent_at_once(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("send_email", "MessageRejected", "Email address is not verified.", 400)
    sleeps = Sleeps()

    with pytest.raises(PermanentSendError) as refused:
        SesEmail(client, sleep=sleeps).send_email(email())
    assert refused.value.reason == "MessageRejected: Email address is not verified."
    assert sleeps == []


def test_connection_failures_are_retried_then_transient() -> None:
    calls: list[dict[str, Any]] = []

    class Unreachable:
        def send_email(self, **params: Any) -> dict[str, Any]:
            calls.append(params)
            raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    with pytest.raises(TransientSendError, match="EndpointConnectionError"):
        SesEmail(Unreachable(), attempts=2, sleep=Sleeps()).send_email(email())
    assert len(calls) == 2


@pytest.mark.parametrize(
    "lost",
    [
        ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    ],
)
def test_a_lost_answer_is_ambiguous_and_never_repeated(lost: Exception) -> None:
    # The request was written; SES may have accepted it. Sending it again could deliver it twice.
    calls: list[dict[str, Any]] = []

    class AnswerLost:
        def send_email(self, **params: Any) -> dict[str, Any]:
            calls.append(params)
            raise lost

    with pytest.raises(AmbiguousSendError, match=type(lost).__name__):
        SesEmail(AnswerLost(), attempts=4, sleep=Sleeps()).send_email(email())
    assert len(calls) == 1


def test_a_header_clash_is_a_permanent_failure_without_a_call(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed  # no response queued: any call would fail the test

    with pytest.raises(PermanentSendError, match="invalid message: header 'From'"):
        SesEmail(client).send_email(email(headers={"From": "ceo@example.com"}))
