"""The App API's newsletter routes (Customer.io's ``/v1/newsletters``, plus Nudge's cancel and test
send). The sending module is imported by the operations that send, where it pays: it brings the
broadcast fan-out, which listing and reading newsletters never need."""

from __future__ import annotations

from urllib.parse import unquote

from nudge.campaigns import newsletters
from nudge.errors import NotFound
from nudge.http.routing import Request, Response, Route
from nudge.tracking.limits import parse_json_object

BODY_LIMIT = 1_000_000  # Customer.io: requests under 1 MB


def _id(req: Request) -> str:
    return unquote(req.params["newsletter_id"])


def _content_id(req: Request) -> int:
    raw = unquote(req.params["content_id"])
    if not raw.isdigit():
        raise NotFound(f"content {raw} not found")
    return int(raw)


def _list(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    found = newsletters.list_newsletters(req.workspace_id)
    return 200, {"newsletters": [newsletter_sends.view(req.workspace_id, n) for n in found], "next": ""}


def _create(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    body = parse_json_object(req.body, limit=BODY_LIMIT)
    return 200, {"newsletter": newsletter_sends.create(req.workspace_id, body)}


def _get(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    item = newsletters.load(req.workspace_id, _id(req))
    return 200, {"newsletter": newsletter_sends.view(req.workspace_id, item)}


def _update(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    body = parse_json_object(req.body, limit=BODY_LIMIT)
    return 200, {"newsletter": newsletter_sends.update(req.workspace_id, _id(req), body)}


def _delete(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    newsletter_sends.delete(req.workspace_id, _id(req))
    return 204, None


def _send(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    body = parse_json_object(req.body or "{}", limit=BODY_LIMIT)
    return 200, {"newsletter": newsletter_sends.send(req.workspace_id, _id(req), body)}


def _cancel(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    return 200, {"newsletter": newsletter_sends.cancel(req.workspace_id, _id(req))}


def _test_send(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    body = parse_json_object(req.body, limit=BODY_LIMIT)
    return 200, newsletter_sends.test_send(req.workspace_id, _id(req), body)


def _metrics(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    return 200, newsletter_sends.metrics_view(req.workspace_id, _id(req))


def _contents(req: Request) -> Response:
    item = newsletters.load(req.workspace_id, _id(req))
    count = len(newsletters.definition_of(item)["variants"])
    return 200, {"contents": [newsletters.variant_view(item, n) for n in range(1, count + 1)]}


def _content(req: Request) -> Response:
    item = newsletters.load(req.workspace_id, _id(req))
    return 200, {"content": newsletters.variant_view(item, _content_id(req))}


def _content_metrics(req: Request) -> Response:
    from nudge.campaigns import newsletter_sends

    return 200, newsletter_sends.variant_metrics(req.workspace_id, _id(req), _content_id(req))


# The bodies' schemas, written from the shapes their parsers read them with (``newsletters``).
CREATE_SCHEMA = newsletters.body_schema(schedule=True)
UPDATE_SCHEMA = newsletters.body_schema(schedule=False)  # a draft's change: POST .../send sends it
ONE = "/v1/newsletters/{newsletter_id}"
NEWSLETTER_ROUTES: tuple[Route, ...] = (
    Route("GET", "/v1/newsletters", _list, "List newsletters"),
    Route(
        "POST",
        "/v1/newsletters",
        _create,
        "Create a newsletter, and send or schedule it",
        body_limit=BODY_LIMIT,
        body_schema=CREATE_SCHEMA,
    ),
    Route("GET", ONE, _get, "A newsletter, its broadcasts' progress and its A/B test's winner"),
    Route(
        "PUT",
        ONE,
        _update,
        "Change a draft newsletter: the body of a create, without its schedule (409 once sent or canceled)",
        body_limit=BODY_LIMIT,
        body_schema=UPDATE_SCHEMA,
    ),
    Route("DELETE", ONE, _delete, "Delete a draft or canceled newsletter (409 once it has been sent)"),
    Route(
        "POST",
        ONE + "/send",
        _send,
        "Send a draft newsletter now, at a time, or at each recipient's local time",
        body_schema=newsletters.SCHEDULE.schema({}),
    ),
    Route("POST", ONE + "/cancel", _cancel, "Cancel a newsletter that has not started sending"),
    Route(
        "POST",
        ONE + "/test_send",
        _test_send,
        "Send one variant to one person as a test",
        body_schema=newsletters.TEST_SEND_SCHEMA,
    ),
    Route("GET", ONE + "/metrics", _metrics, "A newsletter's metrics, in total and per variant"),
    Route("GET", ONE + "/contents", _contents, "A newsletter's variants"),
    Route("GET", ONE + "/contents/{content_id}", _content, "One variant of a newsletter"),
    Route("GET", ONE + "/contents/{content_id}/metrics", _content_metrics, "One variant's metrics"),
)
