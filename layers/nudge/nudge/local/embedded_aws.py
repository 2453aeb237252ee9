"""AWS underneath the local runtime: moto in server mode, in this process, and the resources Nudge needs,
created from the same definitions the CDK stack deploys (the PynamoDB models)."""

from __future__ import annotations

import os
import socket

from moto.server import ThreadedMotoServer

REGION = "us-east-1"
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

    def start(self) -> None:
        """Start moto and point this process's AWS clients at it (before any client is created)."""
        os.environ.update(_ENVIRONMENT)
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        os.environ["MOTO_PORT"] = str(self.port)  # moto's Step Functions engine calls Lambda here
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB"):
            os.environ.pop(name, None)
        from nudge.local import moto_speedups

        moto_speedups.install()  # per-item transactions: moto's own copy whole tables each time
        from nudge.local import moto_asl_cache

        moto_asl_cache.install()  # one ANTLR parse per state machine definition, not per execution
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

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
