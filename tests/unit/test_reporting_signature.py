"""The README's receiver-side check of a reporting webhook's signature accepts what the worker signs,
and nothing altered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nudge.reporting import worker

README = Path(__file__).resolve().parents[2] / "README.md"
SNIPPET = re.compile(
    r"^<!-- README example \(python\): reporting_webhooks_verify[^\n]*-->\n```python\n(.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
KEY = "9f" * 32
BODY = (
    '{"event_id":"01KBE6Z7Y4V0Q8D3N1XGJ5M2TA","object_type":"email","metric":"sent","timestamp":1,"data":{}}'
)


def _verified() -> Any:
    namespace: dict[str, Any] = {}
    exec(SNIPPET.search(README.read_text()).group(1), namespace)  # noqa: S102 - the README's own example
    return namespace["verified"]


def test_the_readmes_check_accepts_the_workers_signature() -> None:
    signature = worker.signature(KEY, "1764547260", BODY)

    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    assert _verified()(KEY, "1764547260", signature, BODY.encode())


def test_the_readmes_check_refuses_another_body_time_or_key() -> None:
    verified, signature = _verified(), worker.signature(KEY, "1764547260", BODY)

    assert not verified(KEY, "1764547260", signature, BODY.replace("sent", "opened").encode())
    assert not verified(KEY, "1764547261", signature, BODY.encode())
    assert not verified("0" * 64, "1764547260", signature, BODY.encode())
