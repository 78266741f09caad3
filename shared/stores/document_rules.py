"""What Firestore accepts as a document and its key, enforced by the embedded store too.

So a document the embedded system stores is one Firestore stores the same way:
keys are single path segments, map keys are strings, an array never holds an
array, integers fit in 64 bits, and tuples and sets become arrays (lists).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.exceptions import StoreError

_PLAIN = frozenset({str, float, bool, bytes, type(None)})
_ARRAYS = (list, tuple, set, frozenset)
_MAX_KEY_BYTES = 1500
_MIN_INT, _MAX_INT = -(2**63), 2**63 - 1


def check_key(collection: str, key: str) -> None:
    """Raise :class:`StoreError` unless ``key`` can name a document of ``collection``."""
    for name, what in ((collection, "collection"), (key, "document key")):
        if (
            not isinstance(name, str)
            or not name
            or "/" in name
            or name in (".", "..")
            or (name.startswith("__") and name.endswith("__"))
            or len(name.encode()) > _MAX_KEY_BYTES
        ):
            raise StoreError(f"{what} {name!r} is not a valid Firestore id")


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as Firestore would store it (the same object when nothing changes), or raise
    :class:`StoreError` naming the first field Firestore would refuse."""
    try:
        result: dict[str, Any] = _value(doc)
    except _Refused as refused:
        where = ".".join(reversed(refused.path)) or "the document"
        raise StoreError(f"{where}: {refused.problem}") from None
    return result


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        self.problem, self.path = problem, list[str]()


def _value(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is int:
        if not _MIN_INT <= value <= _MAX_INT:
            raise _Refused(f"{value} does not fit in 64 bits")
        return value
    if kind is dict:
        return _map(value)
    if isinstance(value, _ARRAYS):
        return _array(value)
    if isinstance(value, datetime):
        return value
    raise _Refused(f"{kind.__name__} is not a Firestore value")


def _map(value: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for k, v in value.items():
        if type(k) is not str:
            raise _Refused(f"map key {k!r} is not a string")
        try:
            new = v if type(v) in _PLAIN else _value(v)
        except _Refused as refused:
            refused.path.append(k)
            raise
        if new is not v:
            if out is None:
                out = dict(value)
            out[k] = new
    return value if out is None else out


def _array(value: Any) -> list[Any]:
    if type(value) is list:
        for v in value:
            if type(v) not in _PLAIN:
                break
        else:
            return value  # the common case: a list of plain values, kept as it is
    items: list[Any] = []
    for i, v in enumerate(value):
        try:
            if isinstance(v, _ARRAYS):
                raise _Refused("an array cannot hold an array")
            items.append(_value(v))
        except _Refused as refused:
            refused.path.append(str(i))
            raise
    unchanged = type(value) is list and all(a is b for a, b in zip(items, value, strict=True))
    return value if unchanged else items
