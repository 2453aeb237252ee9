"""The smallest Powertools HTTP API handler: the cold-start yardstick for Nudge's handlers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger = Logger(service="baseline")
app = APIGatewayHttpResolver()


@app.get("/")
def index() -> dict[str, Any]:
    return {}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
