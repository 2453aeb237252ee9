"""Turn an HTTP request into the event API Gateway (HTTP API, payload 2.0) would hand a Lambda, and the
Lambda's answer back into status, headers and body. The local runtime and the tests both use this, so
the handlers see exactly the event shape they get in AWS.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class LocalContext:
    """The parts of a Lambda context that Powertools reads."""

    function_name: str = "nudge-local"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:nudge-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def http_api_event(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes | str | None = None
) -> dict[str, Any]:
    """``url`` may be absolute or a path with a query string; the path stays percent-encoded."""
    parts = urlsplit(url)
    raw_path = parts.path or "/"
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    # Payload 2.0 moves the Cookie header into its own field, one entry per cookie.
    cookie_header = lowered.pop("cookie", "")
    cookies = [c.strip() for c in cookie_header.split(";") if c.strip()]
    if parts.netloc and "host" not in lowered:
        lowered["host"] = parts.netloc
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    raw = body.encode() if isinstance(body, str) else body
    is_text = raw is None or _is_utf8(raw)
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": parts.query,
        "headers": lowered,
        "cookies": cookies or None,
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "http": {
                "method": method.upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": None if raw is None else (raw.decode() if is_text else base64.b64encode(raw).decode()),
        "isBase64Encoded": not is_text,
    }


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


SET_COOKIE_SEPARATOR = "\n"


def http_response(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body bytes from a Lambda proxy result. Its ``cookies`` (payload 2.0) become
    ``set-cookie``, several joined by ``SET_COOKIE_SEPARATOR`` (a newline: it cannot occur in a header
    value, where a comma can); the gateway sends each as a header of its own."""
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    if result.get("cookies"):
        headers["set-cookie"] = SET_COOKIE_SEPARATOR.join(str(c) for c in result["cookies"])
    return int(result.get("statusCode", 200)), headers, data
