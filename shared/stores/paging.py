"""Pages of a collection, newest first, for BFF list endpoints (whose query string is
:class:`shared.api_models.PageQuery`).

A page is cut by a timestamp field: ``before`` (the ``next`` of the page
before) asks for documents stamped strictly earlier. Documents sharing the
last stamp of a page all join it, so no document falls between two pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.clock import LATEST_MS
from shared.stores.base import Document, Where

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore


LATEST_STAMP_MS = LATEST_MS
"""No page boundary is later than :data:`~shared.clock.LATEST_MS`."""


@dataclass(frozen=True, slots=True)
class Page:
    """Documents newest first, and the ``before`` that asks for the next page (None: last)."""

    documents: list[Document]
    next: int | None


def newest_first(
    store: AbstractDocumentStore,
    collection: str,
    where: Sequence[Where],
    stamp: str,
    limit: int,
    before: int | None = None,
) -> Page:
    """Up to ``limit`` documents matching ``where``, newest first by ``stamp``, older than
    ``before``; more than ``limit`` when several share the last one's stamp.

    Needs a composite index on the ``where`` fields then ``stamp`` descending.
    """
    owner = list(where)
    older = [*owner, Where(stamp, "<", before)] if before is not None else owner
    found = store.query(collection, older, order_by=stamp, descending=True, limit=limit + 1)
    if len(found) <= limit:
        return Page(found, None)
    last = found[limit - 1].data[stamp]
    if found[limit].data[stamp] != last:
        return Page(found[:limit], last)  # the one past the page is older: more to come
    same = store.query(collection, [*owner, Where(stamp, "==", last)])
    found = [d for d in found if d.data[stamp] > last] + sorted(
        same, key=lambda d: d.key, reverse=True
    )
    rest = store.query(
        collection, [*owner, Where(stamp, "<", last)], order_by=stamp, descending=True, limit=1
    )
    return Page(found, last if rest else None)
