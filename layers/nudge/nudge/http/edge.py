"""What every HTTP edge shares: reading credentials, telling storage errors apart and shaping error
bodies."""

from __future__ import annotations

import base64
import binascii

from botocore.exceptions import ClientError, ParamValidationError
from pynamodb.exceptions import PynamoDBException

from nudge.errors import InvalidRequest, Unauthorized

# DynamoDB's answer to data it can never store (a key over 2048/1024 bytes, an item over 400 KB, a
# number it cannot represent). Throttling and outages have other codes.
_REFUSED = "ValidationException"


def basic_credentials(header: str | None) -> tuple[str, str]:
    """``Basic base64(site_id:api_key)``, in the standard or the URL-safe alphabet (the Go client)."""
    if not header:
        raise Unauthorized()
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized()
    encoded = encoded.strip()
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        text = raw.decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized() from exc
    site_id, sep, api_key = text.partition(":")
    if not sep:
        raise Unauthorized()
    return site_id, api_key


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized()
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def pipelines_key(header: str | None) -> str:
    """A Pipelines API key: the user of HTTP Basic auth with an empty password (Customer.io's documented
    form, and what its Node client sends), or a Bearer token (what its Python client sends for keys shaped
    ``sk_us_...``). A Basic password is refused: a key sent there is a mistake, not a second credential."""
    if header and header.strip().lower().startswith("bearer"):
        return bearer_token(header)
    key, password = basic_credentials(header)
    if password:
        raise Unauthorized()
    return key


def customerio_error(exc: InvalidRequest) -> dict[str, object]:
    """Customer.io's error shape: ``meta.error`` for one problem, ``meta.errors`` for several."""
    if len(exc.messages) == 1:
        return {"meta": {"error": exc.messages[0]}}
    return {"meta": {"errors": exc.messages}}


def refused_by_storage(exc: Exception) -> bool:
    """True when DynamoDB refused the request's data itself, directly or as a transaction's reason (or
    botocore refused the parameters before sending them): the client's 400, since retrying the same data
    can never succeed (a 503 would be retried forever)."""
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    if isinstance(cause, ParamValidationError):
        return True
    if not isinstance(cause, ClientError):
        return False
    codes = [cause.response.get("Error", {}).get("Code")]
    codes += [reason.get("Code") for reason in cause.response.get("CancellationReasons") or [] if reason]
    return _REFUSED in codes
