"""Track API Lambda: Customer.io-compatible ingestion behind API Gateway (HTTP API, payload v2).

Thin by design: authenticate, hand the request to the route table's operation, shape the answer.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from nudge import edge, workspaces
from nudge.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from nudge.tracking.routes import ROUTES, Request, Route

logger = Logger(service="track")
app = APIGatewayHttpResolver()


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(status, "application/json", json.dumps(body, separators=(",", ":")), headers=headers)


def _base_url() -> str:
    configured = os.environ.get("NUDGE_TRACK_URL")
    if configured:
        return configured
    event = app.current_event
    host = event.headers.get("host") or "localhost"
    proto = event.headers.get("x-forwarded-proto") or "https"
    return f"{proto}://{host}"


def _register(route: Route) -> None:
    rule = route.path.replace("{", "<").replace("}", ">")

    def endpoint(**params: str) -> Response:
        event = app.current_event
        site_id, api_key = edge.basic_credentials(event.headers.get("authorization"))
        workspace_id = workspaces.authenticate_track(site_id, api_key)
        logger.append_keys(workspace_id=workspace_id, route=f"{route.method} {route.path}")
        request = Request(
            workspace_id=workspace_id,
            params=params,
            query=dict(event.query_string_parameters or {}),
            body=event.decoded_body,
            base_url=_base_url(),
        )
        status, body = route.operation(request)
        return _json(status, body)

    endpoint.__name__ = f"{route.method.lower()}_{route.path}"
    app.route(rule, method=route.method)(endpoint)


for _route in ROUTES:
    _register(_route)


@app.exception_handler(Unauthorized)
def _unauthorized(_: Unauthorized) -> Response:
    return _json(
        401,
        {"meta": {"error": "unauthorized: site id and api key do not match a workspace"}},
        headers={"WWW-Authenticate": 'Basic realm="track"'},
    )


@app.exception_handler(InvalidRequest)
def _invalid(exc: InvalidRequest) -> Response:
    logger.info("request refused", field=exc.field, reason=exc.reason)
    return _json(400, edge.customerio_error(exc))


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _json(404, {"meta": {"error": str(exc)}})


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response:
    return _json(409, {"meta": {"error": str(exc)}})


@app.exception_handler([ClientError, BotoCoreError, PynamoDBException])
def _storage_error(exc: Exception) -> Response:
    code = (
        exc.response.get("Error", {}).get("Code")
        if isinstance(exc, ClientError)
        else getattr(exc, "cause_response_code", None)
    )
    if code == "ValidationException":
        # The data itself cannot be stored: retrying cannot help, so this is the client's 400.
        logger.warning("storage refused the data", error_type=type(exc).__name__)
        return _json(400, {"meta": {"error": "request contains data that cannot be stored"}})
    # Throttling or a storage outage: 503 is retried by Customer.io's clients, and every write is
    # idempotent where the client gave an id.
    logger.exception("storage error", error_type=type(exc).__name__, code=code)
    return _json(503, {"meta": {"error": "temporarily unavailable, retry"}}, headers={"Retry-After": "1"})


@app.not_found
def _no_route(_: Exception) -> Response:
    return _json(
        404, {"meta": {"error": f"no route for {app.current_event.http_method} {app.current_event.path}"}}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
