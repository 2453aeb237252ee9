"""AWS underneath the local runtime: moto, in this process, reached two ways, and the resources Nudge needs,
created from the same definitions the CDK stack deploys (the PynamoDB models).

- This process's own clients (the handlers, the stream pumps, Step Functions' tasks) reach moto in-process
  through ``mock_aws``: a DynamoDB call is moto's work and botocore's, about a quarter of what the same
  call costs over HTTP to a server in the same process (serializing, a socket, werkzeug, parsing back).
- Everyone else (the CLI, scripts, tests, the AWS CLI) reaches the same moto through its server on
  ``endpoint_url``: moto's backends are module-global, so the mock and the server serve one state.

Hence ``AWS_ENDPOINT_URL`` must not be set in this process: botocore would send every client over HTTP.
A client given ``endpoint_url`` explicitly still goes over HTTP (the mock only intercepts AWS's own
host names).
"""

from __future__ import annotations

import os
import socket
import sys

from moto import mock_aws
from moto.server import ThreadedMotoServer

from nudge import settings

REGION = "us-east-1"
SWITCH_INTERVAL_SECONDS = 0.0005
# Fake credentials: the embedded endpoint accepts anything, and nothing here may ever reach real AWS.
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class EmbeddedAws:
    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.endpoint_url = f"http://{host}:{self.port}"
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)
        self._mock = mock_aws()

    def start(self) -> None:
        """Start moto, in-process for this process's clients and as a server for everyone else (before
        any client is created)."""
        os.environ.update(_ENVIRONMENT)
        # Many threads now share moto's CPU-bound work with no socket between them. A thread that drops
        # the GIL for a moment (botocore and PynamoDB draw a uuid4 from os.urandom on every call) waits a
        # whole switch interval to get it back from a busy one: 5 ms by default, several times per call.
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        # moto's Step Functions engine calls Lambda here when the mock is off (see stepfunctions.py).
        os.environ["MOTO_PORT"] = str(self.port)
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            os.environ.pop(name, None)
        settings.reload()  # read again by the next get_settings()
        from nudge_tools.local import botocore_cache, moto_speedups

        botocore_cache.install()  # moto's backends each start a session: botocore's files parsed once
        moto_speedups.install()  # per-item transactions: moto's own copy whole tables each time
        from nudge_tools.local import moto_asl_cache

        moto_asl_cache.install()  # one ANTLR parse per state machine definition, not per execution
        from nudge_tools.local import direct_dynamodb

        direct_dynamodb.install()  # PynamoDB's item operations straight into moto, not via botocore
        # reset=False: whatever is already in moto's backends (state loaded from disk) stays.
        self._mock.start(reset=False)
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
        from nudge_tools.local import direct_dynamodb

        direct_dynamodb.uninstall()
        # remove_data=False: the state outlives the mock, for whoever still reads it while stopping.
        self._mock.stop(remove_data=False)

    def create_tables(self) -> dict[str, str]:
        """Every table, from the models; returns logical table -> stream ARN for the streamed ones."""
        from nudge.model import TABLE_MODELS, create_tables

        create_tables()
        streams = {}
        for logical, model in TABLE_MODELS.items():
            if getattr(model.Meta, "streamed", False):
                described = model.describe_table()
                streams[logical] = described["LatestStreamArn"]
        return streams
