"""What Firestore accepts as a document and its key, enforced by the embedded store too.

So a document the embedded system stores is one Firestore stores the same way:
keys are single path segments Firestore does not reserve, map keys are
non-empty strings it does not reserve (``__.*__``) whose field path (the names of the maps
above joined by ``.``) takes at most 1500 UTF-8 bytes, maps and
arrays nest at most :data:`MAX_DEPTH` deep, an array never holds an array, integers fit
in 64 bits, and tuples and sets become arrays (lists). :func:`check_size` holds a document
to Firestore's size limits. Both backends refuse an invalid key on every operation,
reads included, with :class:`~shared.exceptions.InvalidKey`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.exceptions import InvalidDocument, InvalidKey

_PLAIN = frozenset({str, float, bool, bytes, type(None)})
_ARRAYS = (list, tuple, set, frozenset)
_MAX_KEY_BYTES = 1500
"""The most UTF-8 bytes in a document id, and in a field path (a field name with the names
of the maps above it, joined by ``.``; arrays on the way add nothing)."""
_MIN_INT, _MAX_INT = -(2**63), 2**63 - 1
MAX_DEPTH = 20
"""How deep Firestore lets maps and arrays nest in a document."""
MAX_DOCUMENT_BYTES = 1_048_576
"""The most a document may take, counted as :func:`check_size` counts it."""
MAX_VALUE_BYTES = MAX_DOCUMENT_BYTES - 89
"""The most bytes one string (in UTF-8) or bytes value may hold."""
MAX_QUERY_VALUE_BYTES = 1500
"""The most a value compared in a query may take, counted as :func:`check_size` counts it."""
MAX_QUERY_PATH_BYTES = 1499
"""The most UTF-8 bytes of a field path a query conditions or orders on (one fewer than
a stored field's path may take: the emulator refuses 1500)."""


_KNOWN_LIMIT = 1 << 16
"""How many valid ids, and field names, this module remembers as valid."""
_known_ids: set[str] = set()
_known_field_names: set[str] = set()


def check_key(collection: str, key: str) -> None:
    """Raise :class:`InvalidKey` unless ``key`` can name a document of ``collection``."""
    if type(collection) is not str or collection not in _known_ids:
        check_collection(collection)
    if type(key) is str and key in _known_ids:
        return
    problem = id_problem(key)
    if problem is not None:
        raise InvalidKey("document id", key, problem)
    _remember(_known_ids, key)


def check_collection(collection: str) -> None:
    """Raise :class:`InvalidKey` unless ``collection`` can name a (top-level) collection."""
    if type(collection) is str and collection in _known_ids:
        return
    problem = id_problem(collection)
    if problem is not None:
        raise InvalidKey("collection id", collection, problem)
    _remember(_known_ids, collection)


def _remember(known: set[str], name: object) -> None:
    """Note ``name``, just found valid, so that the next check of it is a lookup."""
    if type(name) is str:  # a subclass could compare equal to what it is not
        if len(known) >= _KNOWN_LIMIT:
            known.clear()
        known.add(name)


def id_problem(name: object) -> str | None:
    """What Firestore finds wrong with ``name`` as a collection or document id, or ``None``."""
    if not isinstance(name, str):
        return f"it is a {type(name).__name__}, not a string"
    if not name:
        return "it is empty"
    if "/" in name:
        return "it contains '/'"
    if name in (".", ".."):
        return "'.' and '..' are reserved"
    if len(name) >= 4 and name.startswith("__") and name.endswith("__"):
        return "ids matching __.*__ are reserved"
    try:
        size = len(name.encode())
    except UnicodeEncodeError:  # a lone surrogate
        return "it is not valid UTF-8"
    if size > _MAX_KEY_BYTES:
        return f"it is longer than {_MAX_KEY_BYTES} bytes"
    return None


def is_field_name(name: str) -> bool:
    """Whether Firestore takes ``name`` as a map key (a field name)."""
    return bool(name) and not (len(name) >= 4 and name.startswith("__") and name.endswith("__"))


def _utf8_size(text: str) -> int | None:
    """How many bytes ``text`` takes in UTF-8, or ``None`` when it is not valid UTF-8."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode())
    except UnicodeEncodeError:  # a lone surrogate, e.g. from json.loads('"\\ud83d"')
        return None


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as Firestore would store it (the same object when nothing changes), or raise
    :class:`InvalidDocument` naming the first field Firestore would refuse."""
    if not isinstance(doc, dict):
        kind = type(doc).__name__
        raise InvalidDocument("the document", f"a document is a map, not a {kind}")
    try:
        result: dict[str, Any] = _value(doc)
    except _Refused as refused:
        where = ".".join(reversed(refused.path)) or "the document"
        raise InvalidDocument(where, refused.problem) from None
    return result


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        self.problem, self.path = problem, list[str]()


def _value(value: Any, depth: int = 0, prefix: int = 0) -> Any:
    """``value`` as Firestore stores it; ``prefix`` is how many UTF-8 bytes the field path
    of the map holding it takes, with the ``.`` after it (0 in the document itself)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is int:
        if not _MIN_INT <= value <= _MAX_INT:
            raise _Refused(f"{value} does not fit in 64 bits")
        return value
    if kind is dict or isinstance(value, _ARRAYS):
        if depth > MAX_DEPTH:
            raise _Refused(f"maps and arrays nest at most {MAX_DEPTH} deep")
        return _map(value, depth, prefix) if kind is dict else _array(value, depth, prefix)
    if isinstance(value, datetime):
        _check_instant(value)
        return value
    raise _Refused(f"{kind.__name__} is not a Firestore value")


def _check_instant(value: datetime) -> None:
    """Refuse a datetime whose instant is outside the years 1 to 9999 in UTC, as no Firestore
    timestamp holds it (an aware one near either end; a naive one is taken as UTC)."""
    if value.tzinfo is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            problem = f"{value} is outside Firestore's timestamps (years 1 to 9999 UTC)"
            raise _Refused(problem) from None


def _map(value: dict[Any, Any], depth: int, prefix: int) -> dict[str, Any]:
    out: dict[str, Any] | None = None
    for k, v in value.items():
        if type(k) is not str or k not in _known_field_names:
            _check_field_name(k)
        if prefix:  # a nested field: its whole path counts (a top-level name was checked)
            _check_path(prefix, k)
        kind = type(v)
        if kind in _PLAIN or (kind is int and _MIN_INT <= v <= _MAX_INT):
            continue  # the common case, inline: a value kept as it is
        try:
            new = _value(v, depth + 1, prefix + _name_size(k) + 1)
        except _Refused as refused:
            refused.path.append(k)
            raise
        if new is not v:
            if out is None:
                out = dict(value)
            out[k] = new
    return value if out is None else out


def _check_field_name(k: Any) -> None:
    if type(k) is not str:
        raise _Refused(f"map key {k!r} is not a string")
    if not is_field_name(k):
        raise _Refused(f"map key {k!r}: empty keys and keys matching __.*__ are reserved")
    size = _utf8_size(k)
    if size is None:
        raise _Refused(f"map key {k!r} is not valid UTF-8")
    if size > _MAX_KEY_BYTES:
        raise _Refused(f"map key {k[:20]!r}... is longer than {_MAX_KEY_BYTES} bytes")
    _remember(_known_field_names, k)


def _name_size(k: str) -> int:
    """The UTF-8 bytes of a field name :func:`_check_field_name` took."""
    return len(k) if k.isascii() else len(k.encode())


def _check_path(prefix: int, k: str) -> None:
    if prefix + _name_size(k) > _MAX_KEY_BYTES:
        raise _Refused(
            f"the field path to map key {k[:20]!r} is longer than {_MAX_KEY_BYTES} bytes"
        )


def _array(value: Any, depth: int, prefix: int) -> list[Any]:
    """``value`` as a list: itself when it is one and no item changes (the common case)."""
    out: list[Any] | None = None if type(value) is list else []
    for i, v in enumerate(value):
        kind = type(v)
        if kind in _PLAIN or (kind is int and _MIN_INT <= v <= _MAX_INT):
            new = v
        else:
            try:
                if isinstance(v, _ARRAYS):
                    raise _Refused("an array cannot hold an array")
                new = _value(v, depth + 1, prefix)
            except _Refused as refused:
                refused.path.append(str(i))
                raise
        if out is not None:
            out.append(new)
        elif new is not v:  # the first item that changes: the list is copied from here on
            out = value[:i]
            out.append(new)
    return value if out is None else out


def check_size(collection: str, key: str, doc: dict[str, Any]) -> None:
    """Raise :class:`InvalidDocument` unless Firestore takes ``doc`` (as :func:`normalized`
    returns it) as the document ``collection``/``key``: every string valid UTF-8, no string
    or bytes value over :data:`MAX_VALUE_BYTES`, and the whole, as Firestore counts its
    storage size (the name, 32 bytes, and each field's name and value), at most
    :data:`MAX_DOCUMENT_BYTES`."""
    name = (_utf8_size(collection) or 0) + 1 + (_utf8_size(key) or 0) + 1 + 16
    try:
        size = name + 32 + _map_size(doc)
    except _Refused as refused:
        raise InvalidDocument(".".join(reversed(refused.path)), refused.problem) from None
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(
            "the document", f"it takes {size} bytes, more than Firestore's {MAX_DOCUMENT_BYTES}"
        )


def _map_size(value: dict[str, Any]) -> int:
    total = 0
    for k, v in value.items():
        total += (len(k) if k.isascii() else len(k.encode())) + 1  # normalized() checked k
        kind = type(v)
        if kind is str and v.isascii() and len(v) <= MAX_VALUE_BYTES:
            total += len(v) + 1  # the common case, inline
        elif kind in _EIGHT_BYTES:
            total += 8
        else:
            try:
                total += _size(v)
            except _Refused as refused:
                refused.path.append(k)
                raise
    return total


_EIGHT_BYTES = frozenset({int, float})


def _size(value: Any) -> int:
    """What Firestore counts for a value :func:`normalized` returned."""
    kind = type(value)
    if kind is str or kind is bytes:
        size = _utf8_size(value) if kind is str else len(value)
        if size is None:
            raise _Refused("the text is not valid UTF-8 (it holds a lone surrogate)")
        if size > MAX_VALUE_BYTES:
            raise _Refused(f"{size} bytes are more than Firestore's {MAX_VALUE_BYTES} in a value")
        return size + 1 if kind is str else size
    if kind is dict:
        return _map_size(value)
    if kind is list:
        total = 0
        for i, v in enumerate(value):
            kind = type(v)
            if kind is str and v.isascii() and len(v) <= MAX_VALUE_BYTES:
                total += len(v) + 1
            elif kind in _EIGHT_BYTES:
                total += 8
            else:
                try:
                    total += _size(v)
                except _Refused as refused:
                    refused.path.append(str(i))
                    raise
        return total
    return 1 if value is None or kind is bool else 8  # numbers and timestamps


def query_value_problem(value: Any) -> str | None:
    """What Firestore finds wrong with ``value`` compared in a query (one of an ``in``
    condition's values), or ``None``: a type it has no value for, a map key that is no
    string or is reserved (``__.*__``), an integer beyond 64 bits, text that is not valid
    UTF-8, or more than :data:`MAX_QUERY_VALUE_BYTES` in all. Unlike a stored value, it may
    hold arrays in arrays, empty map keys, and nest deeper than :data:`MAX_DEPTH`."""
    try:
        size = _query_value_size(value)
    except _Refused as refused:
        return refused.problem
    if size > MAX_QUERY_VALUE_BYTES:
        return f"it takes {size} bytes, more than the {MAX_QUERY_VALUE_BYTES} a query compares"
    return None


def _query_value_size(value: Any) -> int:
    """What Firestore counts for ``value`` (the Python types its client encodes, as
    :func:`_size` counts them), or raise :class:`_Refused`."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int):
        if not _MIN_INT <= value <= _MAX_INT:
            raise _Refused(f"{value} does not fit in 64 bits")
        return 8
    if isinstance(value, datetime):
        _check_instant(value)
        return 8
    if isinstance(value, float):
        return 8
    if isinstance(value, str):
        size = _utf8_size(value)
        if size is None:
            raise _Refused("the text is not valid UTF-8 (it holds a lone surrogate)")
        return size + 1
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, _ARRAYS):
        return sum(_query_value_size(v) for v in value)
    if isinstance(value, dict):
        total = 0
        for k, v in value.items():
            if not isinstance(k, str):
                raise _Refused(f"map key {k!r} is not a string")
            if k and not is_field_name(k):
                raise _Refused(f"map key {k!r}: keys matching __.*__ are reserved")
            total += _query_value_size(k) + _query_value_size(v)
        return total
    raise _Refused(f"{type(value).__name__} is not a Firestore value")


def same_value(a: Any, b: Any) -> bool:
    """Whether Firestore would hold ``a`` and ``b`` as the same value: maps whatever their
    key order, an integer never the same as a float or a boolean."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
