"""Sending a template as a test: rendered for a chosen person (or for no one), sent by email to the
address asking for it, through the same pipeline as every message (render, gates, channel, record).

A test is a delivery of source ``test`` queued for no person (``TEST_PERSON``; the person it is
rendered for is in its request), not billable: metering skips it, no campaign counts it, no person's
message history or limit sees it, and nobody's unsubscribe state is read or offered (no unsubscribe
header, no tracked links). Who may receive one is the App API's business (``api.template_tests``).
"""

from __future__ import annotations

import secrets
from typing import Any

from nudge.delivery import records, template_store
from nudge.delivery.transactional import message_data_of
from nudge.errors import InvalidRequest, NotFound
from nudge.tracking import people
from nudge.tracking.identifiers import from_map

TEST_SOURCE = "test"
# Tests are addressed to a console user, not to a person: the delivery is filed under this stand-in.
TEST_PERSON = "_test"


def queue_test(
    workspace_id: str,
    template_id: str,
    *,
    to: str,
    identifiers: Any,
    message_data: Any,
    correlation_id: str = "",
) -> dict[str, Any]:
    """Queue one test of an email template to ``to``, rendered for the person ``identifiers`` names
    (None: for no one, ``customer.*`` empty but for the address)."""
    template = template_store.load(workspace_id, template_id)
    if template.channel != "email":
        raise InvalidRequest(
            f"tests are sent by email: template {template_id} is a {template.channel} template "
            "(preview it instead)",
            field="template_id",
        )
    request: dict[str, Any] = {"to": to, "tracked": False, "content": {}}
    if identifiers is not None:
        person = people.load(workspace_id, from_map(identifiers, allow_phone=False))
        if person is None:
            raise NotFound("person not found")
        request["render_as"] = person.cio_id
    if message_data is not None:
        request["message_data"] = message_data_of(message_data)
    if correlation_id:
        request["correlation_id"] = correlation_id
    delivery, _ = records.queue(
        workspace_id,
        records.NewDelivery(
            delivery_id=secrets.token_hex(16),
            cio_id=TEST_PERSON,
            channel="email",
            source=TEST_SOURCE,
            request=request,
            template_id=template.id,
            billable=False,
        ),
    )
    return {"delivery_id": delivery.delivery_id, "queued_at": int(delivery.queued_at), "to": to}
