"""What Firestore accepts as a document and its key, enforced by the embedded store too.

So a document the embedded system stores is one Firestore stores the same way:
keys are single path segments, map keys are strings, an array never holds an
array, integers fit in 64 bits, and tuples and sets become arrays (lists).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.exceptions import StoreError

_SCALARS = (bool, str, float, bytes, datetime, type(None))
_ARRAYS = (list, tuple, set, frozenset)
_MAX_KEY_BYTES = 1500


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


def normalized(doc: Any, path: str = "") -> Any:
    """``doc`` as Firestore would store it (the same object when nothing changes), or raise
    :class:`StoreError` naming the first field Firestore would refuse."""
    if isinstance(doc, _SCALARS):
        return doc
    if isinstance(doc, int):
        if not -(2**63) <= doc < 2**63:
            raise StoreError(f"{path or 'the document'}: {doc} does not fit in 64 bits")
        return doc
    if isinstance(doc, dict):
        out: dict[str, Any] | None = None
        for k, v in doc.items():
            if not isinstance(k, str):
                raise StoreError(f"{path or 'the document'}: map key {k!r} is not a string")
            new = normalized(v, f"{path}.{k}" if path else k)
            if new is not v and out is None:
                out = dict(doc)
            if out is not None:
                out[k] = new
        return doc if out is None else out
    if isinstance(doc, _ARRAYS):
        items = []
        for i, v in enumerate(doc):
            if isinstance(v, _ARRAYS):
                raise StoreError(f"{path}.{i}: an array cannot hold an array")
            items.append(normalized(v, f"{path}.{i}"))
        if isinstance(doc, list) and all(a is b for a, b in zip(items, doc, strict=True)):
            return doc
        return items
    raise StoreError(f"{path or 'the document'}: {type(doc).__name__} is not a Firestore value")
