"""The local email channel's ``sesv2:SendEmail`` handed straight to moto's SES handler, in the local
runtime's own process: no botocore request, no moto request parsing in between.

Why: a newsletter's send handler spent 29% of its time in the SES adapter, most of it botocore building,
signing and parsing an in-memory request to moto (``bench/README.md``, the #17 rows). In AWS the call is
a network round trip to SES, so this is the local runtime's cost only.

What stays the same (as in ``direct_dynamodb``): the adapter (``SesEmail``) builds the same parameters,
its raw MIME message included; the operation is moto's own ``SESV2Response.send_email`` on the same
backend, so moto's SES records the same message (``sent_messages``, the sending quota's count) and
refuses the same senders and addresses. The body is the JSON botocore would send (the raw message's
bytes base64-encoded, as botocore encodes a blob). An error is never answered here: moto refuses before
recording anything, so the call is made again through the botocore client, which raises exactly the
``ClientError`` the adapter expects from AWS. Every other call (``create_email_identity``) goes to the
botocore client as before.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from moto.core.exceptions import ServiceException
from moto.iam.models import get_account_id_from
from moto.sesv2.responses import SESV2Response
from werkzeug.exceptions import HTTPException


def _wire(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as botocore serializes them: the raw message's data, a blob, base64-encoded."""
    wire = json.loads(json.dumps({k: v for k, v in params.items() if k != "Content"}))
    content = dict(params["Content"])
    raw = content.get("Raw")
    if raw is not None:
        data = raw["Data"]
        encoded = data.encode() if isinstance(data, str) else bytes(data)
        content["Raw"] = {**raw, "Data": base64.b64encode(encoded).decode("ascii")}
    wire["Content"] = json.loads(json.dumps(content))
    return wire


class DirectSes:
    """A ``sesv2`` client whose ``send_email`` runs in moto's handler; anything else is ``client``'s."""

    def __init__(self, client: Any, region: str) -> None:
        self._client = client
        self._region = region

    def send_email(self, **params: Any) -> dict[str, Any]:
        handler = SESV2Response()
        # As moto's request set-up would: the account of the access key the clients sign with.
        handler.current_account = get_account_id_from(os.environ.get("AWS_ACCESS_KEY_ID", ""))
        handler.region = self._region
        handler.headers = {}
        handler.body = json.dumps(_wire(params))
        try:
            answer: dict[str, Any] = json.loads(handler.send_email())
        except (HTTPException, ServiceException):
            # nothing was recorded: botocore's path raises the error exactly as AWS's would
            return dict(self._client.send_email(**params))
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
