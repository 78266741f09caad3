"""The document store contract, run against Firestore on the emulator.

Each test gets its own project id, so tests never see each other's documents.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest

from shared.stores.base import AbstractChangeFeed, AbstractDocumentStore
from shared.stores.firestore import FirestoreDocumentStore
from shared.stores.firestore_feed import FirestoreChangeFeed
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


def test_documents_the_emulator_resends_unchanged_are_not_decoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The emulator answers each write with the whole collection; only the change is decoded.

    The listener still reports exactly the written documents, with before and after.
    """
    from google.cloud.firestore_v1 import _helpers, watch

    store = FirestoreDocumentStore(project=f"resend-{uuid.uuid4().hex[:12]}")
    feed = FirestoreChangeFeed(store.project, store.client)
    for n in range(100):
        store.put("orders", f"o-{n:03d}", {"n": n})
    seen: list[tuple[str, object, object]] = []
    watch_ = feed.watch(
        "orders",
        lambda c: seen.append((c.key, (c.before or {}).get("n"), (c.after or {}).get("n"))),
    )
    decoded: list[int] = []
    real_decode = _helpers.decode_dict
    monkeypatch.setattr(
        watch._helpers, "decode_dict", lambda *a: decoded.append(1) or real_decode(*a)
    )
    try:
        for n in range(10):
            store.put("orders", f"o-{n:03d}", {"n": -n - 1})
        deadline = time.monotonic() + 30
        while len(seen) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # anything more would arrive now
    finally:
        watch_.stop()
        store.close()

    assert sorted(seen) == [(f"o-{n:03d}", n, -n - 1) for n in range(10)]
    assert len(decoded) <= 20, f"{len(decoded)} documents decoded for 10 changes"
