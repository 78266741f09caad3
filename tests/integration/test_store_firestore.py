"""The document store contract, run against Firestore on the emulator.

Each test gets its own project id, so tests never see each other's documents.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from shared.exceptions import ConflictError, InvalidDocument, StoreError
from shared.stores.base import AbstractChangeFeed, AbstractDocumentStore, Doc
from shared.stores.firestore import TRANSACTION_ATTEMPTS, FirestoreDocumentStore
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


def _aborting_reads(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Make the first ``times`` reads in a transaction abort, as Firestore's reads may under
    contention; returns a list that grows by one per read tried in a transaction."""
    from google.api_core.exceptions import Aborted
    from google.cloud.firestore_v1.document import DocumentReference

    reads: list[int] = []
    real_get = DocumentReference.get

    def get(self: DocumentReference, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("transaction") is not None:
            reads.append(1)
            if len(reads) <= times:
                raise Aborted("Aborted due to cross-transaction contention.")
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(DocumentReference, "get", get)
    return reads


def test_a_transaction_whose_read_aborts_is_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK retries only an aborted commit; an aborted read wrote nothing and is retried too."""
    store = FirestoreDocumentStore(project=f"abort-{uuid.uuid4().hex[:12]}")
    try:
        store.put("c", "k", {"n": 1})
        reads = _aborting_reads(monkeypatch, times=2)
        seen: list[Doc | None] = []
        assert store.update("c", "k", lambda d: seen.append(d) or {"n": (d or {})["n"] + 1})
        assert (len(reads), seen) == (3, [{"n": 1}])
        reads.clear()
        assert store.delete_if("c", "k", lambda d: d["n"] == 2) is True
        assert len(reads) == 3
        assert store.get("c", "k") is None
    finally:
        store.close()


def test_a_read_that_keeps_aborting_is_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FirestoreDocumentStore(project=f"abort-{uuid.uuid4().hex[:12]}")
    try:
        store.put("c", "k", {"n": 1})
        reads = _aborting_reads(monkeypatch, times=TRANSACTION_ATTEMPTS)
        with pytest.raises(ConflictError):
            store.update("c", "k", lambda d: {"n": 2})
        assert len(reads) == TRANSACTION_ATTEMPTS
        monkeypatch.undo()
        assert store.get("c", "k") == {"n": 1}
    finally:
        store.close()


def test_a_failed_rollback_hides_not_why_the_transaction_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK raises the rollback's error over the first: the caller still gets the first."""
    from google.api_core.exceptions import ServiceUnavailable
    from google.cloud.firestore_v1.transaction import Transaction

    real_rollback = Transaction._rollback

    def rollback(self: Transaction) -> None:
        real_rollback(self)
        raise ServiceUnavailable("the connection dropped")

    store = FirestoreDocumentStore(project=f"rollback-{uuid.uuid4().hex[:12]}")
    try:
        store.put("c", "k", {"n": 1})
        monkeypatch.setattr(Transaction, "_rollback", rollback)
        with pytest.raises(KeyError):
            store.update("c", "k", lambda d: {"n": (d or {})["missing"]})
        with pytest.raises(KeyError):
            store.delete_if("c", "k", lambda d: d["missing"])
        with pytest.raises(InvalidDocument):
            store.update("c", "k", lambda d: {"n": 2**64})
        reads = _aborting_reads(monkeypatch, times=1)
        assert store.update("c", "k", lambda d: {"n": 3}) == {"n": 3}
        assert len(reads) == 2
    finally:
        store.close()


def test_a_create_that_aborts_is_a_conflict_not_a_document_that_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Aborted (contention) is a 409 as AlreadyExists is, yet it created nothing: reporting
    the document as there (``False``) would have a caller drop what it meant to record."""
    from google.api_core.exceptions import Aborted
    from google.cloud.firestore_v1.document import DocumentReference

    def create(self: DocumentReference, *args: Any, **kwargs: Any) -> Any:
        raise Aborted("Too much contention on these documents. Please try again.")

    store = FirestoreDocumentStore(project=f"create-{uuid.uuid4().hex[:12]}")
    try:
        with monkeypatch.context() as patched:
            patched.setattr(DocumentReference, "create", create)
            with pytest.raises(ConflictError):
                store.create("c", "k", {"v": 1})
        assert store.get("c", "k") is None
        assert store.create("c", "k", {"v": 1}) is True
        assert store.create("c", "k", {"v": 2}) is False
    finally:
        store.close()


def test_a_transaction_whose_begin_aborts_is_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Then the SDK's rollback fails too (nothing to roll back): the abort is what counts."""
    from google.api_core.exceptions import Aborted
    from google.cloud.firestore_v1.transaction import Transaction

    real_begin = Transaction._begin
    begun: list[int] = []

    def begin(self: Transaction, *args: Any, **kwargs: Any) -> None:
        begun.append(1)
        if len(begun) == 1:
            raise Aborted("Aborted due to cross-transaction contention.")
        real_begin(self, *args, **kwargs)

    store = FirestoreDocumentStore(project=f"begin-{uuid.uuid4().hex[:12]}")
    try:
        monkeypatch.setattr(Transaction, "_begin", begin)
        assert store.update("c", "k", lambda d: {"n": 1}) == {"n": 1}
        assert len(begun) == 2
    finally:
        store.close()


def _commits_failing(
    monkeypatch: pytest.MonkeyPatch,
    store: FirestoreDocumentStore,
    *,
    landed: bool,
    failing: frozenset[int] = frozenset({1}),
    error: type[Exception] | None = None,
) -> list[int]:
    """Make the commits numbered ``failing`` (from 1) fail with ``error`` (``ServiceUnavailable``
    by default) under the SDK's retry: after Firestore applied them (``landed``: the answer was
    lost) or before sending them; returns a list that grows by one per commit tried."""
    from google.api_core.exceptions import ServiceUnavailable

    failure = error or ServiceUnavailable

    transport = store.client._firestore_api._transport
    wrapped = transport._wrapped_methods[transport.commit]
    real = wrapped._target
    commits: list[int] = []

    def commit(*args: Any, **kwargs: Any) -> Any:
        commits.append(1)
        if len(commits) not in failing:
            return real(*args, **kwargs)
        if landed:
            real(*args, **kwargs)
        raise failure("the connection dropped")

    monkeypatch.setattr(wrapped, "_target", commit)
    return commits


def test_a_create_whose_answer_was_lost_reports_what_it_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK retries a commit that failed with ServiceUnavailable; when the first try had
    landed, the retry finds the document: this call created it, not another."""
    store = FirestoreDocumentStore(project=f"lost-{uuid.uuid4().hex[:12]}")
    try:
        commits = _commits_failing(monkeypatch, store, landed=True)
        assert store.create("c", "k", {"v": 1, "nan": float("nan"), "at": [1.5, "x"]}) is True
        assert len(commits) == 2
        assert store.get("c", "k") == {
            "v": 1,
            "nan": pytest.approx(float("nan"), nan_ok=True),
            "at": [1.5, "x"],
        }
        assert store.create("c", "k", {"v": 1, "nan": float("nan"), "at": [1.5, "x"]}) is False
    finally:
        store.close()


def test_a_retried_create_that_finds_another_document_reports_it_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Retried after a lost answer, a create finding a document other than its own (different
    data, or equal data created before the call began) reports it there, as without a retry."""
    from shared.stores import firestore as module

    store = FirestoreDocumentStore(project=f"lost-{uuid.uuid4().hex[:12]}")
    try:
        store.put("c", "other", {"v": 2})
        store.put("c", "twin", {"v": 1})
        commits = _commits_failing(monkeypatch, store, landed=False, failing=frozenset({1, 3}))
        assert store.create("c", "other", {"v": 1}) is False  # created since, but not equal
        monkeypatch.setattr(module, "CLOCK_SKEW_S", 0.0)
        assert store.create("c", "twin", {"v": 1}) is False  # equal, but created before
        assert len(commits) == 4
        assert store.get("c", "other") == {"v": 2}
    finally:
        store.close()


def test_a_create_that_timed_out_after_landing_reports_what_it_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DeadlineExceeded, which the SDK does not retry, may come after the commit was applied:
    the create tries again, finds its own document and reports it created, not there."""
    from google.api_core.exceptions import DeadlineExceeded

    store = FirestoreDocumentStore(project=f"lost-{uuid.uuid4().hex[:12]}")
    try:
        commits = _commits_failing(monkeypatch, store, landed=True, error=DeadlineExceeded)
        assert store.create("c", "k", {"v": 1}) is True
        assert len(commits) == 2
        assert store.get("c", "k") == {"v": 1}
    finally:
        store.close()


@pytest.mark.parametrize("landed", [True, False])
def test_a_create_whose_retries_ran_out_reports_what_it_created_else_fails(
    monkeypatch: pytest.MonkeyPatch, landed: bool
) -> None:
    """When the last try's answer was lost too, the create looks: its own document is
    created; none is a failure, not a document that is there."""
    from google.api_core.exceptions import DeadlineExceeded

    from shared.stores import firestore as module

    store = FirestoreDocumentStore(project=f"lost-{uuid.uuid4().hex[:12]}")
    try:
        monkeypatch.setattr(module, "CREATE_RETRY_S", 0.0)
        commits = _commits_failing(monkeypatch, store, landed=landed, error=DeadlineExceeded)
        if landed:
            assert store.create("c", "k", {"v": 1}) is True
        else:
            with pytest.raises(StoreError, match="create c/k failed"):
                store.create("c", "k", {"v": 1})
        assert len(commits) == 1
        assert store.get("c", "k") == ({"v": 1} if landed else None)
    finally:
        store.close()
