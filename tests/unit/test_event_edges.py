"""The shapes of the events AWS invokes the functions with, each read once at the edge."""

from __future__ import annotations

from datetime import date

import pytest

from functions.billing.handler import InvalidScheduledEvent, ScheduledEvent
from nudge.delivery.ses_events import SnsRecord, UnusableEvent


def test_the_schedule_s_event_is_read_as_the_date_to_bill_as_of() -> None:
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-11-01T00:05:00Z"}

    assert ScheduledEvent.parse(event).at == date(2026, 11, 1)


@pytest.mark.parametrize("event", [{}, {"time": None}, {"time": 1793491200}, {"time": "yesterday"}])
def test_an_event_with_no_usable_time_is_refused_by_name(event: dict[str, object]) -> None:
    with pytest.raises(InvalidScheduledEvent, match="time"):
        ScheduledEvent.parse(event)


def test_sns_records_carry_the_signed_notification_whole() -> None:
    sns = {"Type": "Notification", "MessageId": "m-1", "Message": '{"eventType": "Open"}', "Signature": "x"}

    (record,) = SnsRecord.parse_event({"Records": [{"EventSource": "aws:sns", "Sns": sns}]})

    assert record.notification == sns
    assert (record.message_id, record.message) == ("m-1", '{"eventType": "Open"}')


def test_a_record_without_its_notification_is_kept_to_be_refused_not_dropped() -> None:
    records = SnsRecord.parse_event({"Records": [{"EventSource": "aws:sns"}, "not a record"]})

    assert [(r.notification, r.message_id, r.message) for r in records] == [({}, None, "")] * 2


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": {"Sns": {}}}])
def test_an_event_that_is_not_an_sns_invocation_is_an_error(event: dict[str, object]) -> None:
    with pytest.raises(UnusableEvent, match="not an SNS invocation"):
        SnsRecord.parse_event(event)


def test_a_broadcast_page_task_names_its_broadcast_and_where_its_page_starts() -> None:
    from nudge.campaigns.broadcasts import PageTask

    event = {"action": "broadcast_page", "workspace_id": "ws", "campaign_id": 7, "trigger_id": "t1"}

    assert PageTask.parse(event) == PageTask("ws", "7", "t1", cursor=None)
    assert PageTask.parse({**event, "cursor": "cio-9"}).cursor == "cio-9"


def test_a_broadcast_page_task_without_its_broadcast_says_what_is_missing() -> None:
    from nudge.campaigns.broadcasts import InvalidPageTask, PageTask

    with pytest.raises(InvalidPageTask, match="no campaign_id, trigger_id"):
        PageTask.parse({"action": "broadcast_page", "workspace_id": "ws", "campaign_id": ""})
