"""The store port counts the documents a query would find (``faults list``'s "N older")."""

from __future__ import annotations

import pytest

from shared.exceptions import InvalidQuery
from shared.stores.base import Where
from shared.stores.delegating import DelegatingStore
from shared.stores.memory import InMemoryDocumentStore

CONDITIONS = [
    [],
    [Where("status", "==", "open")],
    [Where("status", "==", "open"), Where("at", ">=", 3)],
    [Where("function", "in", ["a", "b"]), Where("at", "<=", 6)],
    [Where("status", "==", "gone")],
]


@pytest.fixture
def store() -> InMemoryDocumentStore:
    store = InMemoryDocumentStore()
    for n in range(10):
        status = "open" if n % 3 else "resubmitted"
        store.put("faults", f"f-{n}", {"status": status, "function": "abc"[n % 3], "at": n})
    store.put("faults", "no-time", {"status": "open", "function": "a"})
    return store


@pytest.mark.parametrize("where", CONDITIONS)
def test_count_is_how_many_a_query_finds(store, where):
    assert store.count("faults", where) == len(store.query("faults", where))
    assert DelegatingStore(store).count("faults", where) == len(store.query("faults", where))


def test_count_of_what_a_range_leaves_out():
    store = InMemoryDocumentStore()
    store.put("faults", "f-1", {"at": 1})
    store.put("faults", "f-2", {"at": "1"})  # a range matches values of its own type alone
    store.put("faults", "f-3", {})
    assert store.count("faults", [Where("at", ">=", 0)]) == 1
    assert store.count("faults") == 3
    assert store.count("none") == 0


def test_count_refuses_what_a_query_refuses(store):
    with pytest.raises(InvalidQuery):
        store.count("faults", [Where("a", "!=", 1), Where("b", "!=", 2)])


def test_a_count_ordered_by_a_field_counts_those_that_hold_it(store):
    # as the query ordered so finds them: Firestore leaves out a document without the field
    ordered = {"order_by": "at", "descending": True}
    assert store.count("faults", [Where("status", "==", "open")], **ordered) == 6
    assert store.count("faults", [Where("status", "==", "open")]) == 7
