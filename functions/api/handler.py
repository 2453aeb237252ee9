"""App API Lambda: workspace management behind API Gateway (HTTP API, payload v2), for programs with a
Bearer app key (acting as admin) and for the web console with its session cookie, the workspace named in
``X-Nudge-Workspace`` and the user's role there. Each route's least role is checked by ``register``.

Errors answer in the App API's shape: ``{"errors": [{"detail", "status", "source": {"pointer"}}]}``.
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
from nudge.console_auth import sessions
from nudge.console_auth.users import NewPasswordRequired, UserPoolNotConfigured
from nudge.errors import Conflict, Forbidden, InvalidRequest, NotFound, Unauthorized, UnsupportedMediaType
from nudge.http import edge
from nudge.http.app_api.routes import ROUTES
from nudge.http.lambda_http import json_response, register
from nudge.http.routing import APP_OLDER_BASE, Caller
from nudge.roles import Role

composition.connect()  # delivery outcomes reach campaign counters and metering (nudge.composition)

logger = Logger(service="api")
app = APIGatewayHttpResolver()


def _authenticate(event: APIGatewayProxyEventV2) -> Caller:
    """A Bearer app key when the request has an Authorization header (programs: unchanged, admin), else
    the console's session cookie with the workspace its header names."""
    headers = event.headers or {}
    authorization = headers.get("authorization")
    if authorization is not None or sessions.COOKIE not in event.resolved_cookies_field:
        return Caller(workspaces.authenticate_app(edge.bearer_token(authorization)), Role.ADMIN)
    found = sessions.authorize(
        event.resolved_cookies_field.get(sessions.COOKIE), headers.get(sessions.WORKSPACE_HEADER)
    )
    return Caller(found.workspace_id, found.role, found.email)


# Every route also under Customer.io's older ``/v1/api/...`` base, for integrations written against it.
register(app, ROUTES, _authenticate, logger, aliases=[APP_OLDER_BASE])


def _errors(status: int, detail: str, pointer: str | None = None, code: str | None = None) -> Response:
    error: dict[str, Any] = {"detail": detail, "status": str(status)}
    if code:
        error["code"] = code  # what a program (the console) acts on, where the status alone is not enough
    if pointer:
        error["source"] = {"pointer": pointer}
    return json_response(status, {"errors": [error]})


@app.exception_handler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response:
    return _errors(401, str(exc) or "unauthorized: the app api key does not match a workspace")


@app.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response:
    return _errors(403, str(exc))


@app.exception_handler(NewPasswordRequired)
def _new_password_required(exc: NewPasswordRequired) -> Response:
    return _errors(403, str(exc), code=exc.code)


@app.exception_handler(UnsupportedMediaType)
def _unsupported_media_type(exc: UnsupportedMediaType) -> Response:
    return _errors(415, str(exc))


@app.exception_handler(UserPoolNotConfigured)
def _no_user_pool(exc: UserPoolNotConfigured) -> Response:
    # A deployment without the console's user pool wired: the operator's to fix, said once in the logs.
    logger.error("console sign-in is not configured", reason=str(exc))
    return _errors(503, "console sign-in is not configured on this deployment")


@app.exception_handler(InvalidRequest)
def _invalid(exc: InvalidRequest) -> Response:
    logger.info("request refused", field=exc.field, reason=exc.reason)
    source = {"pointer": exc.pointer}
    return json_response(
        400, {"errors": [{"detail": m, "status": "400", "source": source} for m in exc.messages]}
    )


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _errors(404, str(exc))


@app.exception_handler(Conflict)
def _conflict(exc: Conflict) -> Response:
    return _errors(409, str(exc))


@app.exception_handler([ClientError, BotoCoreError, PynamoDBException])
def _storage_error(exc: Exception) -> Response:
    if edge.refused_by_storage(exc):
        # The data itself cannot be stored (a key or item too big): retrying cannot help.
        logger.warning("storage refused the data", error_type=type(exc).__name__)
        return _errors(400, "request contains data that cannot be stored")
    logger.exception("storage error", error_type=type(exc).__name__)
    return json_response(
        503, {"errors": [{"detail": "temporarily unavailable, retry", "status": "503"}]}, {"Retry-After": "1"}
    )


@app.not_found
def _no_route(_: Exception) -> Response:
    return _errors(404, f"no route for {app.current_event.http_method} {app.current_event.path}")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
