"""The document store contract, run against Firestore on the emulator.

Each test gets its own project id, so tests never see each other's documents.
"""

from __future__ import annotations

import os
import uuid

import pytest

from shared.stores.base import AbstractChangeFeed, AbstractDocumentStore
from shared.stores.firestore import FirestoreChangeFeed, FirestoreDocumentStore
from tests.contracts.store_contract import DocumentStoreContract

pytestmark = pytest.mark.usefixtures("emulator_hosts")


class TestFirestoreDocumentStore(DocumentStoreContract):
    def make_store(self) -> AbstractDocumentStore:
        assert os.environ.get("FIRESTORE_EMULATOR_HOST"), "refusing to run against real Firestore"
        return FirestoreDocumentStore(project=f"contract-{uuid.uuid4().hex[:12]}")

    def make_feed(self, store: AbstractDocumentStore) -> AbstractChangeFeed:
        assert isinstance(store, FirestoreDocumentStore)
        return FirestoreChangeFeed(store.project, store.client)

    def close_store(self, store: AbstractDocumentStore) -> None:
        assert isinstance(store, FirestoreDocumentStore)
        store.close()
