"""Firestore counts with an aggregation query: the documents are not read one by one."""

from __future__ import annotations

import os
import uuid

import pytest

from shared.exceptions import InvalidQuery
from shared.stores.base import Where
from shared.stores.firestore import FirestoreDocumentStore

pytestmark = pytest.mark.usefixtures("emulator_hosts")


@pytest.fixture
def store():
    assert os.environ.get("FIRESTORE_EMULATOR_HOST"), "refusing to run against real Firestore"
    store = FirestoreDocumentStore(project=f"count-{uuid.uuid4().hex[:12]}")
    yield store
    store.close()


def test_count_is_how_many_a_query_finds_without_reading_them(store, monkeypatch):
    for n in range(12):
        status = "open" if n % 3 else "resubmitted"
        store.put("faults", f"f-{n}", {"status": status, "function": "abc"[n % 3], "at": n})
    store.put("faults", "no-time", {"status": "open", "function": "a"})
    conditions = [
        [],
        [Where("status", "==", "open")],
        [Where("status", "==", "open"), Where("at", ">=", 3)],
        [Where("function", "in", ["a", "b"]), Where("at", "<=", 6)],
        [Where("status", "==", "gone")],
    ]
    found = [len(store.query("faults", where)) for where in conditions]
    assert found == [13, 9, 6, 5, 0]

    monkeypatch.setattr(store, "query", lambda *a, **k: pytest.fail("read the documents"))
    assert [store.count("faults", where) for where in conditions] == found
    assert store.count("empty") == 0
    # ordered as the listing's query is, so it takes the same index: those holding the field
    ordered = store.count("faults", [Where("status", "==", "open")], order_by="at", descending=True)
    assert ordered == 8


def test_count_refuses_what_a_query_refuses(store):
    with pytest.raises(InvalidQuery):
        store.count("faults", [Where("a", "!=", 1), Where("b", "!=", 2)])
