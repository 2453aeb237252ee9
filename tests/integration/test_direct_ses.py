"""The local runtime's direct SES path records what botocore's path records, and refuses alike."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from nudge.delivery.channels.ses import SesEmail
from nudge.delivery.messages import Attachment, Email, PermanentSendError
from nudge_tools.local.direct_ses import DirectSes

REGION = "us-east-1"


def email(**changes: Any) -> Email:
    fields: dict[str, Any] = {
        "workspace_id": "ws_1",
        "delivery_id": "dlv_1",
        "sender": "Acme <news@example.com>",
        "to": "ada@example.org",
        "subject": "Your invoice, Ada \u2013 caf\u00e9",
        "text": "Hello Ada",
        "html": "<p>Hello Ada</p>",
        "bcc": ("audit@example.com",),
        "headers": {"List-Unsubscribe": "<https://t.example.com/u/dlv_1>"},
        "attachments": (Attachment("invoice.pdf", b"%PDF-1.7"),),
    }
    fields.update(changes)
    return Email(**fields)


def _recorded(sent: Any) -> tuple[str, list[str], str]:
    """What moto recorded, but for what differs between two builds of one message (date, boundaries)."""
    raw = re.sub(r"^Date: .*$", "", sent.raw_data, flags=re.MULTILINE)
    return sent.source, sorted(sent.destinations), re.sub(r"={15}\d+==", "BOUNDARY", raw)


def test_the_direct_path_records_and_refuses_as_botocore_s_does() -> None:
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        calls: list[str] = []
        client.meta.events.register("before-call.sesv2", lambda model, **_: calls.append(model.name))
        direct = SesEmail(DirectSes(client, REGION), configuration_set="nudge-events")
        through_botocore = SesEmail(client, configuration_set="nudge-events")
        refusals = []
        for adapter in (through_botocore, direct):
            with pytest.raises(PermanentSendError) as refused:  # the sender is not verified yet
                adapter.send_email(email())
            refusals.append(refused.value.reason)
        assert refusals[0] == refusals[1] and refusals[0].startswith("MessageRejected: ")
        DirectSes(client, REGION).create_email_identity(EmailIdentity="example.com")  # botocore's
        calls.clear()

        backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
        receipts = [through_botocore.send_email(email())]
        counted = backend.sent_message_count
        receipts.append(direct.send_email(email()))

        by_botocore, by_direct = backend.sent_messages
        assert calls == ["SendEmail"]  # the direct send made no botocore request
        assert [r.provider_id for r in receipts] == [by_botocore.id, by_direct.id]
        assert _recorded(by_direct) == _recorded(by_botocore)
        assert backend.sent_message_count == 2 * counted  # the sending quota's count
