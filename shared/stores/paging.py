"""Pages of a collection ordered by a time stamp, for BFF list endpoints (whose query string is
:class:`shared.api_models.PageQuery` or :class:`shared.api_models.CursorQuery`).

The order is total: by the stamp field, then by document key in the same direction, as
Firestore orders the ties of an ``order_by`` (by ``__name__``). A page ends at a
:class:`Cursor`, the stamp and key of its last document, and the next page starts strictly
after it: the rest of the documents sharing its stamp (an equality query, ordered here),
then those stamped later (:func:`oldest_first`) or earlier (:func:`newest_first`), a range
on the stamp served by the index of the first page's ``order_by``. So a page holds at most
``limit`` documents however many share a millisecond, and a document that keeps its stamp
is listed once, neither skipped nor repeated across a page boundary.

The cursor holds values, not a document to look up: a page starts at the same place
whatever became of the document the page before ended at. The stamps these lists are
ordered by are set once per document, so a document cannot move across a cursor while a
client pages; one that joins the list meanwhile is listed if it falls after the cursor.

A client holds a cursor as its :meth:`~Cursor.token`, which it treats as opaque: URL-safe
base64 of a JSON array (:func:`encode_token`, :func:`decode_token`, also the format of the
restaurant list's tokens in ``customer.browse_bff.pages``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.clock import LATEST_MS
from shared.stores.base import Document, Where
from shared.stores.document_rules import query_value_problem

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore


LATEST_STAMP_MS = LATEST_MS
"""No page boundary is later than :data:`~shared.clock.LATEST_MS`."""
MAX_TOKEN_LENGTH = 4096
"""The longest page token a list takes (those it gives are far shorter)."""
NOT_A_TOKEN = "not a page token this list gave"
"""Why a page token is refused (a 400 naming the parameter that carried it)."""


def encode_token(parts: Sequence[str | int]) -> str:
    """The opaque token of ``parts``: URL-safe base64 of their compact JSON, unpadded."""
    raw = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, size: int) -> list[Any]:
    """The ``size`` parts :func:`encode_token` made ``token`` of; ValueError
    (:data:`NOT_A_TOKEN`) if it is not such a token."""
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        value = json.loads(raw.decode())
    except (binascii.Error, ValueError, RecursionError) as error:
        # JSON and UTF-8 errors are ValueErrors; JSON nested deeper than the decoder goes
        # is a RecursionError
        raise ValueError(NOT_A_TOKEN) from error
    if not isinstance(value, list) or len(value) != size:
        raise ValueError(NOT_A_TOKEN)
    return value


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in a list ordered by (stamp, key): where a page ended."""

    stamp: int
    """The stamp of the last document the page held (epoch milliseconds)."""
    key: str
    """Its key: the page ended after it among the documents sharing its stamp."""

    @classmethod
    def of(cls, doc: Document, stamp: str) -> Cursor:
        """The place of ``doc`` in a list ordered by its field ``stamp``."""
        return cls(doc.data[stamp], doc.key)

    @classmethod
    def before(cls, stamp_ms: int) -> Cursor:
        """In a list newest first, the place just before every document stamped
        ``stamp_ms`` (no key is below the empty one): the next page starts with those
        stamped earlier."""
        return cls(stamp_ms, "")

    def token(self) -> str:
        """The opaque token a client sends back for the page after this place."""
        return encode_token([self.stamp, self.key])

    @classmethod
    def from_token(cls, token: str) -> Cursor:
        """The place a :meth:`token` stands for; ValueError (:data:`NOT_A_TOKEN`) if it is
        not one: a stamp no list holds, or a key no document has."""
        stamp, key = decode_token(token, 2)
        if type(stamp) is not int or not 0 <= stamp <= LATEST_STAMP_MS:
            raise ValueError(NOT_A_TOKEN)
        if not isinstance(key, str) or not key or query_value_problem(key):
            raise ValueError(NOT_A_TOKEN)  # no key, or no text a key can be (UTF-8)
        return cls(stamp, key)


class PageToken(str):
    """A page token as a query string holds it, read once: the text, and the :attr:`cursor`
    it stands for."""

    cursor: Cursor
    """The place the token stands for."""

    @classmethod
    def read(cls, token: str) -> PageToken:
        """``token`` with its cursor; ValueError (:data:`NOT_A_TOKEN`) as
        :meth:`Cursor.from_token` if it is not a page token."""
        read = cls(token)
        read.cursor = Cursor.from_token(token)
        return read


@dataclass(frozen=True, slots=True)
class Page:
    """Documents in list order, and where the next page starts (None: this is the last)."""

    documents: list[Document]
    next: Cursor | None

    @property
    def next_token(self) -> str | None:
        """The ``next`` a client is answered: the token of :attr:`next`, ``None`` on the last
        page."""
        return None if self.next is None else self.next.token()


def newest_first(
    store: AbstractDocumentStore,
    collection: str,
    where: Sequence[Where],
    stamp: str,
    limit: int,
    after: Cursor | None = None,
) -> Page:
    """Up to ``limit`` documents matching ``where``, by ``stamp`` then key, both descending,
    after ``after`` (from the newest, without it).

    Needs a composite index on the ``where`` fields then ``stamp`` descending.
    """
    return _by_stamp(store, collection, where, stamp, limit, after, descending=True)


def oldest_first(
    store: AbstractDocumentStore,
    collection: str,
    where: Sequence[Where],
    stamp: str,
    limit: int,
    after: Cursor | None = None,
) -> Page:
    """Up to ``limit`` documents matching ``where``, by ``stamp`` then key, both ascending,
    after ``after`` (from the oldest, without it).

    Needs a composite index on the ``where`` fields then ``stamp`` ascending.
    """
    return _by_stamp(store, collection, where, stamp, limit, after, descending=False)


def _by_stamp(
    store: AbstractDocumentStore,
    collection: str,
    where: Sequence[Where],
    stamp: str,
    limit: int,
    after: Cursor | None,
    *,
    descending: bool,
) -> Page:
    """Read ``limit + 1`` documents after ``after`` (more when the rest of its stamp's run is
    longer) and cut the page at ``limit``: the one past it says there is a next page."""
    found: list[Document] = []
    further = list(where)
    if after is not None:
        same = store.query(collection, [*where, Where(stamp, "==", after.stamp)])
        found = sorted(
            (d for d in same if (d.key < after.key if descending else d.key > after.key)),
            key=lambda d: d.key,
            reverse=descending,
        )
        further.append(Where(stamp, "<" if descending else ">", after.stamp))
    wanted = limit + 1 - len(found)
    if wanted > 0:
        found += store.query(
            collection, further, order_by=stamp, descending=descending, limit=wanted
        )
    if len(found) <= limit:
        return Page(found, None)
    return Page(found[:limit], Cursor.of(found[limit - 1], stamp))
