"""Track API Lambda: Customer.io-compatible ingestion behind API Gateway (HTTP API, payload v2).

Thin by design: authenticate, hand the request to the route table's operation, shape the answer.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from nudge import composition, workspaces
from nudge.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from nudge.http import edge, pipelines_api
from nudge.http.lambda_http import json_response, register
from nudge.http.routing import Caller
from nudge.http.track_api import ROUTES
from nudge.roles import Role

composition.connect()  # delivery outcomes reach campaign counters and metering (nudge.composition)

logger = Logger(service="track")
app = APIGatewayHttpResolver()


def _pipelines(event: APIGatewayProxyEventV2) -> bool:
    """A Pipelines API request: its own key, and Customer.io's Pipelines error shape."""
    return event.path in pipelines_api.PATHS


def _authenticate(event: APIGatewayProxyEventV2) -> Caller:
    # A site's Track key may call every Track route, a Pipelines key every Pipelines route: the key is the
    # whole permission, and neither opens the other's routes.
    header = (event.headers or {}).get("authorization")
    if _pipelines(event):
        return Caller(workspaces.authenticate_cdp(edge.pipelines_key(header)), Role.ADMIN)
    return Caller(workspaces.authenticate_track(*edge.basic_credentials(header)), Role.ADMIN)


def _error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> Response:
    """An error in the shape the route's clients parse: Customer.io's Track API or its Pipelines API."""
    if _pipelines(app.current_event):
        return json_response(status, pipelines_api.error_body(code, message), headers=headers)
    return json_response(status, {"meta": {"error": message}}, headers=headers)


register(app, ROUTES, _authenticate, logger)


@app.exception_handler(Unauthorized)
def _unauthorized(_: Unauthorized) -> Response:
    if _pipelines(app.current_event):
        return _error(
            401,
            "unauthorized: the Pipelines API key does not match a workspace",
            "unauthorized",
            headers={"WWW-Authenticate": 'Basic realm="pipelines"'},
        )
    return _error(
        401,
        "unauthorized: site id and api key do not match a workspace",
        "unauthorized",
        headers={"WWW-Authenticate": 'Basic realm="track"'},
    )


@app.exception_handler(InvalidRequest)
def _invalid(exc: InvalidRequest) -> Response:
    logger.info("request refused", field=exc.field, reason=exc.reason)
    if _pipelines(app.current_event):
        return _error(400, str(exc), exc.reason)
    return json_response(400, edge.customerio_error(exc))


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _error(404, str(exc), "not_found")


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response:
    return _error(409, str(exc), "conflict")


@app.exception_handler([ClientError, BotoCoreError, PynamoDBException])
def _storage_error(exc: Exception) -> Response:
    if edge.refused_by_storage(exc):
        # The data itself cannot be stored: retrying cannot help, so this is the client's 400.
        logger.warning("storage refused the data", error_type=type(exc).__name__)
        return _error(400, "request contains data that cannot be stored", "invalid")
    # Throttling or a storage outage: 503 is retried by Customer.io's clients, and every write is
    # idempotent where the client gave an id.
    logger.exception("storage error", error_type=type(exc).__name__)
    return _error(503, "temporarily unavailable, retry", "unavailable", headers={"Retry-After": "1"})


@app.not_found
def _no_route(_: Exception) -> Response:
    return json_response(
        404, {"meta": {"error": f"no route for {app.current_event.http_method} {app.current_event.path}"}}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
