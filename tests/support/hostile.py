"""Seeded hostile requests for every HTTP route: the routes come from the route tables themselves (a new
route is covered without touching the tests), and bodies from the project's own JSON Schemas, mutated.

Every request is a plain value (method, path with query, headers, body bytes), so the same stream can
be sent to a handler in-process or to the local gateway over HTTP.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from nudge import workspaces
from nudge.tracking.limits import MAX_JSON_DEPTH
from tests.support.track import basic

SEED = 1212  # NUDGE_HOSTILE_SEED overrides it (see the tests); a failure names the seed that found it


@dataclass(frozen=True)
class Endpoint:
    api: str  # "track", "app" or "links": which handler serves it
    method: str
    path: str  # template: /v1/segments/{segment_id}
    body_schema: dict[str, Any] | None = None
    credentials: str = ""  # whose good credentials it is sent with: the api's, unless it takes its own

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def __str__(self) -> str:
        return f"{self.api} {self.method} {self.path}"


@dataclass(frozen=True)
class HostileRequest:
    endpoint: Endpoint
    method: str
    url: str  # path and query string
    headers: dict[str, str]
    body: bytes | None
    note: str  # what kind of hostility, for the failure report

    def __str__(self) -> str:
        shown = (self.body or b"")[:120]
        return f"{self.endpoint} -> {self.method} {self.url[:160]} [{self.note}] body={shown!r}"


def endpoints() -> list[Endpoint]:
    """Every route of every HTTP table: the Track API, the App API and the tracking links."""
    from nudge.http.app_api.routes import ROUTES as APP_ROUTES
    from nudge.http.links import ROUTES as LINK_ROUTES
    from nudge.http.pipelines_api import PATHS as PIPELINES_PATHS
    from nudge.http.track_api import ROUTES as TRACK_ROUTES

    return [
        *(
            # The Pipelines API's routes are on the Track function, with a key of their own.
            Endpoint(
                "track", r.method, r.path, r.body_schema, "pipelines" if r.path in PIPELINES_PATHS else ""
            )
            for r in TRACK_ROUTES
        ),
        *(Endpoint("app", r.method, r.path, r.body_schema) for r in APP_ROUTES),
        *(Endpoint("links", r.method, r.path) for r in LINK_ROUTES),
    ]


def known_schemas() -> dict[str, dict[str, Any]]:
    """Schemas for the App API's bodies, keyed by the body key that holds them: routes whose table
    declares no body schema still get bodies shaped like the real thing."""
    from nudge.campaigns import definition
    from nudge.segments.conditions import CONDITION_SCHEMA

    return {"conditions": CONDITION_SCHEMA, "campaign": definition.schema(), "recipients": CONDITION_SCHEMA}


# Keys the App API reads without a declared schema (transactional sends, templates, settings, segments,
# broadcasts); the schemas' own property names are added to these.
EXTRA_KEYS = (
    "segment", "name", "description", "conditions", "campaign", "identifiers", "message_data", "to",
    "subject", "body", "from", "reply_to", "smtp", "message_limit", "count", "days", "sending_rate",
    "send_at", "transactional_message_id", "ids", "recipients", "data", "email", "id", "cio_id", "channel",
    "layout_id", "headers", "attachments", "bcc", "tracked", "host", "port", "username", "password",
    "security", "per_user_data", "emails", "title", "message", "url", "method", "trigger_name",
)  # fmt: skip

HOSTILE_STRINGS = (
    "", " ", "x" * 3000, "é" * 700, "\x00", "a\r\nSet-Cookie: x=1", "\u202e\ufeff", "😀" * 60,
    "../../etc/passwd", "<script>alert(1)</script>", "{{ 7 * 7 }}", "{% for x in y %}", "{{ customer",
    "%ff%fe", "cio_" + "f" * 40, "true", "-0", "1e999", "NaN", "@", "a@b", "\ud800", "🙂\udfff",
)  # fmt: skip
HOSTILE_NUMBERS: tuple[Any, ...] = (
    0, -1, 1.5, -0.0, 2**31, 2**63, 10**40, -(10**40), 12345678901234567890123456789012345678901,
    1e308, 5e-324, 1e-200, 10**126, 253_402_300_800,
)  # fmt: skip
HOSTILE_SCALARS: tuple[Any, ...] = (None, True, False, *HOSTILE_NUMBERS, *HOSTILE_STRINGS)

# Path parameter values, before percent-encoding (a few are sent raw: they are their own encoding).
RAW_PATH_VALUES = ("%ff", "%ff%fe%fd", "%00", "%0d%0a", "%", "%zz", "%2F..%2F", "%c0%af")


def examples(pools: dict[str, list[str]]) -> dict[tuple[str, str], Any]:
    """A valid body per route where one is known, keyed by (method, path template): mutating a valid body
    reaches the rules behind the first few. A route missing here still gets schema-shaped bodies."""
    template = pools.get("template_id", ["1"])[0]
    email = {"identifiers": {"id": "ann"}, "to": "ann@example.com", "subject": "Hi {{ customer.plan }}"}
    email["body"] = '<p><a href="https://shop.example/p?a=1">Buy</a></p>'
    operation = {"type": "person", "action": "identify", "identifiers": {"id": "ann"}, "attributes": {"a": 1}}
    delivery = pools.get("delivery_id", ["d1"])[0]
    campaign = {
        "name": "C",
        "trigger": {"type": "event", "name": "signed_up"},
        "workflow": {
            "start": "b1",
            "blocks": {"b1": {"type": "send", "channel": "email", "template_id": template}},
        },
    }
    template_fields = {
        "name": "T",
        "channel": "email",
        "subject": "Hi {{ customer.email }}",
        "body": "<p>x</p>",
    }
    condition = {
        "and": [{"attribute": {"field": "plan", "operator": "eq", "value": "pro"}}, {"event": {"name": "x"}}]
    }
    return {
        ("POST", "/v1/segments"): {"segment": {"name": "Pro", "conditions": condition}},
        ("PUT", "/v1/segments/{segment_id}"): {"segment": {"name": "Pro", "conditions": condition}},
        ("POST", "/v1/segments/{segment_id}/add_customers"): {"ids": ["ann"]},
        ("POST", "/v1/segments/{segment_id}/remove_customers"): {"ids": ["ann"]},
        ("POST", "/v1/campaigns"): {"campaign": campaign},
        ("PUT", "/v1/campaigns/{campaign_id}"): {"campaign": campaign},
        ("POST", "/v1/campaigns/{campaign_id}/triggers"): {"ids": ["ann"], "data": {"x": 1}},
        ("POST", "/v1/send/email"): {**email, "message_data": {"a": 1}, "send_at": 1_900_000_000},
        ("POST", "/v1/send/sms"): {"identifiers": {"id": "ann"}, "to": "+15555550100", "body": "hi"},
        ("POST", "/v1/send/push"): {"identifiers": {"id": "ann"}, "title": "t", "message": "m"},
        ("POST", "/v1/send/in_app"): {"identifiers": {"id": "ann"}, "title": "t", "body": "b"},
        ("POST", "/v1/templates"): template_fields,
        ("PUT", "/v1/templates/{template_id}"): template_fields,
        ("POST", "/v1/templates/{template_id}/preview"): {
            "identifiers": {"id": "ann"},
            "message_data": {"a": 1},
        },
        ("POST", "/v1/layouts"): {"name": "L", "body": "<html>{{ content }}</html>"},
        ("PUT", "/v1/layouts/{layout_id}"): {"name": "L", "body": "<html>{{ content }}</html>"},
        ("PUT", "/v1/snippets/{name}"): {"body": "<b>{{ customer.plan }}</b>"},
        ("PUT", "/v1/settings/delivery"): {
            "from": "a@example.com",
            "message_limit": {"count": 3, "days": 7},
            "sending_rate": 10,
            "smtp": {"host": "smtp.example.com", "port": 587},
        },
        ("PUT", "/api/v1/customers/{identifier}"): {
            "email": "ann@example.com",
            "plan": "pro",
            "n": {"a": [1]},
        },
        ("POST", "/api/v1/customers/{identifier}/events"): {"name": "purchase", "data": {"price": 5}},
        ("POST", "/api/v1/events"): {"name": "purchase", "anonymous_id": "anon-1", "data": {"price": 5}},
        ("PUT", "/api/v1/customers/{identifier}/devices"): {"device": {"id": "tok", "platform": "ios"}},
        ("POST", "/api/v1/merge_customers"): {"primary": {"id": "ann"}, "secondary": {"id": "bob"}},
        ("POST", "/api/v2/entity"): operation,
        ("POST", "/api/v2/batch"): {"batch": [operation, {**operation, "action": "event", "name": "x"}]},
        ("POST", "/api/v1/metrics"): {"delivery_id": delivery, "metric": "opened"},
        ("POST", "/api/v1/push/events"): {"delivery_id": delivery, "event": "opened"},
        ("POST", "/push/events"): {"delivery_id": delivery, "event": "delivered"},
        **pipelines_examples(),
    }


def pipelines_examples() -> dict[tuple[str, str], Any]:
    """A valid call for each Pipelines route, and a batch of them all."""
    common = {
        "userId": "ann",
        "messageId": "m-1",
        "timestamp": "2026-01-01T00:00:00Z",
        "context": {"ip": "::1"},
    }
    calls = {
        "identify": {**common, "traits": {"email": "ann@example.com", "createdAt": "2025-01-01T00:00:00Z"}},
        "track": {**common, "event": "purchase", "properties": {"price": 5}},
        "page": {**common, "name": "Home", "properties": {"url": "https://shop.example/"}},
        "screen": {**common, "name": "Home"},
        "group": {**common, "groupId": "acme", "traits": {"objectTypeId": "1", "name": "Acme"}},
        "alias": {**common, "previousId": "visitor-1"},
    }
    batch = [{**call, "type": kind} for kind, call in calls.items()]
    return {
        **{("POST", f"/v1/{kind}"): call for kind, call in calls.items()},
        ("POST", "/v1/batch"): {"batch": batch, "sentAt": "2026-01-01T00:00:01Z"},
    }


@dataclass
class Generator:
    """One seeded stream of hostile requests. ``pools`` holds real ids (a person, a segment, a
    campaign...) so that some requests get past the look-ups to the code behind them."""

    rng: random.Random
    pools: dict[str, list[str]]
    credentials: dict[str, dict[str, str]]  # api -> good auth headers
    link_secret: bytes
    workspace_id: str
    schemas: dict[str, dict[str, Any]] = field(default_factory=known_schemas)
    keys: list[str] = field(default_factory=list)
    valid: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.valid = examples(self.pools)
        found: set[str] = set(EXTRA_KEYS)
        for endpoint in endpoints():
            found.update(_property_names(endpoint.body_schema))
        for schema in self.schemas.values():
            found.update(_property_names(schema))
        self.keys = sorted(found)

    def requests(self, per_endpoint: int) -> Iterator[HostileRequest]:
        for endpoint in endpoints():
            for _ in range(per_endpoint):
                yield self.request(endpoint)

    def request(self, endpoint: Endpoint) -> HostileRequest:
        rng = self.rng
        path = endpoint.path
        for name in endpoint.params:
            path = path.replace("{" + name + "}", self._path_value(endpoint, name), 1)
        query = self._query()
        url = path + ("?" + query if query else "")
        headers = dict(self.credentials.get(endpoint.credentials or endpoint.api, {}))
        note = "shaped"
        if rng.random() < 0.08:
            headers["authorization"] = rng.choice(_HOSTILE_AUTH)
            note = "hostile auth"
        if rng.random() < 0.1:
            headers["idempotency-key"] = (
                rng.choice(HOSTILE_STRINGS).encode("utf-8", "replace").decode("latin-1")
            )
        body, kind = self._body(endpoint)
        headers["content-type"] = rng.choice(("application/json", "text/plain", "application/octet-stream"))
        return HostileRequest(endpoint, endpoint.method, url, headers, body, f"{note}, {kind}")

    # --- path and query ------------------------------------------------------------------------------

    def _path_value(self, endpoint: Endpoint, name: str) -> str:
        rng = self.rng
        roll = rng.random()
        if name == "token":
            return self._token()
        # Real ids reach real data, but not for what deletes it: the routes after need it too.
        destructive = endpoint.method == "DELETE" or endpoint.path.endswith("/suppress")
        if roll < 0.45 and self.pools.get(name) and not destructive:
            return quote(str(rng.choice(self.pools[name])), safe="")
        if roll < 0.6:
            return rng.choice(RAW_PATH_VALUES)
        value = rng.choice((*HOSTILE_STRINGS, *map(str, HOSTILE_NUMBERS)))
        return quote(value.encode("utf-8", "surrogatepass"), safe="") or "%20"

    def _query(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            return ""
        names = ("limit", "start", "id_type", "email", "next", rng.choice(self.keys))
        params = {
            rng.choice(names): rng.choice(
                ("²", "-1", "0", "99999999999999999999", "", "email", "cio_id", "id")
            )
            for _ in range(rng.randint(1, 3))
        }
        if rng.random() < 0.3:
            params[rng.choice(names)] = rng.choice(HOSTILE_STRINGS)
        return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in params.items()})

    def _token(self) -> str:
        """A click, open, unsubscribe or view token: garbage, or validly signed around hostile payloads."""
        from nudge.delivery import links

        rng = self.rng
        if rng.random() < 0.3:
            return quote(
                rng.choice((*HOSTILE_STRINGS, "a.b", "." * 50, "A" * 5000)).encode("utf-8", "replace")
            )
        payload: dict[str, Any] = {
            "w": rng.choice((self.workspace_id, self.workspace_id, "w" * 3000, 5, None)),
            "d": rng.choice((*self.pools.get("delivery_id", []), "d1", "d" * 3000, "", 7)),
        }
        if rng.random() < 0.7:
            payload["i"] = rng.choice((0, 1, -1, 2**70, "0", None, 1.5))
        purpose = rng.choice((links.OPEN, links.CLICK, links.UNSUBSCRIBE, links.VIEW))
        return links.sign(self.link_secret, purpose, payload)

    # --- bodies ------------------------------------------------------------------------------------------

    def _body(self, endpoint: Endpoint) -> tuple[bytes | None, str]:
        rng = self.rng
        roll = rng.random()
        if endpoint.method in ("GET", "DELETE") and roll < 0.7:
            return None, "no body"
        if roll < 0.25:
            return rng.choice(_RAW_BODIES), "raw"
        if roll < 0.35:
            return self._deep(), "deep"
        value = self._shaped(endpoint)
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            value = self._mutate(value, 0)
        return _encode(value, rng), "mutated"

    def _deep(self) -> bytes:
        rng = self.rng
        depth = rng.choice((MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 100, 1000, 100_000))
        inner = rng.choice(('{"a":', "["))
        close = "}" if inner.startswith("{") else "]"
        opening = '{"x":' if rng.random() < 0.5 else ""
        text = opening + inner * (depth - 1) + "1" + close * (depth - 1) + ("}" if opening else "")
        return text.encode()

    def _shaped(self, endpoint: Endpoint) -> Any:
        rng = self.rng
        example = self.valid.get((endpoint.method, endpoint.path))
        if example is not None and rng.random() < 0.6:
            return copy.deepcopy(example)
        if endpoint.body_schema is not None and rng.random() < 0.8:
            return instance(endpoint.body_schema, endpoint.body_schema, rng, 0)
        body: dict[str, Any] = {}
        for _ in range(rng.randint(0, 5)):
            key = rng.choice(self.keys)
            body[key] = self._value_for(key, 0)
        if endpoint.path.startswith("/v1/segments") and rng.random() < 0.6:
            body = {"segment": {"name": rng.choice(("s", *HOSTILE_STRINGS)), **body}}
        return body

    def _value_for(self, key: str, depth: int) -> Any:
        rng = self.rng
        schema = self.schemas.get(key)
        if schema is not None and rng.random() < 0.7:
            return instance(schema, schema, rng, 0)
        return self._random_value(depth)

    def _random_value(self, depth: int) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth > 3 or roll < 0.6:
            return rng.choice(HOSTILE_SCALARS)
        if roll < 0.8:
            return [self._random_value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(self.keys): self._value_for(rng.choice(self.keys), depth + 1) for _ in range(3)}

    def _mutate(self, value: Any, depth: int) -> Any:
        """Replace one node somewhere in ``value`` by something hostile, or add or drop a key."""
        rng = self.rng
        if isinstance(value, dict) and value and rng.random() < 0.75:
            key = rng.choice(list(value))
            roll = rng.random()
            if roll < 0.15:
                return {k: v for k, v in value.items() if k != key}
            if roll < 0.3:
                return {
                    **value,
                    rng.choice((*self.keys, "x" * 3000, "\ud800", "")): self._random_value(depth),
                }
            return {**value, key: self._mutate(value[key], depth + 1)}
        if isinstance(value, list) and value and rng.random() < 0.75:
            index = rng.randrange(len(value))
            copy = list(value)
            if rng.random() < 0.1:
                # Many items, but not thousands: a v2 batch of thousands of tiny operations is valid
                # and slow (each is a write), which is a question of capacity, not of bad input.
                return copy * rng.choice((2, 50))
            copy[index] = self._mutate(copy[index], depth + 1)
            return copy
        return self._random_value(depth)


_HOSTILE_AUTH = (
    "",
    "Basic",
    "Basic %%%",
    "Bearer",
    "Bearer " + "k" * 5000,
    "Basic " + "QQ==" * 2000,
    basic("\x00", "\x00"),
    basic("site", "key\r\nx"),
    "Bearer \u00e9\u00e9",
    "Basic w7Y6w7Y=",  # "ö:ö" in UTF-8
)
_RAW_BODIES: tuple[bytes, ...] = (
    b"\xff\xfe\xfd",
    b'{"name": "caf\xe9"}',
    b"\xef\xbb\xbf{}",  # a byte-order mark
    '{"a": "é"}'.encode("utf-16"),
    b"[]",
    b"null",
    b"1",
    b'"text"',
    b"{",
    b'{"a":',
    b"{}}",
    b"NaN",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": 1e999}',
    b'{"a": -1e999}',
    b'{"a": 1' + b"0" * 5000 + b"}",
    b'{"a": "\\ud800"}',
    b'{"\\udfff": 1}',
    b'{"a": "\\u0000"}',
    b'{"a": 1, "a": 2}',
    b"   ",
    b"\x00" * 64,
    b"a=1&b=2",
    b'{"batch": ' + b"[{}]" * 3 + b"}",
    b'{"' + b"k" * 100_000 + b'": 1}',
)


def _encode(value: Any, rng: random.Random) -> bytes:
    # ensure_ascii=False with surrogatepass: a lone surrogate becomes bytes no UTF-8 decoder accepts.
    if rng.random() < 0.5:
        return json.dumps(value).encode()
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                yield from value
            yield from _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _property_names(item)


# --- a JSON Schema instance generator (just the keywords the project's schemas use) -----------------------


def instance(schema: Any, root: dict[str, Any], rng: random.Random, depth: int) -> Any:
    """A random value that mostly fits ``schema`` (``root`` resolves ``#/$defs/...`` references)."""
    if not isinstance(schema, dict) or depth > 14:
        return rng.choice(HOSTILE_SCALARS)
    if "$id" in schema and schema is not root:
        root = schema  # an embedded resource: its own references resolve against it
    if "$ref" in schema:
        target, target_root = _resolve(schema["$ref"], root)
        return instance(target, target_root, rng, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return rng.choice(schema["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return instance(rng.choice(schema[combinator]), root, rng, depth + 1)
    if "allOf" in schema:
        return instance(schema["allOf"][0], root, rng, depth + 1)
    return _of_type(schema, root, rng, depth)


def _of_type(schema: dict[str, Any], root: dict[str, Any], rng: random.Random, depth: int) -> Any:
    """A random value of the schema's ``type`` (one of them, when it lists several)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind)
    if kind == "object" or "properties" in schema:
        return _object(schema, root, rng, depth)
    if kind == "array":
        low = int(schema.get("minItems", 0))
        return [
            instance(schema.get("items", {}), root, rng, depth + 1) for _ in range(rng.randint(low, low + 2))
        ]
    if kind == "string":
        return rng.choice(("ann", "pro", "x", "signed_up", "a@example.com", "https://example.com/p"))
    if kind == "integer":
        low, high = int(schema.get("minimum", 0)), int(schema.get("maximum", 2_000_000_000))
        return rng.randint(low, min(high, low + 2_000_000_000))
    if kind == "number":
        return rng.uniform(float(schema.get("minimum", -1e6)), float(schema.get("maximum", 1e6)))
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return rng.choice(HOSTILE_SCALARS)


def _object(schema: dict[str, Any], root: dict[str, Any], rng: random.Random, depth: int) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    required: Sequence[str] = schema.get("required", [])
    chosen = [name for name in properties if name in required or rng.random() < 0.5]
    body = {name: instance(properties[name], root, rng, depth + 1) for name in chosen}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and rng.random() < 0.5:
        body[rng.choice(("plan", "k", "first_name"))] = instance(extra, root, rng, depth + 1)
    return body


def _resolve(ref: str, root: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The referenced schema, and the resource its own references resolve against."""
    resource_id, _, fragment = ref.partition("#")
    if resource_id:  # a reference into an embedded resource by its $id
        root = _find_resource(root, resource_id) or root
    return _pointer(root, fragment), root


def _find_resource(node: Any, resource_id: str) -> dict[str, Any] | None:
    if isinstance(node, dict):
        if node.get("$id") == resource_id:
            return node
        for value in node.values():
            found = _find_resource(value, resource_id)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _find_resource(item, resource_id)
            if found is not None:
                return found
    return None


def _pointer(document: Any, fragment: str) -> Any:
    for part in [p for p in fragment.split("/") if p]:
        document = document[part.replace("~1", "/").replace("~0", "~")]
    return document


def good_credentials(keys: workspaces.IssuedKeys) -> dict[str, dict[str, str]]:
    return {
        "track": {"authorization": basic(keys.site_id, keys.track_api_key)},
        "app": {"authorization": f"Bearer {keys.app_api_key}"},
        "pipelines": {"authorization": basic(keys.cdp_api_key, "")},
    }
