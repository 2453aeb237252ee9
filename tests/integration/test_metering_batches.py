"""The messages one send batch sent, metered together (``billing.metering.batch``): one transaction for
all of them rather than one each, and still exactly once when records come again, when a message was
metered before, and when the transaction or a message's own metering fails. Real send handler under moto."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.exceptions import PutError, TransactWriteError

from nudge.billing import metering
from tests.integration.test_delivery_faults import _failed, fail, throttled
from tests.support.deliveries import campaign, messages_metered
from tests.support.stream_records import delivery_change


@pytest.fixture
def ann(track: Any) -> str:
    assert track.put("/api/v1/customers/ann", {"email": "ann@example.com"}).status == 200
    return "ann"


def _records(ws: str, ids: list[str]) -> list[dict[str, Any]]:
    return [delivery_change(ws, delivery_id, f"70{n}") for n, delivery_id in enumerate(ids)]


def _spy(monkeypatch: Any) -> list[int]:
    """The size of each batched transaction written."""
    sizes: list[int] = []
    original = metering._messages_sent

    def counted(workspace_id: str, period_id: str, messages: list[Any]) -> None:
        sizes.append(len(messages))
        original(workspace_id, period_id, messages)

    monkeypatch.setattr(metering, "_messages_sent", counted)
    return sizes


def test_a_batch_s_messages_are_metered_in_one_transaction_once(ws, ann, channels, monkeypatch):
    ids = [campaign(ws, ann) for _ in range(3)]
    sizes = _spy(monkeypatch)

    assert _failed(*_records(ws, ids)) == []
    assert _failed(*_records(ws, ids)) == []  # the batch again: found sent, reported again

    assert len(channels.email.sent) == 3
    assert messages_metered(ws)["email"] == 3
    assert sizes == [3, 3]  # the second was refused by the markers and metered nothing more


def test_a_message_metered_before_leaves_the_others_metered_once(ws, ann, channels):
    ids = [campaign(ws, ann) for _ in range(3)]
    assert metering.message_sent(ws, ids[0], "email")  # an earlier try got as far as metering it

    assert _failed(*_records(ws, ids)) == []

    assert messages_metered(ws)["email"] == 3


def test_a_failed_transaction_then_a_failed_message_fails_only_its_record(ws, ann, channels, monkeypatch):
    ids = [campaign(ws, ann) for _ in range(3)]
    fail(monkeypatch, metering, "_messages_sent", TransactWriteError("throttled"))
    fail(monkeypatch, metering, "message_sent", throttled(PutError))  # the first one by one
    records = _records(ws, ids)

    assert _failed(*records) == ["700"]
    assert messages_metered(ws)["email"] == 2
    assert _failed(records[0]) == []  # its retry finds it sent and meters it

    assert messages_metered(ws)["email"] == 3
    assert len(channels.email.sent) == 3
