"""The bare Powertools handler with one PynamoDB model: the floor for a handler that stores in DynamoDB.

Nothing of Nudge: the yardstick's ``Logger``, resolver and route, plus the smallest table model PynamoDB
allows. The difference to ``bench.baseline_handler`` is what the design card's storage library costs at
import (botocore's session, client and HTTP modules, urllib3), before any table, request or client.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from bench.baseline_handler import app


class Item(Model):
    class Meta:
        table_name = "baseline"

    pk = UnicodeAttribute(hash_key=True)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
