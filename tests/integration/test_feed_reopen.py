"""A change feed's watch whose listener the SDK ended keeps listening (the emulator).

The SDK ends a listener for good on an error it cannot recover from (it closes it) and
when its thread dies of an exception in the snapshot callback. The watch opens a new one,
resumed from what it saw: every change since is announced once, and until then
:meth:`~shared.stores.base.Watch.outage` says since when and why it hears nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud.firestore_v1 import DocumentSnapshot

from shared.stores.base import DocumentChange, Watch
from shared.stores.firestore import FirestoreDocumentStore
from shared.stores.firestore_feed import FirestoreChangeFeed

pytestmark = pytest.mark.usefixtures("emulator_hosts")


def eventually(check: Callable[[], Any], timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.02)
    return result


@pytest.fixture
def store() -> Iterator[FirestoreDocumentStore]:
    store = FirestoreDocumentStore(project=f"reopen-{uuid.uuid4().hex[:12]}")
    yield store
    store.close()


def summary(changes: list[DocumentChange]) -> list[tuple[str, int, int]]:
    """(key, n before, n after) of each change, 0 for no document."""
    return sorted(
        (c.key, (c.before or {}).get("n", 0), (c.after or {}).get("n", 0)) for c in changes
    )


def watch_orders(store: FirestoreDocumentStore, seen: list[DocumentChange]) -> Watch:
    store.put("orders", "o-1", {"n": 1})
    store.put("orders", "o-2", {"n": 1})
    return FirestoreChangeFeed(store.project, store.client).watch("orders", seen.append)


def assert_it_hears_every_change_once(
    store: FirestoreDocumentStore, watch: Watch, seen: list[DocumentChange], expected: int
) -> None:
    """The writes made while the listener was down, then one after it listens again."""
    eventually(lambda: len(seen) >= expected)
    eventually(lambda: watch.outage() is None)
    store.put("orders", "o-3", {"n": 2})
    eventually(lambda: len(seen) >= expected + 1)
    time.sleep(1.0)  # a change announced twice would arrive now


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # SDK's raise
def test_a_listener_the_sdk_closed_on_an_error_is_reopened_and_misses_nothing(
    store: FirestoreDocumentStore,
) -> None:
    seen: list[DocumentChange] = []
    watch = watch_orders(store, seen)
    try:
        handle: Any = watch._handle  # type: ignore[attr-defined]
        handle._on_rpc_done(exceptions.PermissionDenied("listen refused"))  # as the SDK does
        since, why = eventually(watch.outage)
        assert "PermissionDenied" in why and "reopening" in why
        store.put("orders", "o-1", {"n": 2})  # while nobody listens
        store.delete("orders", "o-2")
        store.put("orders", "o-3", {"n": 1})
        assert_it_hears_every_change_once(store, watch, seen, 3)
    finally:
        watch.stop()

    assert summary(seen) == [("o-1", 1, 2), ("o-2", 1, 0), ("o-3", 0, 1), ("o-3", 1, 2)]


def test_a_listener_whose_thread_died_of_a_callback_error_is_reopened(
    store: FirestoreDocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception in the snapshot callback outside the announcement kills the SDK's thread."""
    seen: list[DocumentChange] = []
    watch = watch_orders(store, seen)
    real_to_dict = DocumentSnapshot.to_dict
    failures = [RuntimeError("a document that cannot be read")]

    def to_dict(self: DocumentSnapshot) -> Any:
        if failures:
            raise failures.pop()
        return real_to_dict(self)

    monkeypatch.setattr(DocumentSnapshot, "to_dict", to_dict)
    try:
        store.put("orders", "o-1", {"n": 2})  # its snapshot kills the listener's thread
        since, why = eventually(watch.outage)
        assert "a document that cannot be read" in why
        store.put("orders", "o-3", {"n": 1})
        assert_it_hears_every_change_once(store, watch, seen, 2)
    finally:
        watch.stop()

    assert summary(seen) == [("o-1", 1, 2), ("o-3", 0, 1), ("o-3", 1, 2)]
