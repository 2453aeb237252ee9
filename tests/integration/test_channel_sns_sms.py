from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from nudge.delivery.channels.sns_sms import SnsSms
from nudge.delivery.messages import AmbiguousSendError, PermanentSendError, Sms, TransientSendError

REGION = "us-east-1"
SMS = Sms(workspace_id="ws_1", delivery_id="dlv_1", phone="+15555550123", body="Your code is 123456")


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _text(body: bytes | str) -> str:
    return body.decode() if isinstance(body, bytes) else body


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sns", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_sms_lands_in_moto_with_its_type_on_the_wire() -> None:
    sent_bodies: list[dict[str, list[str]]] = []
    with mock_aws():
        client = boto3.client("sns", region_name=REGION)
        # moto keeps only (phone, message): read the attributes off the request that went out.
        client.meta.events.register(
            "before-send.sns.Publish",
            lambda request, **_: sent_bodies.append(parse_qs(_text(request.body))),
        )

        receipt = SnsSms(client, sender_id="ACME").send_sms(SMS)

        sms_messages = dict(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages)
    assert sms_messages == {receipt.provider_id: ("+15555550123", "Your code is 123456")}
    [body] = sent_bodies
    attributes = {
        body[f"MessageAttributes.entry.{n}.Name"][0]: body[f"MessageAttributes.entry.{n}.Value.StringValue"][
            0
        ]
        for n in (1, 2)
    }
    assert attributes == {"AWS.SNS.SMS.SMSType": "Transactional", "AWS.SNS.SMS.SenderID": "ACME"}


def test_invalid_phone_number_is_permanent_under_moto() -> None:
    with mock_aws():
        client = boto3.client("sns", region_name=REGION)
        with pytest.raises(PermanentSendError) as refused:
            SnsSms(client).send_sms(Sms("ws_1", "dlv_1", "555-0123", "hi"))
    assert refused.value.reason.startswith("InvalidParameter: ")


def test_request_shape(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "publish",
        {"MessageId": "sns-1"},
        expected_params={
            "PhoneNumber": "+15555550123",
            "Message": "Your code is 123456",
            "MessageAttributes": {
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Promotional"},
            },
        },
    )

    assert SnsSms(client, sms_type="Promotional").send_sms(SMS).provider_id == "sns-1"


def test_throttling_and_5xx_are_retried_then_succeed(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("publish", "Throttled", "Rate exceeded", 429)
    stubber.add_client_error("publish", "InternalError", "try again", 500)
    stubber.add_response("publish", {"MessageId": "sns-2"})
    sleeps = Sleeps()

    assert SnsSms(client, sleep=sleeps).send_sms(SMS).provider_id == "sns-2"
    assert len(sleeps) == 2


def test_throttling_exhausted_is_transient(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(2):
        stubber.add_client_error("publish", "Throttled", "Rate exceeded", 429)

    with pytest.raises(TransientSendError, match="Throttled"):
        SnsSms(client, attempts=2, sleep=Sleeps()).send_sms(SMS)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("InvalidParameter", "Invalid parameter: PhoneNumber"),
        ("ParameterValueInvalid", "Invalid parameter value"),
        ("OptedOut", "Phone number is opted out"),
    ],
)
def test_refusals_are_permanent_at_once(stubbed: tuple[Any, Stubber], code: str, message: str) -> None:
    client, stubber = stubbed
    stubber.add_client_error("publish", code, message, 400)
    sleeps = Sleeps()

    with pytest.raises(PermanentSendError) as refused:
        SnsSms(client, sleep=sleeps).send_sms(SMS)
    assert refused.value.reason == f"{code}: {message}"
    assert sleeps == []


def test_unknown_sms_type_is_refused() -> None:
    with pytest.raises(ValueError, match="sms_type"):
        SnsSms(object(), sms_type="Urgent")


def test_a_lost_answer_is_ambiguous_and_never_repeated() -> None:
    # SNS may have handed the text on: publishing it again could text the person twice.
    calls: list[dict[str, Any]] = []

    class AnswerLost:
        def publish(self, **params: Any) -> dict[str, Any]:
            calls.append(params)
            raise ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com")

    with pytest.raises(AmbiguousSendError, match="ReadTimeoutError"):
        SnsSms(AnswerLost(), sleep=lambda _: None).send_sms(SMS)
    assert len(calls) == 1


def test_an_unreachable_endpoint_is_retried_then_transient() -> None:
    calls: list[dict[str, Any]] = []

    class Unreachable:
        def publish(self, **params: Any) -> dict[str, Any]:
            calls.append(params)
            raise EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com")

    with pytest.raises(TransientSendError, match="EndpointConnectionError"):
        SnsSms(Unreachable(), attempts=3, sleep=lambda _: None).send_sms(SMS)
    assert len(calls) == 3
