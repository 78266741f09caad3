"""The document store port: entities, views and micro event stores.

Documents are JSON-compatible dicts addressed by (collection, key). Writes that
event handlers make go through :mod:`shared.stores.idempotent`, which builds on
:meth:`AbstractDocumentStore.update` to make them idempotent and order-tolerant.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from shared.exceptions import InvalidQuery
from shared.stores.document_rules import MAX_QUERY_PATH_BYTES, is_field_name

Doc = dict[str, Any]
Operator = Literal["==", "!=", "<", "<=", ">", ">=", "in", "array_contains"]
OPERATORS: frozenset[str] = frozenset(get_args(Operator))
Updater = Callable[[Doc | None], Doc | None]
"""Receives the current document (``None`` if absent) and returns the new one,
or ``None`` to leave the document as it is."""


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document with its key."""

    key: str
    data: Doc


MAX_IN_VALUES = 30
"""The most values Firestore takes in one ``in`` condition."""


def field_path_problem(path: object) -> str | None:
    """What Firestore finds wrong with ``path`` as a dotted field path in a query, or
    ``None``: an empty or reserved (``__.*__``) name, or more than
    :data:`~shared.stores.document_rules.MAX_QUERY_PATH_BYTES` in UTF-8."""
    if not isinstance(path, str):
        return f"it is a {type(path).__name__}, not a string"
    names = path.split(".")
    if not path or "" in names:
        return "a field path is one or more non-empty names joined by '.'"
    if not all(map(is_field_name, names)):
        return "names matching __.*__ are reserved"
    try:
        size = len(path.encode())
    except UnicodeEncodeError:  # a lone surrogate
        return "it is not valid UTF-8"
    if size > MAX_QUERY_PATH_BYTES:
        return f"it takes {size} bytes, more than the {MAX_QUERY_PATH_BYTES} a query takes"
    return None


@dataclass(frozen=True, slots=True)
class Where:
    """A query condition on one field (dotted paths reach into maps).

    Refuses (:class:`~shared.exceptions.InvalidQuery`) what Firestore would, and an
    operator the port has not (``not-in``: the embedded store would find nothing,
    Firestore something): a field path it does not take (:func:`field_path_problem`),
    ``in`` over anything but a list (or tuple or set) of 1 to :data:`MAX_IN_VALUES`
    values, and ``None`` compared other than with ``==`` or ``!=`` (a query refuses NaN
    so compared, and values Firestore cannot compare:
    :func:`shared.stores.query.check_query`).
    """

    field: str
    op: Operator
    value: Any

    def __post_init__(self) -> None:
        problem = field_path_problem(self.field)
        if problem is not None:
            raise InvalidQuery(f"field {self.field!r}: {problem}")
        if self.op not in OPERATORS:
            raise InvalidQuery(f"{self.field} {self.op!r} ...: not one of {sorted(OPERATORS)}")
        if self.op == "in" and not isinstance(self.value, (list, tuple, set, frozenset)):
            kind = type(self.value).__name__
            raise InvalidQuery(f"{self.field} in ...: takes a list of values, not a {kind}")
        if self.op == "in" and not 0 < len(self.value) <= MAX_IN_VALUES:
            raise InvalidQuery(
                f"{self.field} in ...: Firestore takes 1 to {MAX_IN_VALUES} values, "
                f"not {len(self.value)}"
            )
        if self.value is None and self.op not in ("==", "!="):
            raise InvalidQuery(f"{self.field} {self.op} None: only == and != compare with None")


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """One write to a document, as a database-first trigger sees it.

    ``before``/``after`` are ``None`` for a create/delete. ``version`` identifies
    the write (Firestore's update time), so a trigger can derive stable ids
    from it and a redelivered change emits the same events; the versions of one
    document's writes sort, as text, in the order of the writes. ``written_ms`` is
    when the write happened (epoch ms), so what a trigger emits is stamped with
    it however late the trigger runs; ``None`` when the store cannot tell.
    """

    collection: str
    key: str
    before: Doc | None
    after: Doc | None
    version: str
    written_ms: int | None = None

    @property
    def kind(self) -> Literal["created", "updated", "deleted"]:
        """What the write did."""
        if self.before is None:
            return "created"
        return "deleted" if self.after is None else "updated"


class Watch(ABC):
    """A running change-feed subscription."""

    @abstractmethod
    def stop(self) -> None:
        """Stop receiving changes."""

    def outage(self) -> tuple[float, str] | None:
        """Since when (``time.monotonic()``) and why this watch hears no changes, or ``None``
        while it listens (always, for a watch that cannot go deaf)."""
        return None


ChangeCallback = Callable[[DocumentChange], None]


class AbstractDocumentStore(ABC):
    """A document database (Firestore on GCP and on the emulator; in memory embedded)."""

    @abstractmethod
    def get(self, collection: str, key: str) -> Doc | None:
        """The document, or ``None``."""

    @abstractmethod
    def create(self, collection: str, key: str, data: Doc) -> bool:
        """Create the document; return ``False`` (and change nothing) if it exists.

        A backend that retries the write reports the document an earlier try of this call
        wrote (its answer lost) as created, not as existing. Across calls a create is not
        idempotent: one that failed (:class:`~shared.exceptions.StoreError`, a timeout) may
        have written the document all the same, and the next call (a redelivery, a client's
        retry) then gets ``False``, equal data or not: a duplicate event's data is equal
        too, so equality cannot tell the caller's own write. ``False`` therefore means
        "stored, maybe by an earlier try of this very work, whose steps after the create
        may not have run": a caller reads what is stored and carries on idempotently,
        rather than take ``False`` for "all done"."""

    @abstractmethod
    def put(self, collection: str, key: str, data: Doc) -> None:
        """Create or replace the document."""

    @abstractmethod
    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        """Atomically read, transform and write one document.

        Returns the document written, or ``None`` when ``updater`` declined to
        write. Concurrent updates of the same document are serialized
        (retried transactions on Firestore). ``updater`` may run more than once and
        may read, but an ``update`` or ``delete_if`` called from inside it, or a write
        there of the document being updated, is refused with
        :class:`~shared.stores.nesting.NestedTransaction`: on Firestore it would wait
        for the lock the transaction running it holds.
        """

    @abstractmethod
    def delete(self, collection: str, key: str) -> None:
        """Delete the document if it exists."""

    @abstractmethod
    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        """Atomically delete the document if it exists and ``condition`` holds for it.

        Returns whether it was deleted. Use it to delete only the version a
        handler has seen, when another writer may have replaced it since. Like
        :meth:`update`, refused from inside an updater or condition.
        """

    @abstractmethod
    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        """Documents matching every condition, optionally ordered and limited."""

    def count(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
    ) -> int:
        """How many documents :meth:`query` finds with these arguments (ordered by a field,
        those that hold it): the order tells Firestore which composite index counts them,
        so a count takes the index its listing's query does.

        This reads them all; a backend that counts them without reading each (Firestore's
        aggregation query) says so by overriding it.
        """
        return len(self.query(collection, where, order_by=order_by, descending=descending))


class AbstractChangeFeed(ABC):
    """Delivers every write to a collection to a callback (database-first triggers)."""

    @abstractmethod
    def watch(self, collection: str, callback: ChangeCallback) -> Watch:
        """Call ``callback`` for each change to ``collection`` from now on."""
