"""Which queries Firestore refuses for want of a composite index, for the embedded store.

Firestore keeps a single-field index of every field, ascending and descending, and
merges them for equality conditions; anything more needs a composite index someone
declared, or the query fails (``FailedPrecondition: The query requires an index``).
Neither the emulator nor the embedded store checks this on their own, so
:class:`~shared.stores.memory.InMemoryDocumentStore`, given the indexes a subsystem
declares, refuses (:class:`MissingIndex`) what Firestore would refuse. The rules, from
Google's documentation ("Index types in Cloud Firestore", "Query with range and
inequality filters on multiple fields", and ``StructuredQuery.orderBy`` in the REST
reference):

* equality conditions alone (``==``, ``in``, ``array_contains``) need none;
* a query is ordered by its ``order_by``, then by its other range fields (``<``,
  ``<=``, ``>``, ``>=``, ``!=``) in lexicographic order, all in the order's direction;
  without ``order_by``, by its range fields ascending ("By default, inequality clauses
  apply an ascending sort order");
* ordered by one field, with no equality conditions, it needs none (a single-field
  index serves it, either way round);
* otherwise it needs ``(equality fields..., ordered fields...)``, each ordered field in
  the query's direction: "the ORDER BY clause of a query determines which indexes can
  be used to serve the query. For example, an ORDER BY a ASC, b ASC query requires a
  composite index on the a ASC, b ASC fields", and a descending order "need[s] an
  additional index in the descending direction". An ascending index does not serve a
  descending order, nor a descending one an ascending order, with or without
  ``order_by``; the equality fields may be in any order and either direction;
* Firestore merges composite indexes ending in the same ordered fields, so ``(a, f)``
  and ``(b, f)`` serve ``a == 1 and b == 2`` ordered by ``f``.

Where the documentation leaves the rule open, the query is let through rather than
refused wrongly: an order on a field an equality condition fixes; an ``array_contains``
with an order or a range (Firestore needs an index with an array-contains field, which
:class:`~shared.topology.model.Index` cannot declare); merging indexes for an order on
several fields (documented for one ``orderBy``). A declared index with a field after the
ordered ones does not serve: Firestore orders by the document name right after them ("If
an order on __name__ is not specified, it is appended by default").

A verdict depends on the query's shape alone (collection, fields and operators, order
and direction), never its values, so :class:`DeclaredIndexes` works it out once per
shape and looks it up after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.exceptions import StoreError
from shared.stores.base import Where
from shared.stores.query import INEQUALITIES, order_fields
from shared.topology.model import Index

_EQUALITIES = frozenset({"==", "in"})


class MissingIndex(StoreError):
    """A query Firestore refuses until a composite index it needs exists: an undeclared
    one. ``index`` is the declaration to add to the subsystem's topology. Retryable, as on
    GCP (the index may be building), but a bug until it is declared."""

    def __init__(self, collection: str, query: str, index: Index) -> None:
        super().__init__(
            f"the query on {collection!r} ({query}) requires a composite index the subsystem "
            "does not declare: Firestore refuses it (FailedPrecondition: The query requires "
            "an index); "
            f"declare Index({collection!r}, {index.fields!r}) in the subsystem's "
            "Subsystem(indexes=...) and run `fooddelivery tfvars`"
        )
        self.collection = collection
        self.index = index


IndexField = tuple[str, bool]
"""A field of a composite index and whether it is descending."""

Shape = tuple[str, tuple[tuple[str, str], ...], str | None, bool]
"""What a verdict depends on: the collection, each condition's field and operator, the
order field and whether descending; never the values."""

Refusal = tuple[str, Index]
"""A refused shape's description and the index it needs (:class:`MissingIndex`'s own)."""

MAX_SHAPES = 4096
"""Verdicts kept before starting over: a program has a few dozen query shapes, but one
building conditions from its input could have any number."""


class DeclaredIndexes:
    """The composite indexes a store's collections have, checking queries against them.

    The verdict on a query shape is worked out on its first query and looked up after,
    so checking a repeated query costs a dict lookup."""

    def __init__(self, indexes: Iterable[Index]) -> None:
        self._by_collection: dict[str, list[tuple[IndexField, ...]]] = {}
        for index in indexes:
            fields = tuple(_parsed(spec) for spec in index.fields)
            self._by_collection.setdefault(index.collection, []).append(fields)
        self._verdicts: dict[Shape, Refusal | None] = {}

    def check(
        self,
        collection: str,
        where: Sequence[Where],
        order_by: str | None,
        descending: bool,
    ) -> None:
        """Raise :class:`MissingIndex` when Firestore surely needs a composite index for this
        query that none of the declared ones is, or makes by merging."""
        shape = (collection, tuple([(w.field, w.op) for w in where]), order_by, descending)
        try:
            refusal = self._verdicts[shape]
        except KeyError:
            refusal = self._refusal(collection, where, order_by, descending)
            if len(self._verdicts) >= MAX_SHAPES:
                self._verdicts.clear()
            self._verdicts[shape] = refusal
        if refusal is not None:
            raise MissingIndex(collection, *refusal)

    def _refusal(
        self, collection: str, where: Sequence[Where], order_by: str | None, descending: bool
    ) -> Refusal | None:
        """Why Firestore refuses this query, worked out from scratch, or ``None``."""
        needed = needed_index(collection, where, order_by, descending)
        if needed is None:
            return None
        equalities = _equality_fields(where)
        order = tuple(_parsed(spec) for spec in needed.fields[len(equalities) :])
        if _served(set(equalities), order, self._by_collection.get(collection, [])):
            return None
        return _described(where, order_by, descending), needed


def needed_index(
    collection: str, where: Sequence[Where], order_by: str | None, descending: bool
) -> Index | None:
    """The composite index Firestore needs for this query, or ``None`` when it needs none
    (or when it is not plain whether it does): the equality fields in the query's order,
    then the fields it orders by, each ``desc`` when the query is descending."""
    equalities = _equality_fields(where)
    ranges = {w.field for w in where if w.op in INEQUALITIES}
    if order_by is not None:
        order = order_fields(where, order_by)
    else:
        order, descending = sorted(ranges), False  # the implicit order, ascending
    if not order or set(equalities) & set(order):
        return None  # equality alone; or an order an equality fixes: not plain, allowed
    if any(w.op == "array_contains" for w in where):
        return None  # would need an array-contains index, which Index cannot declare
    if not equalities and len(order) == 1:
        return None  # a single-field index serves it
    suffix = " desc" if descending else ""
    return Index(collection, (*equalities, *(f"{field}{suffix}" for field in order)))


def _served(
    equalities: set[str], order: tuple[IndexField, ...], declared: list[tuple[IndexField, ...]]
) -> bool:
    """Whether the ``declared`` indexes serve equality conditions on ``equalities`` ordered
    by ``order``: those ending in exactly ``order``, directions included, whose other
    fields are equality fields, merged, must hold every equality field (and there must be
    one such index)."""
    merged: set[str] | None = None
    for fields in declared:
        prefix = {name for name, _ in fields[: -len(order)]}
        if fields[-len(order) :] == order and prefix <= equalities:
            merged = prefix if merged is None else merged | prefix
    return merged == equalities


def _equality_fields(where: Sequence[Where]) -> list[str]:
    """The fields of the query's ``==`` and ``in`` conditions, each once, in its order."""
    return list(dict.fromkeys(w.field for w in where if w.op in _EQUALITIES))


def _parsed(spec: str) -> IndexField:
    name, _, order = spec.partition(" ")
    return name, order == "desc"


def _described(where: Sequence[Where], order_by: str | None, descending: bool) -> str:
    """The query's shape, without its values: ``status ==, createdAt >, order by x desc``."""
    parts = [f"{w.field} {w.op}" for w in where]
    if order_by is not None:
        parts.append(f"order by {order_by}{' desc' if descending else ''}")
    return ", ".join(parts) or "no conditions"
