"""A store that reads and never writes: what a migration would change, counted, not made."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from shared.stores.base import AbstractDocumentStore

if TYPE_CHECKING:
    from shared.stores.base import Doc, Document, Updater, Where


class ReadOnlyStore(AbstractDocumentStore):
    """``store`` read as it is, each write answered as if made and then forgotten.

    A migration run on it returns how many documents it would change, from the documents as
    stored: a migration after it sees none of the changes an earlier one would make.
    """

    def __init__(self, store: AbstractDocumentStore) -> None:
        self._store = store

    def get(self, collection: str, key: str) -> Doc | None:
        return self._store.get(collection, key)

    def create(self, collection: str, key: str, data: Doc) -> bool:
        return self._store.get(collection, key) is None

    def put(self, collection: str, key: str, data: Doc) -> None:
        return None

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        return updater(self._store.get(collection, key))

    def delete(self, collection: str, key: str) -> None:
        return None

    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        current = self._store.get(collection, key)
        return current is not None and condition(current)

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        return self._store.query(
            collection, where, order_by=order_by, descending=descending, limit=limit
        )
