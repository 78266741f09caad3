"""JSON Schemas of the published payloads, one file per type and major version.

A schema is derived from the contract's pydantic model as it is serialized on
the wire (by alias, camelCase), so it states exactly what a consumer receives.
Output is deterministic (sorted keys, two-space indent, trailing newline):
the committed file changes only when the contract does.

A published schema is open: it has no ``additionalProperties: false``, since
adding an optional field is a compatible change within a major version and a
consumer validating events against the schema it once fetched must accept the
new field. The producer still sends nothing beyond its contract (the model
refuses extra fields, ``extra="forbid"``). Descriptions are the contract's
docstrings as prose (:func:`~shared.prose.prose`); a major version
superseded by a newer one is ``deprecated``.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic.json_schema import GenerateJsonSchema

from shared.exceptions import KitError
from shared.prose import described, each_schema

if TYPE_CHECKING:
    from pydantic_core import core_schema

    from shared.catalog.inventory import Published

Schema = dict[str, Any]
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR = "schemas"
_FILE = re.compile(r"^(?P<type>[a-z0-9.-]+)\.v(?P<version>[1-9][0-9]*)\.json$")


def schema_file(event_type: str, version: int) -> str:
    """The schema's path inside the contracts directory: ``schemas/<type>.v<major>.json``."""
    return f"{SCHEMAS_DIR}/{event_type}.v{version}.json"


def parse_schema_file(name: str) -> tuple[str, int] | None:
    """``(type, major)`` of a schema file name, or ``None`` when it is not one."""
    match = _FILE.match(name)
    return None if match is None else (match["type"], int(match["version"]))


def schema_of(event: Published) -> Schema:
    """The payload's open JSON Schema (2020-12) with the event's identity in ``x-`` fields."""
    schema: Schema = event.contract.model_json_schema(
        by_alias=True, mode="serialization", schema_generator=_WithFactoryDefaults
    )
    schema.update(
        {
            "$schema": DIALECT,
            "$id": f"urn:fooddelivery:contracts:{event.type}:v{event.version}",
            "title": f"{event.type} v{event.version}",
            "description": event.contract.__doc__ or event.type,
            "x-type": event.type,
            "x-version": event.version,
            "x-entity": event.entity,
            "x-partition-key": event.partition_key,
            "x-producer": f"{event.producer}/{event.service}/{event.function}",
        }
    )
    if event.attributes:
        schema["x-attributes"] = list(event.attributes)
    if event.superseded_by is not None:
        schema["deprecated"] = True
        schema["x-superseded-by"] = event.superseded_by
    return _published(schema)


