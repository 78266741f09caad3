"""The document store contract, run against the embedded in-memory backend."""

from __future__ import annotations

import threading

from shared.clock import SystemClock
from shared.stores.base import AbstractChangeFeed, AbstractDocumentStore, Where
from shared.stores.memory import InMemoryDocumentStore
from tests.contracts.store_contract import DocumentStoreContract


class TestInMemoryDocumentStore(DocumentStoreContract):
    def make_store(self) -> AbstractDocumentStore:
        return InMemoryDocumentStore(clock=SystemClock())  # as the embedded system gives it

    def make_feed(self, store: AbstractDocumentStore) -> AbstractChangeFeed:
        assert isinstance(store, InMemoryDocumentStore)
        return store


def test_equality_indexes_follow_every_write():
    store = InMemoryDocumentStore()
    store.put("tickets", "t1", {"restaurant": "r1", "status": "new"})
    store.put("tickets", "t2", {"restaurant": "r1", "status": "new"})
    assert [d.key for d in store.query("tickets", [Where("status", "==", "new")])] == ["t1", "t2"]

    store.update("tickets", "t1", lambda t: {**(t or {}), "status": "accepted"})
    store.put("tickets", "t3", {"restaurant": "r2", "status": "new"})
    store.delete("tickets", "t2")
    store.put("tickets", "t4", {"restaurant": "r1", "status": ["odd"]})

    def keys(*where: Where) -> list[str]:
        return [d.key for d in store.query("tickets", list(where))]

    assert keys(Where("status", "==", "new")) == ["t3"]
    assert keys(Where("status", "==", "accepted")) == ["t1"]
    assert keys(Where("restaurant", "==", "r1"), Where("status", "==", "accepted")) == ["t1"]
    assert keys(Where("restaurant", "==", "r1")) == ["t1", "t4"]
    assert keys(Where("status", "==", ["odd"])) == ["t4"]


def test_a_value_stored_twice_in_a_document_reads_back_as_two_copies() -> None:
    store = InMemoryDocumentStore()
    address = {"street": "Main 1"}
    store.put("orders", "o-1", {"pickup": address, "dropoff": address})

    doc = store.get("orders", "o-1")
    assert doc is not None
    doc["dropoff"]["street"] = "Side 2"

    assert doc["pickup"] == {"street": "Main 1"}


def test_a_store_that_reruns_updaters_keeps_the_second_result_as_firestore_may() -> None:
    store = InMemoryDocumentStore(rerun_updaters=True)
    store.put("c", "k", {"n": 1})
    calls: list[dict[str, int]] = []

    def bump(doc: dict[str, int] | None) -> dict[str, int]:
        assert doc is not None
        calls.append(dict(doc))
        return {"n": doc["n"] + len(calls)}  # impure: depends on how often it ran

    assert store.update("c", "k", bump) == {"n": 3}
    assert calls == [{"n": 1}, {"n": 1}]  # both runs saw the stored document


def test_an_updater_holds_only_its_own_document_as_a_firestore_transaction_does() -> None:
    """Firestore isolates the document a transaction updates, not a ``get`` of another one
    in its updater: another writer may change that one before the commit (seen on the
    emulator), so two updaters reading each other's document may both commit (write skew).
    The embedded store lets them too, so a handler relying on more fails here as on GCP."""
    store = InMemoryDocumentStore()
    store.put("c", "driver", {"online": True})
    store.put("c", "delivery", {"taken": False})
    both_in = threading.Barrier(2, timeout=5.0)

    def go_offline(driver: dict[str, object] | None) -> dict[str, object] | None:
        taken = (store.get("c", "delivery") or {}).get("taken")
        both_in.wait()
        return None if taken else {"online": False}

    def take(delivery: dict[str, object] | None) -> dict[str, object] | None:
        online = (store.get("c", "driver") or {}).get("online")
        both_in.wait()
        return {"taken": True} if online else None

    other = threading.Thread(target=store.update, args=("c", "driver", go_offline))
    other.start()
    store.update("c", "delivery", take)
    other.join(5)

    assert (store.get("c", "driver"), store.get("c", "delivery")) == (
        {"online": False},
        {"taken": True},
    )


def test_a_write_of_the_document_an_updater_holds_waits_for_its_commit() -> None:
    """As on Firestore, whose transaction locks the document it reads (the emulator ends
    a write that waits more than about 2 s with "409 Transaction lock timeout")."""
    store = InMemoryDocumentStore()
    store.put("c", "k", {"v": "old"})
    read, put_done = threading.Event(), threading.Event()
    seen: list[object] = []

    def append(doc: dict[str, object] | None) -> dict[str, object]:
        seen.append((doc or {}).get("v"))
        read.set()
        put_done.wait(0.5)
        return {"v": f"{(doc or {}).get('v')}+upd"}

    def put() -> None:
        read.wait(5)
        store.put("c", "k", {"v": "put"})
        put_done.set()

    writer = threading.Thread(target=put)
    writer.start()
    store.update("c", "k", append)
    writer.join(5)

    assert (seen, store.get("c", "k")) == (["old"], {"v": "put"})
