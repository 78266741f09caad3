"""The document store contract, run against the embedded in-memory backend."""

from __future__ import annotations

from shared.stores.base import AbstractChangeFeed, AbstractDocumentStore
from shared.stores.memory import InMemoryDocumentStore
from tests.contracts.store_contract import DocumentStoreContract


class TestInMemoryDocumentStore(DocumentStoreContract):
    def make_store(self) -> AbstractDocumentStore:
        return InMemoryDocumentStore()

    def make_feed(self, store: AbstractDocumentStore) -> AbstractChangeFeed:
        assert isinstance(store, InMemoryDocumentStore)
        return store
