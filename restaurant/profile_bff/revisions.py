"""Profiles and menus are saved with their revision: how many saves changed them.

Two saves in one millisecond are stamped with the same time, so the events they
cause cannot be ordered by it. The revision, counted in the write that saves,
orders them as they were written; it travels with the events (``revision`` in
``restaurant.restaurant-updated`` and ``restaurant.menu-updated``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.stores import AbstractDocumentStore, Doc

REVISION = "revision"
"""The stored document's field holding its revision: 1 after the first save, one more
after each save that changed it; absent from a document saved before saves were counted."""


def save(store: AbstractDocumentStore, collection: str, key: str, content: Doc) -> bool:
    """Store ``content`` as the document's next revision, unless it holds that already;
    whether it was written."""

    def next_revision(current: Doc | None) -> Doc | None:
        if current is not None and content_of(current) == content:
            return None
        return {**content, REVISION: (current or {}).get(REVISION, 0) + 1}

    return store.update(collection, key, next_revision) is not None


def content_of(doc: Doc) -> Doc:
    """A stored profile or menu as staff saved it: without its revision."""
    return {name: value for name, value in doc.items() if name != REVISION}
