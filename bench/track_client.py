"""Send Track API requests straight into the real handler, as API Gateway (HTTP API, payload 2.0) would.

The same event builder as the integration tests' ``tests/support/track.TrackClient``
(``nudge_tools.local.apigw``), kept to what the benchmark needs. Import only after
``bench.environment.use_mocked_aws()``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.track import handler as track_handler
from nudge_tools.local.apigw import LocalContext, http_api_event, http_response


@dataclass(frozen=True)
class Answer:
    status: int
    raw: bytes


@dataclass(frozen=True)
class TrackClient:
    site_id: str
    api_key: str

    def request(self, method: str, path: str, body: Any) -> Answer:
        credentials = base64.b64encode(f"{self.site_id}:{self.api_key}".encode()).decode()
        headers = {"authorization": f"Basic {credentials}", "content-type": "application/json"}
        event = http_api_event(method, path, headers, json.dumps(body))
        # LocalContext carries every attribute of a Lambda context that Powertools reads.
        context = cast(LambdaContext, LocalContext())
        status, _, raw = http_response(track_handler.handler(event, context))
        return Answer(status, raw)

    def put(self, path: str, body: Any) -> Answer:
        return self.request("PUT", path, body)

    def post(self, path: str, body: Any) -> Answer:
        return self.request("POST", path, body)
