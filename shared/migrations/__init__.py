"""Migrations: changes to the documents a subsystem stored before its code changed.

A view's documents outlive the code that wrote them. When a new version reads a
field the old one never wrote (a query that orders by it: Firestore leaves out
every document without the field), the subsystem declares a :class:`Migration`
that brings the stored documents up to date, and ``fooddelivery migrate`` runs it
against the dev stack or a deployed environment (``fooddelivery deploy`` runs
them after every apply). The kit adds its own to every subsystem's
(:data:`shared.migrations.kit.KIT_MIGRATIONS`, for the documents the kit stores).

A migration must be idempotent: it runs after every deployment, and may run
while the functions write the same documents. :func:`rewrite_each` gives both:
it changes one document at a time in a transaction, from the document as it is
then, and leaves alone those already up to date. :func:`expire_unstamped` gives
records stored before they carried their TTL field (:data:`EXPIRES`) one, so that
Firestore's TTL policy deletes them too, and :func:`expiry_backfill` declares the
migration that does so.

The rule: a migration runs on every deploy unless it is a *backfill*
(``backfill=True``), one whose old shape no version that may run again writes
(records every version since a past one stamps with their TTL field, say). One
whose old shape a version still running may write (the previous one, during a
rollout) is no backfill. A backfill's run that found nothing to change is
recorded, with the backfill's ``version``, in the subsystem's store
(:mod:`shared.migrations.done`), and later runs skip it unless ``fooddelivery
migrate --force``: it would read a whole collection for nothing. The run that
changed documents records nothing: an instance of the version before, still
finishing its requests after the apply, may have written the old shape behind
it, and the next run finds that. Bump a backfill's ``version`` when it is given
more to do (another collection); after rolling back to a version older than a
backfill and forward again, run ``fooddelivery migrate --force``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shared.clock import SystemClock
from shared.exceptions import KitError, TopologyError
from shared.idempotency_keys import EXPIRES
from shared.stores.query import matches

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore, Doc, Where

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class RewriteFailed(KitError):
    """A document could not be rewritten (the documents rewritten before it stay so); the
    error it failed with is its ``__cause__``."""

    def __init__(self, document: str, changed: int, error: Exception) -> None:
        super().__init__(
            f"{document} ({type(error).__name__}: {error}), after changing "
            f"{changed} document{'s' * (changed != 1)}"
        )
        self.document, self.changed, self.error = document, changed, error


@dataclass(frozen=True, slots=True)
class Migration:
    """One idempotent change to a subsystem's stored documents.

    ``run`` makes the change and returns how many documents it changed (none when
    they are all up to date already). A ``backfill`` is skipped once a run of its
    ``version`` changed nothing (see the module's docstring for which may be); any
    other runs every time.
    """

    name: str
    summary: str
    run: Callable[[AbstractDocumentStore], int]
    backfill: bool = False
    version: int = 1

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise TopologyError(f"migration name {self.name!r} must be lower-case-with-hyphens")
        if self.version < 1:
            raise TopologyError(f"migration {self.name}: version must be 1 or more")


def rewrite_each(
    store: AbstractDocumentStore,
    collection: str,
    rewrite: Callable[[Doc], Doc | None],
    where: Sequence[Where] = (),
) -> int:
    """Rewrite every document of ``collection`` (matching ``where``) that ``rewrite``
    changes; returns how many.

    ``rewrite`` gets a document as stored and returns it as it should be, or
    ``None`` when it is up to date. Each document is rewritten in its own
    transaction from its value at that moment (left alone if it no longer matches
    ``where``), so a function writing it meanwhile loses nothing. A document up to
    date as the collection is read is not read again: a run with nothing to change
    reads the documents once and writes nothing. Reads every match at once: meant
    for a few thousand documents, or for records kept a month, not for an event
    store kept for good.

    A document that cannot be rewritten (``rewrite`` fails on it, or the store does)
    stops the run with a :class:`RewriteFailed` naming it.
    """
    changed = 0
    for document in store.query(collection, where):

        def updater(current: Doc | None) -> Doc | None:
            if current is None or not all(matches(current, w) for w in where):
                return None
            return rewrite(current)

        try:
            if rewrite(document.data) is None:
                continue  # a function writing it since writes it as this code does
            if store.update(collection, document.key, updater) is not None:
                changed += 1
        except Exception as error:
            raise RewriteFailed(f"{collection}/{document.key}", changed, error) from error
    return changed


def expire_unstamped(
    store: AbstractDocumentStore,
    collection: str,
    expires: datetime,
    where: Sequence[Where] = (),
) -> int:
    """Give every document of ``collection`` (matching ``where``) that holds no timestamp in
    :data:`EXPIRES` ``expires`` there; returns how many.

    Firestore's TTL policy deletes only documents whose TTL field holds a timestamp: one
    stored before it carried the field, or holding another type of value there (epoch
    milliseconds, say), would be kept for good.
    """

    def stamped(doc: Doc) -> Doc | None:
        return None if isinstance(doc.get(EXPIRES), datetime) else {**doc, EXPIRES: expires}

    return rewrite_each(store, collection, stamped, where)


def expiry_backfill(
    name: str, summary: str, expire: Callable[[AbstractDocumentStore, int], int]
) -> Migration:
    """The backfill ``name`` that gives the records stored before they carried :data:`EXPIRES`
    one: ``expire(store, now_ms)`` gives each the expiry of a record written at ``now_ms``,
    the time it runs, and returns how many it gave one (with :func:`expire_unstamped`).

    A backfill, as every version since those records carried the field stamps them.
    """
    return Migration(
        name, summary, lambda store: expire(store, SystemClock().now_ms()), backfill=True
    )
