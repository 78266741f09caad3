"""Which queries Firestore refuses for want of a composite index, for the embedded store.

Firestore keeps a single-field index of every field, ascending and descending, and
merges them for equality conditions; anything more needs a composite index someone
declared, or the query fails (``FailedPrecondition: The query requires an index``).
Neither the emulator nor the embedded store checks this on their own, so
:class:`~shared.stores.memory.InMemoryDocumentStore`, given the indexes a subsystem
declares, refuses (:class:`MissingIndex`) what Firestore would refuse:

* equality conditions alone (``==``, ``in``, ``array_contains``) need none;
* range conditions (``<``, ``<=``, ``>``, ``>=``, ``!=``) on one field, ordered by that
  field or not at all, or an order alone, need none;
* an order or range condition on one field with equality conditions on others needs
  ``(equality fields..., field [desc])``, in the order's direction; Firestore merges
  composite indexes with that same last field, so ``(a, f)`` and ``(b, f)`` serve
  ``a == 1 and b == 2`` ordered by ``f``;
* range conditions on several fields, or an order on one and a range on another, need
  one holding them all after the equality fields.

Where the rule is not plain (an order on a field an equality condition fixes, an
``array_contains`` with an order or a range), the query is let through.
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


class DeclaredIndexes:
    """The composite indexes a store's collections have, checking queries against them."""

    def __init__(self, indexes: Iterable[Index]) -> None:
        self._by_collection: dict[str, list[tuple[IndexField, ...]]] = {}
        for index in indexes:
            fields = tuple(_parsed(spec) for spec in index.fields)
            self._by_collection.setdefault(index.collection, []).append(fields)

    def check(
        self,
        collection: str,
        where: Sequence[Where],
        order_by: str | None,
        descending: bool,
    ) -> None:
        """Raise :class:`MissingIndex` when Firestore surely needs a composite index for this
        query that none of the declared ones is, or makes by merging."""
        needed = needed_index(collection, where, order_by, descending)
        if needed is None:
            return
        equalities = _equality_fields(where)
        order = [_parsed(spec) for spec in needed.fields[len(equalities) :]]
        declared = self._by_collection.get(collection, [])
        if order_by is None:  # an implicit order: not plain that its direction matters
            declared = [*declared, *(_reversed(fields) for fields in declared)]
        if not _served(set(equalities), order, declared):
            raise MissingIndex(collection, _described(where, order_by, descending), needed)


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
    equalities: set[str], order: list[IndexField], declared: list[tuple[IndexField, ...]]
) -> bool:
    """Whether the ``declared`` indexes serve equality conditions on ``equalities`` ordered
    by ``order``: one order field, by those ending in it exactly (and the field's own
    single-field index) merged; several, by one that holds them all after the equalities."""
    if len(order) == 1:
        covered: set[str] = set()
        for fields in declared:
            prefix = {name for name, _ in fields[:-1]}
            if fields[-1] == order[0] and prefix <= equalities:
                covered |= prefix
        return covered == equalities
    wanted = {name for name, _ in order}
    for fields in declared:
        head = {name for name, _ in fields[: len(equalities)]}
        rest = {name for name, _ in fields[len(equalities) :]}
        if head == equalities and wanted <= rest:
            return True
    return False


def _equality_fields(where: Sequence[Where]) -> list[str]:
    """The fields of the query's ``==`` and ``in`` conditions, each once, in its order."""
    return list(dict.fromkeys(w.field for w in where if w.op in _EQUALITIES))


def _reversed(fields: tuple[IndexField, ...]) -> tuple[IndexField, ...]:
    return tuple((name, not desc) for name, desc in fields)


def _parsed(spec: str) -> IndexField:
    name, _, order = spec.partition(" ")
    return name, order == "desc"


def _described(where: Sequence[Where], order_by: str | None, descending: bool) -> str:
    """The query's shape, without its values: ``status ==, createdAt >, order by x desc``."""
    parts = [f"{w.field} {w.op}" for w in where]
    if order_by is not None:
        parts.append(f"order by {order_by}{' desc' if descending else ''}")
    return ", ".join(parts) or "no conditions"
