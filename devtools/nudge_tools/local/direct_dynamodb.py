"""PynamoDB's item operations handed straight to moto's DynamoDB request handler, in the local runtime's
own process: no botocore request, no moto response serializer, no botocore parser in between.

Why: under ``mock_aws`` one ``GetItem`` is still a whole AWS request made in memory. botocore validates
and serializes the parameters, resolves an endpoint, signs; moto parses the request against the service
model, runs the operation, serializes the answer against the model again; botocore parses it back. The
operation itself is a dict look-up. Measured side by side in one process, a save and a get through
PynamoDB cost about thirty times more that way than handed to moto's handler directly, and the local
runtime makes thousands of such calls a second while importing people (``bench/README.md``).

What stays the same:

- The operation is moto's own: the same ``DynamoHandler`` method the HTTP path runs (its checks: empty
  keys, expression syntax and attribute names, item size), on the same backend, so the same locks
  (``moto_speedups``), the same stream records and the same state journal (``persistence``) apply.
- The parameters are PynamoDB's, copied through JSON as the wire would copy them (moto keeps parts of a
  request in the items it stores; the caller must not share them). The answer is moto's result before
  serialization: DynamoDB's JSON shapes, which is what botocore's parser returns for them (the platform
  stores no binary attributes, the one type botocore's parser would convert).
- An error is never answered here. A DynamoDB operation that fails changes nothing, so the call is made
  again through botocore, and the caller gets exactly the error botocore raises (a conditional check that
  failed, a cancelled transaction with its reasons, a validation error). Errors are the rare path.
- Only item operations take this path; table management (create, describe, TTL) keeps botocore's.

Only the local runtime installs this (``embedded_aws``); the tests' moto keeps the full botocore path,
and ``tests/integration/test_direct_dynamodb.py`` checks both paths answer alike.
"""

from __future__ import annotations

import json
import os
from typing import Any

from moto.core.exceptions import JsonRESTError, ServiceException
from moto.dynamodb.responses import DynamoHandler
from moto.iam.models import get_account_id_from
from pynamodb.connection.base import Connection

ITEM_OPERATIONS = {
    "GetItem": "get_item",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "DeleteItem": "delete_item",
    "Query": "query",
    "Scan": "scan",
    "BatchGetItem": "batch_get_item",
    "BatchWriteItem": "batch_write_item",
    "TransactGetItems": "transact_get_items",
    "TransactWriteItems": "transact_write_items",
}

_BOTOCORE_PATH = Connection._make_api_call


def call(region: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run one item operation in moto; raises moto's error for a request DynamoDB would refuse."""
    handler = DynamoHandler()
    # As moto's request set-up would: the account of the access key the clients sign with.
    handler.current_account = get_account_id_from(os.environ.get("AWS_ACCESS_KEY_ID", ""))
    handler.region = region
    handler.headers = {}
    handler.body = handler.params = json.loads(json.dumps(params))
    answer: dict[str, Any] = getattr(handler, ITEM_OPERATIONS[operation])().result
    return answer


def _make_api_call(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> dict[str, Any]:
    if operation_name in ITEM_OPERATIONS:
        try:
            return call(self.region, operation_name, operation_kwargs)
        except (JsonRESTError, ServiceException):
            pass  # nothing was changed: botocore's path below raises the error exactly as AWS's would
    return _BOTOCORE_PATH(self, operation_name, operation_kwargs)


def install() -> None:
    Connection._make_api_call = _make_api_call  # type: ignore[method-assign]


def uninstall() -> None:
    Connection._make_api_call = _BOTOCORE_PATH  # type: ignore[method-assign]
