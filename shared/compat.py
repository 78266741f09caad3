"""Compatibility rules for published event schemas.

Published events live for good: consumers still on an old version read new
events, and the lake replays old events into new readers. So a change within
one major version must keep both directions working. :func:`breaking_changes`
compares two JSON Schemas of a payload and names every change that does not:

* ``field-removed``: a field disappeared (or was renamed);
* ``type-changed``: a field's JSON type changed;
* ``made-required``: an optional field became required;
* ``required-added``: a new field is required (old events do not have it);
* ``enum-value-removed``: an allowed value is gone (old events may carry it);
* ``constraint-tightened``: a bound, length or pattern now refuses values it accepted;
* ``nullability-removed``: a field that could be null no longer can;
* ``nullability-added``: a field that was never null now may be (a reader that
  needs the value cannot tell a null from a broken event);
* ``made-optional``: a required field may now be missing (the same, for absence);
* ``default-changed``: an optional field's ``default`` changed, appeared or went
  away: what a reader takes an absent value to mean is not what it meant.

Adding an optional field or an enum value is compatible because readers are
tolerant: they ignore fields they do not use, and read enumerated fields as
strings, skipping values they do not know (``shared.contracts.knows``;
``tests/contract_pairs/test_readers.py`` refuses a reader with a closed
``Literal``). The consumer-driven contract tests catch a reader that refuses
what a producer's committed schema allows. Keywords this module does not
compare one by one (``format``, ``multipleOf``, ``not``...) count as tightened
when they are added or changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

Schema = dict[str, Any]
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
_NARROWING = (
    "format",
    "multipleOf",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "propertyNames",
    "dependentRequired",
    "not",
    "allOf",
)
"""Keywords that can only narrow what is valid: adding or changing one is treated as breaking."""


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
    found: list[Breaking] = []
    _compare(_Resolver(old), old, _Resolver(new), new, "$", found, frozenset())
    return found


class _Resolver:
    """Follows local ``$ref``s (``#/$defs/Name``) of one schema document."""

    def __init__(self, root: Schema) -> None:
        self._defs: Schema = root.get("$defs", {})

    def __call__(self, schema: Schema) -> Schema:
        seen = 0
        while "$ref" in schema and seen < 32:
            schema = self._defs[schema["$ref"].rsplit("/", 1)[-1]]
            seen += 1
        return schema


def _branches(schema: Schema) -> tuple[Schema, bool]:
    """The schema without a ``null`` alternative, and whether null was allowed."""
    options = schema.get("anyOf")
    if options is None:
        return schema, schema.get("type") == "null"
    others = [o for o in options if o.get("type") != "null"]
    nullable = len(others) < len(options)
    if len(others) == 1:
        return others[0], nullable
    return {"anyOf": others}, nullable


def _compare(
    old_r: _Resolver,
    old: Schema,
    new_r: _Resolver,
    new: Schema,
    path: str,
    out: list[Breaking],
    seen: frozenset[tuple[str, str]],
) -> None:
    refs = (str(old.get("$ref")), str(new.get("$ref")))
    if "$ref" in old and "$ref" in new:
        if refs in seen:
            return  # a recursive definition, compared already on the way here
        seen = seen | {refs}
    old_s, old_null = _branches(old_r(old))
    new_s, new_null = _branches(new_r(new))
    old_s, new_s = old_r(old_s), new_r(new_s)
    if old_null and not new_null:
        out.append(Breaking(path, "nullability-removed", "null is no longer allowed"))
    if new_null and not old_null:
        out.append(Breaking(path, "nullability-added", "the value may now be null"))
    old_kinds, new_kinds = _kinds(old_r, old_s), _kinds(new_r, new_s)
    if sorted(old_kinds) != sorted(new_kinds):
        detail = f"{' | '.join(old_kinds)} -> {' | '.join(new_kinds)}"
        out.append(Breaking(path, "type-changed", detail))
        return
    if "anyOf" in old_s and "anyOf" in new_s:
        for old_o, new_o in zip(_by_kind(old_r, old_s), _by_kind(new_r, new_s), strict=True):
            _compare(old_r, old_o, new_r, new_o, path, out, seen)
        return
    _compare_enum(old_s, new_s, path, out)
    _compare_bounds(old_s, new_s, path, out)
    if old_s.get("type") == "object":
        _compare_object(old_r, old_s, new_r, new_s, path, out, seen)
    elif old_s.get("type") == "array" and "items" in old_s and "items" in new_s:
        _compare(old_r, old_s["items"], new_r, new_s["items"], f"{path}[]", out, seen)


def _kinds(resolve: _Resolver, schema: Schema) -> list[str]:
    """The JSON types a (null-less) schema allows, one per alternative, as declared."""
    if "anyOf" in schema:
        return [" | ".join(_kinds(resolve, resolve(o))) for o in schema["anyOf"]]
    kind = schema.get("type", "any")
    return list(kind) if isinstance(kind, list) else [str(kind)]


def _by_kind(resolve: _Resolver, union: Schema) -> list[Schema]:
    """A union's alternatives in the order of their types, so two unions pair up."""
    return sorted(union["anyOf"], key=lambda o: _kinds(resolve, resolve(o)))


def _compare_object(
    old_r: _Resolver,
    old: Schema,
    new_r: _Resolver,
    new: Schema,
    path: str,
    out: list[Breaking],
    seen: frozenset[tuple[str, str]],
) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
    for name in sorted(old_props):
        where = f"{path}.{name}"
        if name not in new_props:
            out.append(Breaking(where, "field-removed", "the field is gone (removed or renamed)"))
            continue
        if name in new_req and name not in old_req:
            out.append(Breaking(where, "made-required", "an optional field became required"))
        if name in old_req and name not in new_req:
            out.append(Breaking(where, "made-optional", "a required field may now be missing"))
        if name not in old_req and name not in new_req:
            _compare_default(old_props[name], new_props[name], where, out)
        _compare(old_r, old_props[name], new_r, new_props[name], where, out, seen)
    for name in sorted(set(new_props) - set(old_props)):
        if name in new_req:
            out.append(Breaking(f"{path}.{name}", "required-added", "a new field is required"))


def _compare_default(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    was, now = _default(old), _default(new)
    if was == now:
        return
    meaning = f"now reads as {now}" if now is not None else f"no longer reads as {was}"
    detail = f"{was or 'none'} -> {now or 'none'} (a value left out {meaning})"
    out.append(Breaking(path, "default-changed", detail))


def _default(schema: Schema) -> str | None:
    """The field's default as JSON text (so ``1`` and ``true`` differ), or ``None``."""
    return json.dumps(schema["default"], sort_keys=True) if "default" in schema else None


def _compare_enum(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    old_values = _allowed(old)
    new_values = _allowed(new)
    if new_values is None:
        return
    if old_values is None:
        out.append(Breaking(path, "constraint-tightened", f"now limited to {sorted(new_values)}"))
        return
    for value in sorted(old_values - new_values, key=str):
        out.append(Breaking(path, "enum-value-removed", f"{value!r} is no longer allowed"))


def _allowed(schema: Schema) -> set[Any] | None:
    if "const" in schema:
        return {schema["const"]}
    if "enum" in schema:
        return set(schema["enum"])
    return None


def _compare_bounds(old: Schema, new: Schema, path: str, out: list[Breaking]) -> None:
    for key in _LOWER_BOUNDS:
        if key in new and (key not in old or new[key] > old[key]):
            out.append(
                Breaking(path, "constraint-tightened", f"{key} {old.get(key)} -> {new[key]}")
            )
    for key in _UPPER_BOUNDS:
        if key in new and (key not in old or new[key] < old[key]):
            out.append(
                Breaking(path, "constraint-tightened", f"{key} {old.get(key)} -> {new[key]}")
            )
    for key in _NARROWING:
        if key in new and new[key] != old.get(key):
            out.append(
                Breaking(path, "constraint-tightened", f"{key} {old.get(key)} -> {new[key]}")
            )
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        out.append(
            Breaking(
                path, "constraint-tightened", f"pattern {old.get('pattern')} -> {new['pattern']}"
            )
        )
