"""Migrations: changes to the documents a subsystem stored before its code changed.

A view's documents outlive the code that wrote them. When a new version reads a
field the old one never wrote (a query that orders by it: Firestore leaves out
every document without the field), the subsystem declares a :class:`Migration`
that brings the stored documents up to date, and ``fooddelivery migrate`` runs it
against the dev stack or a deployed environment (``fooddelivery deploy`` runs
them after every apply).

A migration must be idempotent: it runs after every deployment, and may run
while the functions write the same documents. :func:`rewrite_each` gives both:
it changes one document at a time in a transaction, from the document as it is
then, and leaves alone those already up to date.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.exceptions import TopologyError

if TYPE_CHECKING:
    from shared.stores.base import AbstractDocumentStore, Doc

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One idempotent change to a subsystem's stored documents.

    ``run`` makes the change and returns how many documents it changed (none when
    they are all up to date already).
    """

    name: str
    summary: str
    run: Callable[[AbstractDocumentStore], int]

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise TopologyError(f"migration name {self.name!r} must be lower-case-with-hyphens")


def rewrite_each(
    store: AbstractDocumentStore,
    collection: str,
    rewrite: Callable[[Doc], Doc | None],
) -> int:
    """Rewrite every document of ``collection`` that ``rewrite`` changes; returns how many.

    ``rewrite`` gets a document as stored and returns it as it should be, or
    ``None`` when it is up to date. Each document is rewritten in its own
    transaction from its value at that moment, so a function writing it meanwhile
    loses nothing. Reads the whole collection: meant for views of a few thousand
    documents, not for an event store.
    """
    changed = 0
    for document in store.query(collection):

        def updater(current: Doc | None) -> Doc | None:
            return None if current is None else rewrite(current)

        if store.update(collection, document.key, updater) is not None:
            changed += 1
    return changed
