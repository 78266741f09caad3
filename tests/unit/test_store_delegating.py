"""Store wrappers pass on every call of the port they do not change.

:class:`DelegatingStore` passes each method of the port on as called; the dev host's
:class:`CountingStore` and the dry run's :class:`ReadOnlyStore` build on it, overriding only
the writes they count or answer without making.
"""

from __future__ import annotations

import inspect
import time
from unittest.mock import create_autospec

from devstack.stats import CountingStore, Stats
from shared.clock import SystemClock
from shared.migrations import expiry_backfill
from shared.migrations.dry_run import ReadOnlyStore
from shared.stores.base import AbstractChangeFeed, AbstractDocumentStore, Where
from shared.stores.delegating import DelegatingStore
from shared.stores.memory import InMemoryDocumentStore
from tests.contracts.store_contract import DocumentStoreContract

PORT_METHODS = sorted(
    name
    for name, member in vars(AbstractDocumentStore).items()
    if inspect.isfunction(member) and not name.startswith("_")
)


def test_the_port_methods_are_found() -> None:
    assert set(AbstractDocumentStore.__abstractmethods__) <= set(PORT_METHODS)
    assert {"get", "update", "query"} <= set(PORT_METHODS)


def test_every_port_method_is_passed_on_with_its_arguments_and_answer() -> None:
    inner = create_autospec(AbstractDocumentStore, instance=True)
    store = DelegatingStore(inner)
    assert store.inner is inner
    for name in PORT_METHODS:
        # Its own method, not one the port implements (a method the port gains with a body
        # would otherwise run the port's code on the wrapper, not the wrapped store's).
        assert name in vars(DelegatingStore), f"DelegatingStore does not pass on {name}"
        signature = inspect.signature(getattr(AbstractDocumentStore, name))
        args: list[object] = []
        kwargs: dict[str, object] = {}
        for parameter in list(signature.parameters.values())[1:]:  # after self
            if parameter.kind is parameter.KEYWORD_ONLY:
                kwargs[parameter.name] = object()
            else:
                args.append(object())
        answer = object()
        getattr(inner, name).return_value = answer

        got = getattr(store, name)(*args, **kwargs)

        getattr(inner, name).assert_called_once_with(*args, **kwargs)
        assert got is (None if signature.return_annotation == "None" else answer), name


class TestDelegatingStoreContract(DocumentStoreContract):
    """The wrapper behaves as the store it wraps, to the letter of the port."""

    def make_store(self) -> AbstractDocumentStore:
        return DelegatingStore(InMemoryDocumentStore(clock=SystemClock()))

    def make_feed(self, store: AbstractDocumentStore) -> AbstractChangeFeed:
        assert isinstance(store, DelegatingStore)
        assert isinstance(store.inner, InMemoryDocumentStore)
        return store.inner


def test_the_counting_store_counts_each_write_made_and_passes_reads_on() -> None:
    stats = Stats("order")
    inner = InMemoryDocumentStore()
    store = CountingStore(inner, stats)

    store.put("c", "a", {"n": 1})
    assert store.create("c", "b", {"n": 2}) is True
    assert store.update("c", "a", lambda doc: {**(doc or {}), "n": 3}) == {"n": 3}
    assert store.update("c", "a", lambda doc: None) is None  # declined: nothing written
    assert store.delete_if("c", "b", lambda doc: doc["n"] == 9) is False
    assert store.delete_if("c", "b", lambda doc: doc["n"] == 2) is True
    store.delete("c", "a")

    assert stats.writes == 5
    assert inner.get("c", "a") is None and inner.get("c", "b") is None
    inner.put("c", "d", {"n": 4})
    assert store.get("c", "d") == {"n": 4}
    assert [d.key for d in store.query("c", [Where("n", "==", 4)])] == ["d"]
    assert stats.writes == 5


def test_the_read_only_store_answers_writes_and_makes_none() -> None:
    inner = InMemoryDocumentStore()
    inner.put("c", "a", {"n": 1})
    store = ReadOnlyStore(inner)

    assert store.create("c", "a", {"n": 2}) is False
    assert store.create("c", "b", {"n": 2}) is True
    store.put("c", "b", {"n": 2})
    assert store.update("c", "a", lambda doc: {**(doc or {}), "n": 3}) == {"n": 3}
    assert store.delete_if("c", "a", lambda doc: doc["n"] == 1) is True
    store.delete("c", "a")

    assert inner.get("c", "a") == {"n": 1} and inner.get("c", "b") is None
    assert store.get("c", "a") == {"n": 1}
    assert [d.key for d in store.query("c", [Where("n", "==", 1)])] == ["a"]


def test_an_expiry_backfill_expires_with_the_time_it_runs() -> None:
    seen: list[int] = []

    def expire(store: AbstractDocumentStore, now_ms: int) -> int:
        seen.append(now_ms)
        return 2

    migration = expiry_backfill("things-expire", "things stored before they expired", expire)
    time.sleep(0.01)  # the time it runs, not the time it was declared
    before = time.time() * 1000
    assert migration.run(InMemoryDocumentStore()) == 2
    after = time.time() * 1000

    assert (migration.name, migration.backfill, migration.version) == ("things-expire", True, 1)
    assert len(seen) == 1 and before - 1 <= seen[0] <= after + 1
