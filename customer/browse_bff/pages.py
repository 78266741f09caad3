"""Pages of the restaurant list, by name: the order, the cursor between pages and the scan.

The list is ordered as a reader expects a list of names: case and accents aside
(:func:`sort_name`, stored in each view document as ``sortName``), then by document
key, as the store orders ties. A page ends at a :class:`Position`, and the next one
starts strictly after it: the rest of the restaurants sharing its sort name (an
equality query, in key order), then those with a later one (a range on
``sortName``, served by the same indexes as the first page's ``order_by``).
Restaurants sharing a sort name are so neither skipped nor repeated across a page
boundary.

A filter the store cannot express (``keep``) is applied to what the scan
reads; the scan stops after ``budget`` documents, and the page it returns
then carries a ``next`` even when short (or empty), so the list never ends
early: only a page without ``next`` is the last.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.stores import Where
from shared.stores.document_rules import query_value_problem
from shared.stores.paging import NOT_A_TOKEN, decode_token, encode_token

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc, Document

SORT_FIELD = "sortName"
"""The view field the list is ordered by: :func:`sort_name` of the restaurant's name."""
SORTED_CHARS = 200
"""How many characters of a name its place in the list depends on (more than Restaurant lets
a name have): the rest sorts by key, so a page token never holds more of a name."""
SORT_NAME_BYTES = 1000
"""The most UTF-8 bytes of a :func:`sort_name`: the store seeks no longer value."""
SCAN_BUDGET = 500
"""The most documents one request reads for a filtered page (besides the rest of a run of
restaurants sharing the name it starts or continues at)."""


def sort_name(name: str) -> str:
    """Where ``name`` goes in the list: without accents, case folded, blanks single.

    ``"Öz  Kebap"`` sorts as ``"oz kebap"``, so ``bao bar``, ``Curry``, ``Öz Kebap`` and
    ``Zaika`` are listed in that order (by code point, ``Zaika`` came before ``bao bar``
    and ``Öz Kebap`` last). Only the first :data:`SORTED_CHARS` characters count, and the
    result is cut to :data:`SORT_NAME_BYTES`, so the store can seek any name's place.
    """
    decomposed = unicodedata.normalize("NFKD", name[:SORTED_CHARS])
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = " ".join(bare.casefold().split())
    return folded.encode()[:SORT_NAME_BYTES].decode(errors="ignore")  # whole characters


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the list: the name and key of the last restaurant a page looked at.

    The token keeps the name, not its :func:`sort_name`, so a token stays valid
    whatever the sort name of a name becomes; only the characters the sort name is
    made of (:data:`SORTED_CHARS`), so a token of a long name stays short.
    """

    name: str
    key: str

    @property
    def sort_name(self) -> str:
        """The :data:`SORT_FIELD` value of this place."""
        return sort_name(self.name)

    @classmethod
    def of(cls, doc: Document) -> Position:
        """Where ``doc`` stands in the list."""
        return cls(doc.data["name"][:SORTED_CHARS], doc.key)

    def token(self) -> str:
        """The opaque token a client sends back: :func:`~shared.stores.paging.encode_token`
        of ``[name, key]``."""
        return encode_token([self.name, self.key])

    @classmethod
    def from_token(cls, token: str) -> Position:
        """The position a :meth:`token` stands for; ValueError if it is not one."""
        parts = decode_token(token, 2)
        if not all(isinstance(part, str) for part in parts) or not parts[1]:
            raise ValueError(NOT_A_TOKEN)  # a name may be empty, no id is
        position = cls(parts[0], parts[1])
        if len(position.name) > SORTED_CHARS or query_value_problem(position.name):
            raise ValueError(NOT_A_TOKEN)  # more than a token holds, or no text
        if query_value_problem(position.sort_name) or query_value_problem(position.key):
            raise ValueError(NOT_A_TOKEN)  # nothing the store can seek
        return position


class PositionToken(str):
    """A page token as the query string holds it, read once: the text, and the
    :attr:`position` it stands for."""

    position: Position
    """The place the token stands for."""

    @classmethod
    def read(cls, token: str) -> PositionToken:
        """``token`` with its position; ValueError as :meth:`Position.from_token` if it is
        not one."""
        read = cls(token)
        read.position = Position.from_token(token)
        return read


@dataclass(frozen=True, slots=True)
class Page:
    """Documents in list order, and where the next page starts (None: this is the last)."""

    documents: list[Document]
    next: Position | None


def by_name(
    store: AbstractDocumentStore,
    collection: str,
    where: Sequence[Where],
    limit: int,
    after: Position | None = None,
    keep: Callable[[Doc], bool] | None = None,
    budget: int = SCAN_BUDGET,
) -> Page:
    """Up to ``limit`` documents matching ``where`` and ``keep``, by sort name then key,
    after ``after``; fewer, with a ``next``, when ``budget`` documents were read first. The
    ``next`` is the last document read, so what ``keep`` refused is not read again.

    Reads ``limit + 1`` documents first, then twice as many each time ``keep`` refused
    too many, so an unfiltered page is one query (two when it starts inside a run of
    documents sharing a sort name). Needs a composite index on the ``where`` fields then
    :data:`SORT_FIELD`.
    """
    budget = max(budget, limit + 1)  # an unfiltered page is never cut short
    kept: list[Document] = []
    read, size, position = 0, limit + 1, after
    while True:
        batch, more = _following(store, collection, where, position, size)
        for doc in batch:
            if keep is None or keep(doc.data):
                if len(kept) == limit:
                    return Page(kept, position)  # one match more: the next page starts at it
                kept.append(doc)
            read += 1
            position = Position.of(doc)
            if read >= budget:
                return Page(kept, position)
        if not more:
            return Page(kept, None)
        size = min(size * 2, budget - read)


def _following(
    store: AbstractDocumentStore,
    collection: str,
    where: Sequence[Where],
    position: Position | None,
    size: int,
) -> tuple[list[Document], bool]:
    """The documents right after ``position``: the rest of its sort name's, then up to
    ``size`` with later sort names; and whether there may be more after those."""
    if position is None:
        later = store.query(collection, where, order_by=SORT_FIELD, limit=size)
        return later, len(later) == size
    same = store.query(collection, [*where, Where(SORT_FIELD, "==", position.sort_name)])
    rest = [d for d in same if d.key > position.key]
    later_names = [*where, Where(SORT_FIELD, ">", position.sort_name)]
    later = store.query(collection, later_names, order_by=SORT_FIELD, limit=size)
    return rest + later, len(later) == size
