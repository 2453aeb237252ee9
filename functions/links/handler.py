"""Links Lambda: the public links in messages (open pixel, click, unsubscribe, view in browser, and the
subscription centre).

Unauthenticated by design; every path carries a signed token (see ``nudge.http.links``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from nudge import composition
from nudge.errors import Conflict, InvalidRequest, NotFound
from nudge.http import edge
from nudge.http.lambda_http import raw_body
from nudge.http.links import (
    ROUTES,
    LinkRequest,
    LinkRoute,
    Page,
    busy_page,
    not_found_page,
    refused_page,
)

# Delivery outcomes reach campaign counters and metering; nearly every invocation reports one, so the
# subscribers are imported in the init, not in the first message (nudge.composition).
composition.connect(load=True)

logger = Logger(service="links")
app = APIGatewayHttpResolver()


def _respond(page: Page) -> Response:
    return Response(page.status, page.content_type, page.body, headers=page.headers)


def _register(route: LinkRoute) -> None:
    def endpoint(token: str) -> Response:
        # Never log the token: it is a bearer credential for this delivery's links.
        logger.append_keys(route=f"{route.method} {route.path}")
        body = raw_body(app.current_event) if route.reads_body else None
        return _respond(route.operation(LinkRequest(token, body)))

    endpoint.__name__ = f"{route.method.lower()}_{route.path}"
    app.route(route.path.replace("{token}", "<token>"), method=route.method)(endpoint)


for _route in ROUTES:
    _register(_route)


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _respond(not_found_page(str(exc)))


@app.exception_handler(InvalidRequest)
def _refused(exc: InvalidRequest) -> Response:
    return _respond(refused_page(str(exc)))


@app.exception_handler(Conflict)
def _busy(_: Conflict) -> Response:
    return _respond(busy_page())


@app.exception_handler([ClientError, BotoCoreError, PynamoDBException])
def _storage_error(exc: Exception) -> Response:
    if edge.refused_by_storage(exc):
        # Retrying the same link can never succeed, so no 503 (which invites retries).
        logger.warning("storage refused the data", error_type=type(exc).__name__)
        return _respond(refused_page("this link cannot be used"))
    logger.exception("storage error", error_type=type(exc).__name__)
    return Response(503, "text/plain", "temporarily unavailable, retry", headers={"Retry-After": "1"})


@app.not_found
def _no_route(_: Exception) -> Response:
    return _respond(not_found_page("no such link"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
