"""The export bodies' served schemas and their readers are one declaration (``nudge.shapes``): they agree
on what is accepted, including the cases they once disagreed on (null for an absent field, one of the two
ids null, keys they do not read)."""

from __future__ import annotations

import pytest

from nudge.exports import requests
from tests.support.bodies import verdicts

NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"filters": {"segment": {"id": 3}}, "attributes": None, "unread": 1}, True),
        ({"filters": {"segment": {"id": 3}}, "attributes": ["plan", "plan"]}, True),
        ({"attributes": ["plan"]}, False),
        ({"filters": None}, False),
        ({"filters": {"segment": {"id": 3}}, "attributes": [""]}, False),
    ],
)
def test_the_customers_schema_and_reader_agree(body, valid):
    assert verdicts(requests.CUSTOMERS_SCHEMA, requests.customers, body) == (valid, valid)


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"newsletter_id": 7, "campaign_id": None, "start": None, "end": None, "unread": 1}, True),
        ({"campaign_id": "welcome", "action_id": 3, "metric": "opened", "drafts": True}, True),
        ({"newsletter_id": 7, "campaign_id": 8}, False),
        ({"metric": None}, False),
        ({"drafts": None}, False),
        ({"end": 10**11}, False),
        ({"action_id": ""}, False),
    ],
)
def test_the_deliveries_schema_and_reader_agree(body, valid):
    assert verdicts(requests.DELIVERIES_SCHEMA, lambda b: requests.deliveries(b, NOW), body) == (valid, valid)