class _WithFactoryDefaults(GenerateJsonSchema):
    """Pydantic's generator, also stating the ``default`` a ``default_factory`` gives: what an
    absent value means is part of the contract however the model spells it."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return super().get_default_value(schema)


def _published(schema: Schema) -> Schema:
    """``schema`` as published: objects open, descriptions as prose, and no property titles
    (pydantic's are the field name run together, ``Prepminutes``), at any depth."""
    return described(each_schema(schema, _open_and_untitled))


def _open_and_untitled(schema: Schema) -> Schema:
    out = {k: v for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            name: {k: v for k, v in sub.items() if k != "title"} if isinstance(sub, dict) else sub
            for name, sub in out["properties"].items()
        }
    return out


def render_json(document: Any) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def example(schema: Schema) -> Any:
    """A deterministic example instance of ``schema``.

    Takes a field's first ``examples`` value, else its ``const``, first
    ``enum`` value or ``default``, else the smallest value its type and bounds
    allow. A string is named after its field (``name-1``), an id after what it
    identifies, so ids agree across events: ``orderId`` and an order's ``id``
    are both ``order-1`` (the entity of the payload, ``x-entity``, names its
    own ``id``). A number keeps to its bounds and ``multipleOf``, an array to its length
    and a tuple to its positions. A string with a ``pattern`` or a ``format``, and an array
    of several distinct items, need ``examples`` (pydantic: ``Field(examples=[...])``),
    since none can be guessed: :class:`ValueError` says which field.
    """
    entity = schema.get("x-entity", "value")
    return _example(schema, schema.get("$defs", {}), entity, frozenset(), entity)


class ExampleError(KitError):
    """A contract's example cannot be made, or does not fit the contract."""


def example_of(event: Published) -> Any:
    """The catalog's example payload of ``event`` (:func:`example`), checked by its contract.

    Raises :class:`ExampleError`, naming the event and the field, when no example can be
    made (a ``pattern`` without ``examples``...) or the one made does not fit the contract
    (the field then needs ``examples``): an example that does not fit is never published.
    """
    where = f"{event.type} v{event.version}"
    try:
        body = example(schema_of(event))
    except ValueError as e:
        raise ExampleError(f"{where}: no example for the catalog: {e}") from e
    try:
        event.contract.model_validate(body)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "$"
        raise ExampleError(
            f"{where}: the catalog's example does not fit the contract ({field}: {first['msg']}): "
            f"give the field examples=[...]"
        ) from e
    return body


class _Recursion(Exception):
    """The example reached a definition it is already inside of."""


def _example(schema: Schema, defs: Schema, name: str, inside: frozenset[str], owner: str) -> Any:
    """An example of ``schema``, the value of the field ``name`` of an ``owner`` object."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        if ref in inside:
            raise _Recursion(ref)
        return _example(defs[ref], defs, name, inside | {ref}, owner)
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"] or schema["anyOf"]
        return _example(options[0], defs, name, inside, owner)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        found = {field: _example(sub, defs, field, inside, name) for field, sub in props.items()}
        extra = schema.get("additionalProperties")
        for i in range(len(found), schema.get("minProperties", 0)):  # a map that is never empty
            found[f"key-{i + 1}"] = _example(
                extra if isinstance(extra, dict) else {}, defs, name, inside, owner
            )
        return found
    if kind == "array":
        return _array(schema, defs, name, inside, owner)
    if "default" in schema:
        return schema["default"]
    if kind == "string":
        for keyword in ("pattern", "format"):
            if keyword in schema:
                raise ValueError(f"field {name!r} has a {keyword}: give it examples=[...]")
        text = f"{_identified(name, owner)}-1"
        return text[: schema.get("maxLength", len(text))].ljust(schema.get("minLength", 0), "x")
    if kind in ("integer", "number"):
        return _number(schema, name, integer=kind == "integer")
    if kind == "boolean":
        return True
    return None


def _identified(name: str, owner: str) -> str:
    """What an ``id`` or ``...Id`` field identifies, in kebab case; else the field's name."""
    if name == "id":
        name = owner
    elif name.endswith("Id") and len(name) > 2:
        name = name.removesuffix("Id")
    else:
        return name
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _array(schema: Schema, defs: Schema, name: str, inside: frozenset[str], owner: str) -> Any:
    """As many items as ``minItems`` asks (at least one, unless ``maxItems`` is 0), a tuple's
    by position; a recursive structure ends with an empty list."""
    item_name = name.removesuffix("s")
    positions = schema.get("prefixItems", [])
    try:
        items = [_example(sub, defs, item_name, inside, owner) for sub in positions]
        wanted = max(1, schema.get("minItems", 1))
        wanted = min(wanted, schema.get("maxItems", wanted))
        if len(items) < wanted:
            item = _example(schema.get("items", {}), defs, item_name, inside, owner)
            if schema.get("uniqueItems") and len(items) + 1 < wanted:
                raise ValueError(f"field {name!r} needs distinct items: give it examples=[...]")
            items += [item] * (wanted - len(items))
    except _Recursion:
        return []
    return items


def _number(schema: Schema, name: str, *, integer: bool) -> int | float:
    """The middle of the bounds, else just inside the bound, else 1; a multiple of
    ``multipleOf`` when there is one inside them."""
    low = _bound(schema, "minimum", "exclusiveMinimum", 1 if integer else None)
    high = _bound(schema, "maximum", "exclusiveMaximum", -1 if integer else None)
    if low is not None and high is not None:
        value = (low[0] + high[0]) / 2
    elif low is not None:
        value = low[0] + 1 if low[1] else low[0]
    else:
        value = 1 if high is None else min(high[0] - 1 if high[1] else high[0], 1)
    multiple = schema.get("multipleOf")
    if multiple:
        value = _multiple_near(value, multiple, low, high, name)
    return int(value) if integer else float(value)


def _bound(
    schema: Schema, inclusive: str, exclusive: str, shift: int | None
) -> tuple[float, bool] | None:
    """A bound and whether it is exclusive; an integer's (``shift`` given) exclusive bound is
    the inclusive one ``shift`` beside it."""
    if exclusive in schema:
        if shift is not None:
            return schema[exclusive] + shift, False
        return schema[exclusive], True
    return (schema[inclusive], False) if inclusive in schema else None


def _multiple_near(
    value: float,
    multiple: float,
    low: tuple[float, bool] | None,
    high: tuple[float, bool] | None,
    name: str,
) -> float:
    """The multiple of ``multiple`` closest above ``value`` inside the bounds, else below it."""
    for candidate in (
        math.ceil(value / multiple) * multiple,
        math.floor(value / multiple) * multiple,
    ):
        above = low is None or candidate > low[0] or (candidate == low[0] and not low[1])
        below = high is None or candidate < high[0] or (candidate == high[0] and not high[1])
        if above and below:
            return candidate
    raise ValueError(
        f"field {name!r} has no multiple of {multiple} in its bounds: give it examples"
    )
