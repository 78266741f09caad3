"""Documents saved with their revision: how many saves changed them.

Two saves in one millisecond are stamped with the same time, so the events they
cause cannot be ordered by it. A revision counted in the very write that saves
orders them as they were written; the service publishes it with the entity
(``revision``), and readers keep the later save with
``apply_event(..., revision=...)`` (:mod:`shared.stores.idempotent`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.stores.document_rules import normalized, same_value
from shared.stores.memory import as_read

if TYPE_CHECKING:
    from shared.stores.base import Doc

REVISION = "revision"
"""The document's field holding its revision: 1 after the first save, one more after each
save that changed it; absent from a document saved before saves were counted."""

Write = Callable[["Doc | None"], "Doc | None"]
"""A store updater: the document to write from the one stored, or ``None`` to write nothing."""


def counted(write: Write) -> Write:
    """``write`` as a save that counts: the document it makes gets the next revision when it
    changed anything, as the store would hold it (a tuple as an array, a datetime in
    UTC); an unchanged one is written back as it is (no change, no trigger)."""

    def save(current: Doc | None) -> Doc | None:
        new = write(current)
        if new is None:
            return None
        fresh = content_of(new)
        if current is not None:
            stored, held = content_of(current), as_read(normalized(fresh))  # as a read gets it
            if stored == held and same_value(stored, held):  # ``==`` first: it is quicker
                return current
        return {**fresh, REVISION: (current or {}).get(REVISION, 0) + 1}

    return save


def content_of(doc: Doc) -> Doc:
    """A stored document as it was saved: without its revision."""
    return {name: value for name, value in doc.items() if name != REVISION}
