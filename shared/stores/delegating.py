"""A document store that passes every call on to another: the base of store wrappers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from shared.stores.base import AbstractDocumentStore

if TYPE_CHECKING:
    from shared.stores.base import Doc, Document, Updater, Where


class DelegatingStore(AbstractDocumentStore):
    """Every method of the port passed on to :attr:`inner` as it is called.

    A wrapper subclasses it and overrides only what it changes (a write it counts, or
    answers without making), so a method the port gains is passed on, not left out.
    """

    def __init__(self, inner: AbstractDocumentStore) -> None:
        self._inner = inner

    @property
    def inner(self) -> AbstractDocumentStore:
        """The store this one passes calls on to."""
        return self._inner

    def get(self, collection: str, key: str) -> Doc | None:
        return self._inner.get(collection, key)

    def create(self, collection: str, key: str, data: Doc) -> bool:
        return self._inner.create(collection, key, data)

    def put(self, collection: str, key: str, data: Doc) -> None:
        self._inner.put(collection, key, data)

    def update(self, collection: str, key: str, updater: Updater) -> Doc | None:
        return self._inner.update(collection, key, updater)

    def delete(self, collection: str, key: str) -> None:
        self._inner.delete(collection, key)

    def delete_if(self, collection: str, key: str, condition: Callable[[Doc], bool]) -> bool:
        return self._inner.delete_if(collection, key, condition)

    def query(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        return self._inner.query(
            collection, where, order_by=order_by, descending=descending, limit=limit
        )

    def count(
        self,
        collection: str,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
    ) -> int:
        return self._inner.count(collection, where, order_by=order_by, descending=descending)
