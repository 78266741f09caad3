"""Evaluate query conditions on plain documents (for the embedded store)."""

from __future__ import annotations

from typing import Any

from shared.stores.base import Doc, Where

_MISSING = object()


def field_value(doc: Doc, path: str) -> Any:
    """The value at a dotted ``path``, or a sentinel when absent."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def matches(doc: Doc, where: Where) -> bool:
    """Evaluate one condition the way Firestore does (absent fields never match)."""
    value = field_value(doc, where.field)
    if value is _MISSING:
        return False
    try:
        match where.op:
            case "==":
                return bool(value == where.value)
            case "!=":
                return bool(value != where.value)
            case "<":
                return bool(value < where.value)
            case "<=":
                return bool(value <= where.value)
            case ">":
                return bool(value > where.value)
            case ">=":
                return bool(value >= where.value)
            case "in":
                return value in where.value
            case "array_contains":
                return isinstance(value, list) and where.value in value
    except TypeError:
        return False
    return False


def sort_key(doc: Doc, path: str) -> Any:
    """The value to order by, or ``None`` when the field is absent (such docs are left out)."""
    value = field_value(doc, path)
    return None if value is _MISSING else value
