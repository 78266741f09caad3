"""Compatibility rules for published event schemas.

Published events live for good, and a major version is read both ways round:
consumers still on the old schema read new events (some validate them against
the schema file they fetched), and old events reach readers written for the new
schema (the lake replays them, a fault is resubmitted, Pub/Sub redelivers). So
a change within one major version must keep both directions working.
:func:`breaking_changes` compares two JSON Schemas of a payload and names every
change that does not:

* ``field-removed``: a field disappeared (or was renamed);
* ``type-changed``: a field's JSON type changed, or a union gained or lost an alternative;
* ``made-required``: an optional field became required;
* ``required-added``: a new field is required (old events do not have it);
* ``enum-value-removed``: an allowed value is gone (old events may carry it);
* ``constraint-tightened``: a bound, length, pattern or format now refuses values
  it accepted (old events may carry them);
* ``constraint-loosened``: a bound, length, pattern or format now accepts values
  it refused (a reader of the old schema refuses the new events);
* ``nullability-removed``: a field that could be null no longer can;
* ``nullability-added``: a field that was never null now may be (a reader that
  needs the value cannot tell a null from a broken event);
* ``made-optional``: a required field may now be missing (the same, for absence);
* ``default-changed``: an optional field's ``default`` changed, appeared or went
  away: what a reader takes an absent value to mean is not what it meant.
  Defaults are compared as JSON values (``1`` and ``1.0`` are one number,
  ``1`` and ``true`` are not);
* ``object-closed``: an object now refuses properties it does not list
  (``additionalProperties: false``): published schemas stay open, or the next
  optional field would break the readers that validate.

Every part of a payload that holds values is compared, through ``$ref``s
(recursive ones too): properties (``$.a.b``), array items (``$.a[]``), a
tuple's positions (``$.a[0]``), a map's values (``$.a.*``) and each
alternative of a union.

Two changes are compatible because readers are tolerant: adding an optional
field (they ignore fields they do not use), and adding an enum value or
lifting an enum (they read enumerated fields as strings, skipping values they
do not know: ``shared.contracts.knows``; ``tests/contract_pairs/test_readers.py``
refuses a reader with a closed ``Literal``). How a schema is written is not a
change: annotations (descriptions, titles, examples), ``$ref`` names, the order
of a union's alternatives, ``oneOf`` for ``anyOf``, ``exclusiveMinimum: 0`` for
``minimum: 1`` on an integer. Keywords this module does not compare by value
(``pattern``, ``format``, ``multipleOf``, ``not``...) count as tightened when
added or changed, and as loosened when dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]
Bound = tuple[float, bool]
"""A numeric bound: its value, and whether it is exclusive."""

_LENGTHS = (
    ("minLength", "maxLength"),
    ("minItems", "maxItems"),
    ("minProperties", "maxProperties"),
)
_OPAQUE = (
    "pattern",
    "format",
    "multipleOf",
    "uniqueItems",
    "propertyNames",
    "patternProperties",
    "dependentRequired",
    "dependentSchemas",
    "contains",
    "not",
    "allOf",
    "if",
)
"""Keywords compared as a whole: adding or changing one narrows what is valid, dropping
one widens it."""
_UNIONS = ("anyOf", "oneOf")
_TIGHTENED, _LOOSENED = "constraint-tightened", "constraint-loosened"


@dataclass(frozen=True, slots=True)
class Breaking:
    """One incompatible change: where, which rule, and what happened."""

    path: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}: {self.detail}"


def breaking_changes(old: Schema, new: Schema) -> list[Breaking]:
    """Every change from ``old`` to ``new`` that breaks a reader or a replay."""
    comparison = _Comparison(_Resolver(old), _Resolver(new))
    comparison.values(old, new, "$", frozenset())
    return comparison.found


class _Resolver:
    """Follows local ``$ref``s (``#/$defs/Name``) of one schema document, and the
    one-element ``allOf`` older generators wrap a ``$ref`` in."""

    def __init__(self, root: Schema) -> None:
        self._defs: Schema = root.get("$defs", {})

    def __call__(self, schema: Schema) -> Schema:
        for _ in range(32):
            if "$ref" in schema:
                schema = self._defs[schema["$ref"].rsplit("/", 1)[-1]]
            elif _wrapper(schema):
                schema = schema["allOf"][0]
            else:
                break
        return schema


def _wrapper(schema: Schema) -> bool:
    wrapped = schema.get("allOf")
    return isinstance(wrapped, list) and len(wrapped) == 1 and "type" not in schema


def _union(schema: Schema) -> list[Schema] | None:
    """A union's alternatives, or ``None`` when ``schema`` is not one."""
    for key in _UNIONS:
        if isinstance(schema.get(key), list):
            return list(schema[key])
    return None


def _branches(resolve: _Resolver, schema: Schema) -> tuple[Schema, bool]:
    """``schema`` (its ``$ref`` followed) without a ``null`` alternative, and whether null
    was allowed."""
    schema = resolve(schema)
    options = _union(schema)
    if options is None:
        kind = schema.get("type")
        if not isinstance(kind, list):
            return schema, kind == "null"
        rest = [k for k in kind if k != "null"]
        if len(rest) > 1:  # one alternative per type, to compare them as a union's
            return {"anyOf": [{**schema, "type": k} for k in rest]}, len(rest) < len(kind)
        return {**schema, "type": rest[0] if rest else "null"}, len(rest) < len(kind)
    others = [o for o in options if resolve(o).get("type") != "null"]
    nullable = len(others) < len(options)
    if not others:
        return resolve(options[0]), True
    if len(others) == 1:
        inner, inner_null = _branches(resolve, others[0])
        return inner, nullable or inner_null
    return {"anyOf": others}, nullable


_Seen = frozenset[tuple[int, int]]
"""The (old, new) schema pairs being compared up the stack, by ``id``."""


class _Comparison:
    """One comparison of two schema documents: how each resolves its ``$ref``s, and
    the incompatible changes found so far."""

    def __init__(self, old_r: _Resolver, new_r: _Resolver) -> None:
        self.old_r, self.new_r = old_r, new_r
        self.found: list[Breaking] = []

    def values(self, old: Schema, new: Schema, path: str, seen: _Seen) -> None:
        """Compare the schemas of the values at ``path``, and every part of them."""
        old_s, old_null = _branches(self.old_r, old)
        new_s, new_null = _branches(self.new_r, new)
        # Every schema in ``seen`` is held by a caller up the stack, so its id is its own.
        pair = (id(old_s), id(new_s))
        if pair in seen:
            return  # a recursive definition, being compared already on the way here
        seen = seen | {pair}
        out = self.found
        if old_null and not new_null:
            out.append(Breaking(path, "nullability-removed", "null is no longer allowed"))
        if new_null and not old_null:
            out.append(Breaking(path, "nullability-added", "the value may now be null"))
        old_kinds, new_kinds = _kinds(self.old_r, old_s), _kinds(self.new_r, new_s)
        if sorted(old_kinds) != sorted(new_kinds):
            detail = f"{' | '.join(old_kinds)} -> {' | '.join(new_kinds)}"
            out.append(Breaking(path, "type-changed", detail))
            return
        old_options, new_options = _union(old_s), _union(new_s)
        if old_options is not None and new_options is not None:
            old_o, new_o = _paired(self.old_r, old_options), _paired(self.new_r, new_options)
            for old_option, new_option in zip(old_o, new_o, strict=True):
                self.values(old_option, new_option, path, seen)
            return
        _compare_enum(old_s, new_s, path, out)
        _compare_bounds(old_s, new_s, path, out)
        _compare_keywords(old_s, new_s, path, out)
        if old_s.get("type") == "object":
            self._object(old_s, new_s, path, seen)
        elif old_s.get("type") == "array":
            self._array(old_s, new_s, path, seen)

    def _object(self, old: Schema, new: Schema, path: str, seen: _Seen) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
        out = self.found
        for name in sorted(old_props):
            where = f"{path}.{name}"
            if name not in new_props:
                gone = "the field is gone (removed or renamed)"
                out.append(Breaking(where, "field-removed", gone))
                continue
            if name in new_req and name not in old_req:
                out.append(Breaking(where, "made-required", "an optional field became required"))
            if name in old_req and name not in new_req:
                out.append(Breaking(where, "made-optional", "a required field may now be missing"))
            if name not in old_req and name not in new_req:
                _compare_default(old_props[name], new_props[name], where, out)
            self.values(old_props[name], new_props[name], where, seen)
        for name in sorted(set(new_props) - set(old_props)):
            if name in new_req:
                out.append(Breaking(f"{path}.{name}", "required-added", "a new field is required"))
        self._unlisted_properties(old, new, path, seen)

    def _unlisted_properties(self, old: Schema, new: Schema, path: str, seen: _Seen) -> None:
        """The properties an object does not list: still allowed, and (a map's values) alike."""
        was, now = _unlisted(old), _unlisted(new)
        if now is None:
            if was is not None:
                detail = "properties it does not list are refused now (published schemas stay open)"
                self.found.append(Breaking(path, "object-closed", detail))
            return
        if was is not None and (was or now):
            self.values(was, now, f"{path}.*", seen)

    def _array(self, old: Schema, new: Schema, path: str, seen: _Seen) -> None:
        """The items, and a tuple's items one by one (its length is ``minItems``/``maxItems``)."""
        was, now = old.get("items", {}), new.get("items", {})
        if isinstance(was, dict) and isinstance(now, dict):
            self.values(was, now, f"{path}[]", seen)
        prefixes = zip(old.get("prefixItems", ()), new.get("prefixItems", ()), strict=False)
        for i, (old_i, new_i) in enumerate(prefixes):
            self.values(old_i, new_i, f"{path}[{i}]", seen)


def _kinds(resolve: _Resolver, schema: Schema) -> list[str]:
    """The JSON types a (null-less) schema allows, one per alternative, as declared."""
    options = _union(schema)
    if options is not None:
        return [" | ".join(_kinds(resolve, resolve(o))) for o in options]
    kind = schema.get("type", "any")
    return [str(k) for k in kind] if isinstance(kind, list) else [str(kind)]


def _paired(resolve: _Resolver, options: list[Schema]) -> list[Schema]:
    """A union's alternatives in an order that pairs them with another union's: by type,
    then by the constants that tag them (a discriminated union's), then by name."""
    return sorted(options, key=lambda o: (_kinds(resolve, resolve(o)), _tag(resolve, o)))


def _tag(resolve: _Resolver, option: Schema) -> str:
    properties = resolve(option).get("properties", {})
    tags = sorted(
        f"{name}={_canonical(resolve(sub)['const'])}"
        for name, sub in properties.items()
        if isinstance(sub, dict) and "const" in resolve(sub)
    )
    return " ".join(tags) or str(option.get("$ref", ""))


def _unlisted(schema: Schema) -> Schema | None:
    """The schema of the properties an object does not list, ``None`` if it refuses them."""
    if schema.get("unevaluatedProperties") is False:
        return None
    extra = schema.get("additionalProperties", True)
    if extra is False:
        return None
    return extra if isinstance(extra, dict) else {}


def _compare_default(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    was, now = _default(old), _default(new)
    if was == now:
        return
    meaning = f"now reads as {now}" if now is not None else f"no longer reads as {was}"
    detail = f"{was or 'none'} -> {now or 'none'} (a value left out {meaning})"
    out.append(Breaking(path, "default-changed", detail))


def _default(schema: Schema) -> str | None:
    """The field's default as canonical JSON text, or ``None``."""
    return _canonical(schema["default"]) if "default" in schema else None


def _canonical(value: Any) -> str:
    """``value`` as JSON text that is the same for the same JSON value: ``1.0`` is ``1``
    (JSON has one kind of number), ``true`` stays ``true``, keys are sorted."""
    return json.dumps(_same_number(value), sort_keys=True)


def _same_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_same_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _same_number(v) for k, v in value.items()}
    return value


def _compare_enum(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    old_values, new_values = _allowed(old), _allowed(new)
    if new_values is None:
        return
    if old_values is None:
        shown = sorted(new_values.values(), key=_canonical)
        out.append(Breaking(path, _TIGHTENED, f"now limited to {shown}"))
        return
    for key in sorted(old_values.keys() - new_values.keys()):
        out.append(
            Breaking(path, "enum-value-removed", f"{old_values[key]!r} is no longer allowed")
        )


def _allowed(schema: Schema) -> dict[str, Any] | None:
    """The values a ``const`` or ``enum`` allows, by their canonical JSON; ``None`` if any."""
    if "const" in schema:
        return {_canonical(schema["const"]): schema["const"]}
    if "enum" in schema:
        return {_canonical(v): v for v in schema["enum"]}
    return None


def _compare_bounds(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    """Numeric bounds and lengths, both ways: a narrower range refuses old events, a
    wider one lets through new events the old schema refuses."""
    integer = new.get("type") == "integer"
    _judge(path, out, "minimum", _lower(old, integer), _lower(new, integer), _tighter_low)
    _judge(path, out, "maximum", _upper(old, integer), _upper(new, integer), _tighter_high)
    for low, high in _LENGTHS:
        _judge(path, out, low, _length(old, low), _length(new, low), _tighter_low)
        _judge(path, out, high, _length(old, high), _length(new, high), _tighter_high)


def _judge(
    path: str,
    out: list[Breaking],
    what: str,
    was: Bound | None,
    now: Bound | None,
    tighter: Callable[[Bound, Bound], bool],
) -> None:
    """Report a bound that moved: ``tighter(a, b)`` says whether ``a`` narrows ``b``."""
    if was == now:
        return
    if now is not None and (was is None or tighter(now, was)):
        rule = _TIGHTENED
    elif was is not None and (now is None or tighter(was, now)):
        rule = _LOOSENED
    else:
        return
    out.append(Breaking(path, rule, f"{what} {_shown(was)} -> {_shown(now)}"))


def _tighter_low(a: Bound, b: Bound) -> bool:
    return a > b  # a higher value; at the same value, an exclusive bound


def _tighter_high(a: Bound, b: Bound) -> bool:
    return (-a[0], a[1]) > (-b[0], b[1])  # a lower value; at the same value, an exclusive bound


def _lower(schema: Schema, integer: bool) -> Bound | None:
    bounds: list[Bound] = []
    if (low := _number(schema, "minimum")) is not None:
        bounds.append((low, False))
    if (low := _number(schema, "exclusiveMinimum")) is not None:
        bounds.append((math.floor(low) + 1, False) if integer else (low, True))
    return max(bounds) if bounds else None


def _upper(schema: Schema, integer: bool) -> Bound | None:
    bounds: list[Bound] = []
    if (high := _number(schema, "maximum")) is not None:
        bounds.append((high, False))
    if (high := _number(schema, "exclusiveMaximum")) is not None:
        bounds.append((math.ceil(high) - 1, False) if integer else (high, True))
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def _length(schema: Schema, key: str) -> Bound | None:
    """A length bound (a minimum of 0 is none)."""
    value = _number(schema, key)
    return None if value is None or (key.startswith("min") and value == 0) else (value, False)


def _number(schema: Schema, key: str) -> float | None:
    value = schema.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _shown(bound: Bound | None) -> str:
    if bound is None:
        return "none"
    value = _canonical(bound[0])
    return f"{value} (exclusive)" if bound[1] else value


def _compare_keywords(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    for key in _OPAQUE:
        was, now = _keyword(old, key), _keyword(new, key)
        if was == now:
            continue
        rule = _LOOSENED if now is None else _TIGHTENED
        out.append(Breaking(path, rule, f"{key} {was or 'none'} -> {now or 'none'}"))


def _keyword(schema: Schema, key: str) -> str | None:
    """A keyword's value as canonical JSON, ``None`` when absent (or, ``uniqueItems``, false)."""
    if key not in schema or (key == "uniqueItems" and schema[key] is False):
        return None
    return _canonical(schema[key])
