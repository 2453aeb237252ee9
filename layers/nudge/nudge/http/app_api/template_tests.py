"""``POST /v1/templates/{template_id}/test``: send an email template to yourself as a test.

Nudge's own route (Customer.io's "send test" lives in its UI, not its App API). A test goes only to a
member of the workspace, so it cannot become an unbilled way to email anyone: a console user's test goes
to their own sign-in address; an App key (which has no address) names a member in ``to``. The sending
itself is delivery's (``delivery.template_tests``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from nudge.console_auth import members
from nudge.delivery.request_shapes import TEST_SCHEMA
from nudge.errors import InvalidRequest
from nudge.http.routing import Request, Response, Route
from nudge.tracking.limits import parse_json_object


def _recipient(req: Request, given: Any) -> str:
    if req.user is not None:
        if given is not None and members.normalize_email(given, "to") != req.user:
            raise InvalidRequest(
                "a test goes to yourself: leave to out, or give your own address", field="to"
            )
        return req.user
    if given is None:
        raise InvalidRequest(
            "to is required with an API key: the member of the workspace to test", field="to"
        )
    to = members.normalize_email(given, "to")
    if members.role_in(to, req.workspace_id) is None:
        raise InvalidRequest(f"a test goes to a member of the workspace: {to} is not one", field="to")
    return to


def _send_test(req: Request) -> Response:
    from nudge.delivery import template_tests  # jinja2, liquid and MIME: only when a test is sent

    body = parse_json_object(req.body, limit=100_000)
    queued = template_tests.queue_test(
        req.workspace_id,
        unquote(req.params["template_id"]),
        to=_recipient(req, body.get("to")),
        identifiers=body.get("identifiers"),
        message_data=body.get("message_data"),
        correlation_id=req.request_id,
    )
    return 200, queued


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/v1/templates/{template_id}/test",
        _send_test,
        "Send an email template as a test to yourself (a member), rendered for a person; not billed",
        body_schema=TEST_SCHEMA,
    ),
)
