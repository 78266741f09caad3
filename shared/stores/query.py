"""Evaluate query conditions on plain documents (for the embedded store), as Firestore does.

Firestore compares values of different types by a fixed type order (null, booleans,
numbers, timestamps, strings, bytes, arrays, maps), so ``True`` is not ``1`` and a
range condition only matches values of its own type. An ``in`` condition never matches
null. :func:`check_query` refuses the combinations of conditions Firestore refuses.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.exceptions import InvalidQuery
from shared.stores.base import MAX_IN_VALUES, Doc, Where, field_path_problem
from shared.stores.document_rules import MAX_QUERY_VALUE_BYTES, query_value_problem

_MISSING = object()
INEQUALITIES = frozenset({"!=", "<", "<=", ">", ">="})


Condition = Callable[[Doc], bool]
"""A compiled :class:`Where`: whether a document matches it."""
_RANGES = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def field_value(doc: Doc, path: str) -> Any:
    """The value at a dotted ``path``, or a sentinel when absent."""
    if "." not in path:
        return doc.get(path, _MISSING) if isinstance(doc, dict) else _MISSING
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def value_key(value: Any) -> tuple[Any, ...]:
    """A sort key that orders values as Firestore does, type first."""
    kind = type(value)  # the common exact types first, without the chain below
    if kind is str:
        return (5, value)
    if kind is int:
        return (3, value)
    if kind is bool:
        return (1, value)
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2,) if isinstance(value, float) and math.isnan(value) else (3, value)
    if isinstance(value, datetime):  # a naive one is UTC, as the Firestore client takes it
        return (4, value if value.tzinfo is not None else value.replace(tzinfo=UTC))
    if isinstance(value, str):
        return (5, value)
    if isinstance(value, bytes):
        return (6, value)
    if isinstance(value, (list, tuple, set, frozenset)):  # the latter two stored as arrays
        return (9, tuple(value_key(v) for v in value))
    if isinstance(value, dict):
        return (10, tuple((k, value_key(v)) for k, v in sorted(value.items())))
    return (11, repr(value))


def matches(doc: Doc, where: Where) -> bool:
    """Evaluate one condition the way Firestore does (absent fields never match)."""
    value = field_value(doc, where.field)
    if value is _MISSING:
        return False
    have = value_key(value)
    match where.op:
        case "==":
            return have == value_key(where.value)
        case "!=":
            return value is not None and have != value_key(where.value)
        case "in":  # as Firestore: a NaN among the values finds nothing, unlike ==
            return value is not None and any(
                have == value_key(v) for v in where.value if not is_nan(v)
            )
        case "array_contains":
            wanted = value_key(where.value)
            return isinstance(value, list) and any(value_key(v) == wanted for v in value)
    bound = value_key(where.value)
    if have[0] != bound[0]:
        return False  # a range condition only matches values of its own type
    match where.op:
        case "<":
            return have < bound
        case "<=":
            return have <= bound
        case ">":
            return have > bound
        case ">=":
            return have >= bound
    return False


def condition(where: Where) -> Condition:
    """``lambda doc: matches(doc, where)``, with what depends on ``where`` alone (the keys of
    its values) worked out once, for a query that tries it on many documents."""
    path, op = where.field, where.op
    try:
        wanted_keys = [value_key(v) for v in where.value if not is_nan(v)] if op == "in" else []
        wanted = value_key(where.value) if op != "in" else ()
    except Exception:  # e.g. a map with keys that do not sort: fail as matches() fails
        return lambda doc: matches(doc, where)
    if op == "in":
        try:
            wanted_set: Collection[Any] = frozenset(wanted_keys)  # one lookup, not a scan
        except TypeError:
            wanted_set = wanted_keys

        def is_in(doc: Doc) -> bool:
            value = field_value(doc, path)
            return value is not _MISSING and value is not None and value_key(value) in wanted_set

        return is_in
    if op == "==":

        def equal(doc: Doc) -> bool:
            value = field_value(doc, path)
            return value is not _MISSING and value_key(value) == wanted

        return equal
    if op == "!=":

        def unequal(doc: Doc) -> bool:
            value = field_value(doc, path)
            return value is not _MISSING and value is not None and value_key(value) != wanted

        return unequal
    if op == "array_contains":

        def contains(doc: Doc) -> bool:
            value = field_value(doc, path)
            return isinstance(value, list) and any(value_key(v) == wanted for v in value)

        return contains
    compare = _RANGES.get(op)
    if compare is None:
        return lambda doc: False

    def in_range(doc: Doc) -> bool:
        value = field_value(doc, path)
        if value is _MISSING:
            return False
        have = value_key(value)
        # a range condition only matches values of its own type
        return have[0] == wanted[0] and bool(compare(have, wanted))

    return in_range


def is_nan(value: Any) -> bool:
    """Whether ``value`` is a float NaN."""
    return type(value) is float and math.isnan(value)


MAX_INEQUALITY_FIELDS = 10
"""The most fields a Firestore query may hold inequality conditions on."""


def check_query(where: Sequence[Where], order_by: str | None) -> None:
    """Raise :class:`InvalidQuery` for what Firestore refuses in a query: a value it cannot
    compare (:func:`~shared.stores.document_rules.query_value_problem`), NaN compared
    other than with ``==`` or ``!=``, more than one ``!=`` (with ``None`` and NaN too) or
    ``array_contains``, ``in`` conditions whose values multiply to more than
    :data:`MAX_IN_VALUES` disjunctions, inequalities on more than
    :data:`MAX_INEQUALITY_FIELDS` fields, or an ``order_by`` that is no field path."""
    if order_by is not None:
        problem = field_path_problem(order_by)
        if problem is not None:
            raise InvalidQuery(f"order by {order_by!r}: {problem}")
    for w in where:
        if w.op not in ("==", "!=") and is_nan(w.value):
            raise InvalidQuery(f"{w.field} {w.op} NaN: only == and != compare with NaN")
        for value in w.value if w.op == "in" else (w.value,):
            if type(value) is str and len(value) < _SURELY_COMPARED and value.isascii():
                continue  # the common case, inline
            problem = query_value_problem(value)
            if problem is not None:
                raise InvalidQuery(f"{w.field} {w.op} {_shown(value)}: {problem}")
    if len(where) < 2:
        return
    for op in ("!=", "array_contains"):
        if sum(1 for w in where if w.op == op) > 1:
            raise InvalidQuery(f"Firestore takes one {op} condition per query")
    disjunctions = math.prod(len(w.value) for w in where if w.op == "in")
    if disjunctions > MAX_IN_VALUES:
        raise InvalidQuery(
            f"the in conditions make {disjunctions} disjunctions, more than Firestore's "
            f"{MAX_IN_VALUES}"
        )
    fields = {w.field for w in where if w.op in INEQUALITIES}
    if len(fields) > MAX_INEQUALITY_FIELDS:
        raise InvalidQuery(
            f"inequalities on {len(fields)} fields, more than Firestore's {MAX_INEQUALITY_FIELDS}"
        )


_SURELY_COMPARED = MAX_QUERY_VALUE_BYTES
"""ASCII text shorter than this (its bytes, and 1) is a value any query compares."""


def _shown(value: Any) -> str:
    """``value`` in an error message: its ``repr``, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def all_of(conditions: Sequence[Condition]) -> Condition:
    """One condition that holds when every one of ``conditions`` does."""
    if not conditions:
        return lambda doc: True
    first, *rest = conditions
    if not rest:
        return first
    others = all_of(rest)  # a chain of calls: all() would make a generator per document
    return lambda doc: first(doc) and others(doc)


def order_fields(where: Sequence[Where], order_by: str) -> list[str]:
    """The fields Firestore orders by: ``order_by``, then the other inequality fields."""
    others = sorted({w.field for w in where if w.op in INEQUALITIES} - {order_by})
    return [order_by, *others]


def sort_key(doc: Doc, path: str) -> tuple[Any, ...] | None:
    """The key to order by, or ``None`` when the field is absent (such docs are left out)."""
    value = field_value(doc, path)
    return None if value is _MISSING else value_key(value)
