"""AWS clients, built by botocore from one session per thread.

Not boto3: Nudge uses clients only (no resources, no S3 transfer manager), and boto3 adds itself,
s3transfer and multiprocessing to the cold start of any function that imports it (about 16 ms of the App
API's, measured in bench/), while botocore is loaded already by PynamoDB. One session per thread, shared
with PynamoDB (``nudge.model.base``): a session loads botocore's data files (50-130 ms on a cold start),
so the second and later clients cost a few milliseconds; creating clients from one session is not
thread-safe, hence per thread.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config
from botocore.session import Session, get_session

from nudge.settings import get_settings

_sessions = threading.local()


def session() -> Session:
    """This thread's botocore session."""
    found = getattr(_sessions, "session", None)
    if found is None:
        found = _sessions.session = get_session()
    return found


def client(service: str, *, endpoint_url: str | None = None, config: Config | None = None) -> Any:
    """A client for ``service`` in the deployment's region (typed per service name by botocore: Any)."""
    return session().create_client(
        service, region_name=get_settings().region, endpoint_url=endpoint_url, config=config
    )
