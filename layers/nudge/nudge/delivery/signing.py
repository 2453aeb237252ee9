"""The secret that signs tracking links, read once per process.

In AWS it lives in Secrets Manager (``NUDGE_LINK_SECRET_ARN``, created by the stack); the local runtime
and tests hand it over directly in ``NUDGE_LINK_SECRET``. It is never logged.
"""

from __future__ import annotations

from functools import lru_cache

from nudge import aws_clients
from nudge.settings import get_settings


class MissingSecret(RuntimeError):
    pass


@lru_cache(maxsize=1)
def link_secret() -> bytes:
    settings = get_settings()
    if settings.link_secret:
        return settings.link_secret.encode()
    arn = settings.link_secret_arn
    if not arn:
        raise MissingSecret("neither NUDGE_LINK_SECRET nor NUDGE_LINK_SECRET_ARN is set")
    value = aws_clients.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return str(value).encode()
