"""Table definitions read from the PynamoDB models, so the deployed key schema cannot drift from the code.

The source is ``Model._get_schema()``: the very schema ``Model.create_table`` sends to DynamoDB, which is
how the integration tests and the local runtime create their tables. It names attributes as DynamoDB
stores them (``attr_name``), and it includes indexes declared on discriminator subclasses. It is private
PynamoDB API, which is why ``pyproject.toml`` pins pynamodb below 7 and ``tests/infra`` cross-checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model


@dataclass(frozen=True)
class KeyAttribute:
    name: str
    type: str  # DynamoDB scalar type: S, N or B


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    logical_name: str
    partition_key: KeyAttribute
    sort_key: KeyAttribute | None
    global_indexes: tuple[IndexSpec, ...]
    local_indexes: tuple[IndexSpec, ...]
    stream_view_type: str | None
    stream_consumer: str | None  # the function the stream feeds (evaluate, send), for streamed tables
    ttl_attribute: str | None


def table_spec(model: type[Model]) -> TableSpec:
    schema: Any = model._get_schema()
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    partition_key, sort_key = _keys(schema["key_schema"], types)
    ttl = model._ttl_attribute()
    # Carries nudge's own keys (logical_name, streamed, stream_consumer): see nudge.model.base.
    meta: Any = model.Meta
    stream_view_type = getattr(meta, "stream_view_type", None)
    stream_consumer = getattr(meta, "stream_consumer", None)
    if bool(getattr(meta, "streamed", False)) != (stream_view_type is not None):
        raise ValueError(f"{model.__name__}: Meta.streamed and Meta.stream_view_type disagree")
    if (stream_view_type is not None) != bool(stream_consumer):
        raise ValueError(f"{model.__name__}: a streamed table names its consumer, and only a streamed one")
    return TableSpec(
        logical_name=meta.logical_name,
        partition_key=partition_key,
        sort_key=sort_key,
        global_indexes=tuple(_index(i, types) for i in schema["global_secondary_indexes"]),
        local_indexes=tuple(_index(i, types) for i in schema["local_secondary_indexes"]),
        stream_view_type=stream_view_type,
        stream_consumer=stream_consumer,
        ttl_attribute=ttl.attr_name if ttl is not None else None,
    )


def table_specs(models: Mapping[str, type[Model]]) -> tuple[TableSpec, ...]:
    specs = tuple(table_spec(model) for model in models.values())
    for name, spec in zip(models, specs, strict=True):
        if spec.logical_name != name:
            raise ValueError(f"TABLE_MODELS[{name!r}] names its table {spec.logical_name!r}")
    return specs


def _keys(
    key_schema: list[dict[str, str]], types: Mapping[str, str]
) -> tuple[KeyAttribute, KeyAttribute | None]:
    # PynamoDB lists index key attributes in attribute order, not HASH first: pick them by key type.
    by_type = {k["KeyType"]: KeyAttribute(k["AttributeName"], types[k["AttributeName"]]) for k in key_schema}
    return by_type["HASH"], by_type.get("RANGE")


def _index(index: dict[str, Any], types: Mapping[str, str]) -> IndexSpec:
    partition_key, sort_key = _keys(index["key_schema"], types)
    projection = index["projection"]
    return IndexSpec(
        name=index["index_name"],
        partition_key=partition_key,
        sort_key=sort_key,
        projection=projection["ProjectionType"],
        non_key_attributes=tuple(projection.get("NonKeyAttributes", ())),
    )
