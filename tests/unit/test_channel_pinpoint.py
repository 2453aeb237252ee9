from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from nudge.delivery.channels.pinpoint_push import PinpointPush
from nudge.delivery.messages import (
    AmbiguousSendError,
    DeviceToken,
    PermanentSendError,
    Push,
    TransientSendError,
)

APP = "0123456789abcdef0123456789abcdef"
IOS = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
ANDROID = "fcm:APA91bH-android-registration-token-0123456789"
PUSH = Push(
    workspace_id="ws_1",
    delivery_id="dlv_1",
    devices=(DeviceToken(IOS, "ios"), DeviceToken(ANDROID, "android")),
    title="Your order shipped",
    body="Track it now",
    link="https://example.com/orders/42",
    image_url="https://cdn.example.com/box.png",
    sound="default",
    data={"order_id": "42"},
)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("pinpoint", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def answer(statuses: dict[str, str], *, request_id: str = "req-1") -> dict[str, Any]:
    return {
        "MessageResponse": {
            "ApplicationId": APP,
            "RequestId": request_id,
            "Result": {
                token: {
                    "DeliveryStatus": status,
                    "StatusCode": 200 if status == "SUCCESSFUL" else 400,
                    **({"MessageId": f"msg-{token[:4]}"} if status == "SUCCESSFUL" else {}),
                }
                for token, status in statuses.items()
            },
        }
    }


def test_request_shape_for_an_ios_and_android_person(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    common = {
        "Title": "Your order shipped",
        "Body": "Track it now",
        "Action": "URL",
        "Url": "https://example.com/orders/42",
        "Sound": "default",
        "Data": {"order_id": "42"},
    }
    stubber.add_response(
        "send_messages",
        answer({IOS: "SUCCESSFUL", ANDROID: "SUCCESSFUL"}),
        expected_params={
            "ApplicationId": APP,
            "MessageRequest": {
                "Addresses": {IOS: {"ChannelType": "APNS"}, ANDROID: {"ChannelType": "GCM"}},
                "MessageConfiguration": {
                    "APNSMessage": {**common, "MediaUrl": "https://cdn.example.com/box.png"},
                    "GCMMessage": {**common, "ImageUrl": "https://cdn.example.com/box.png"},
                },
                "TraceId": "dlv_1",
            },
        },
    )

    receipt = PinpointPush(client, application_id=APP).send_push(PUSH)

    assert receipt.provider_id == "req-1"
    assert receipt.detail == {"results": {IOS: "SUCCESSFUL", ANDROID: "SUCCESSFUL"}, "invalid_tokens": []}


def test_only_the_needed_platform_message_is_sent(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_messages",
        answer({ANDROID: "SUCCESSFUL"}),
        expected_params={
            "ApplicationId": APP,
            "MessageRequest": {
                "Addresses": {ANDROID: {"ChannelType": "GCM"}},
                "MessageConfiguration": {
                    "GCMMessage": {"Title": "Hi", "Body": "There", "Action": "OPEN_APP"}
                },
                "TraceId": "dlv_2",
            },
        },
    )
    push = Push("ws_1", "dlv_2", (DeviceToken(ANDROID, "android"),), "Hi", "There")

    PinpointPush(client, application_id=APP).send_push(push)


def test_sandbox_tokens_use_the_apns_sandbox_channel(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_messages",
        answer({IOS: "SUCCESSFUL"}),
        expected_params={
            "ApplicationId": APP,
            "MessageRequest": {
                "Addresses": {IOS: {"ChannelType": "APNS_SANDBOX"}},
                "MessageConfiguration": {
                    "APNSMessage": {"Title": "Hi", "Body": "There", "Action": "OPEN_APP"}
                },
                "TraceId": "dlv_3",
            },
        },
    )
    push = Push("ws_1", "dlv_3", (DeviceToken(IOS, "iOS"),), "Hi", "There")

    PinpointPush(client, application_id=APP, apns_channel="APNS_SANDBOX").send_push(push)


def test_success_with_a_dead_token_reports_the_invalid_token(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("send_messages", answer({IOS: "PERMANENT_FAILURE", ANDROID: "SUCCESSFUL"}))

    receipt = PinpointPush(client, application_id=APP).send_push(PUSH)

    assert receipt.detail["results"] == {IOS: "PERMANENT_FAILURE", ANDROID: "SUCCESSFUL"}
    assert receipt.detail["invalid_tokens"] == [IOS]


def test_message_id_is_the_provider_id_without_a_request_id(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    response = answer({IOS: "OPT_OUT", ANDROID: "SUCCESSFUL"})
    del response["MessageResponse"]["RequestId"]
    stubber.add_response("send_messages", response)

    receipt = PinpointPush(client, application_id=APP).send_push(PUSH)

    assert receipt.provider_id == f"msg-{ANDROID[:4]}"
    assert receipt.detail["invalid_tokens"] == [IOS]


def test_all_temporary_failures_are_retried_then_transient(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):
        stubber.add_response("send_messages", answer({IOS: "THROTTLED", ANDROID: "TEMPORARY_FAILURE"}))
    sleeps = Sleeps()

    with pytest.raises(TransientSendError) as failed:
        PinpointPush(client, application_id=APP, attempts=3, sleep=sleeps).send_push(PUSH)
    assert len(sleeps) == 2
    assert IOS not in str(failed.value) and ANDROID not in str(failed.value)
    assert f"{IOS[:8]}... THROTTLED" in str(failed.value)


def test_temporary_failure_then_success_on_retry(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("send_messages", answer({IOS: "TEMPORARY_FAILURE", ANDROID: "PERMANENT_FAILURE"}))
    stubber.add_response("send_messages", answer({IOS: "SUCCESSFUL", ANDROID: "PERMANENT_FAILURE"}))

    receipt = PinpointPush(client, application_id=APP, sleep=Sleeps()).send_push(PUSH)

    assert receipt.detail["invalid_tokens"] == [ANDROID]


@pytest.mark.parametrize("lost", ["TIMEOUT", "UNKNOWN_FAILURE"])
def test_a_device_whose_outcome_is_unknown_makes_the_push_ambiguous_and_it_is_not_repeated(
    stubbed: tuple[Any, Stubber], lost: str
) -> None:
    client, stubber = stubbed  # one answer queued: a second call would fail the test
    stubber.add_response("send_messages", answer({IOS: lost, ANDROID: "TEMPORARY_FAILURE"}))
    sleeps = Sleeps()

    with pytest.raises(AmbiguousSendError, match=f"push outcome unknown: {IOS[:8]}... {lost}"):
        PinpointPush(client, application_id=APP, sleep=sleeps).send_push(PUSH)
    assert sleeps == []


def test_a_lost_answer_from_pinpoint_is_ambiguous_and_not_repeated() -> None:
    calls: list[dict[str, Any]] = []

    class AnswerLost:
        def send_messages(self, **params: Any) -> dict[str, Any]:
            calls.append(params)
            raise ReadTimeoutError(endpoint_url="https://pinpoint.us-east-1.amazonaws.com")

    with pytest.raises(AmbiguousSendError, match="ReadTimeoutError"):
        PinpointPush(AnswerLost(), application_id=APP, sleep=Sleeps()).send_push(PUSH)
    assert len(calls) == 1


def test_all_permanent_failures_are_permanent_with_shortened_tokens(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("send_messages", answer({IOS: "PERMANENT_FAILURE", ANDROID: "OPT_OUT"}))
    sleeps = Sleeps()

    with pytest.raises(PermanentSendError) as refused:
        PinpointPush(client, application_id=APP, sleep=sleeps).send_push(PUSH)
    assert refused.value.reason == (
        f"push not delivered: {IOS[:8]}... PERMANENT_FAILURE, {ANDROID[:8]}... OPT_OUT"
    )
    assert sleeps == []


def test_throttled_call_is_retried(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("send_messages", "TooManyRequestsException", "slow down", 429)
    stubber.add_response("send_messages", answer({IOS: "SUCCESSFUL", ANDROID: "SUCCESSFUL"}))

    assert PinpointPush(client, application_id=APP, sleep=Sleeps()).send_push(PUSH).provider_id == "req-1"


def test_rejected_call_is_permanent(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error("send_messages", "NotFoundException", "Resource not found", 404)

    with pytest.raises(PermanentSendError, match=r"^NotFoundException: Resource not found$"):
        PinpointPush(client, application_id=APP, sleep=Sleeps()).send_push(PUSH)


def test_no_devices_or_unknown_platform_is_a_caller_error() -> None:
    adapter = PinpointPush(object(), application_id=APP)
    with pytest.raises(ValueError, match="at least one device"):
        adapter.send_push(Push("ws_1", "dlv_1", (), "t", "b"))
    with pytest.raises(ValueError, match="platform"):
        adapter.send_push(Push("ws_1", "dlv_1", (DeviceToken("tok", "windows"),), "t", "b"))
