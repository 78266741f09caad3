"""A nudge writes only a delivery still searching when its write lands."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.dispatch_control.records import DELIVERIES, nudge_searching
from shared.stores import Document, InMemoryDocumentStore
from tests.delivery.conftest import START
from tests.delivery.test_dispatch_nudge import BERLIN, driver, nudged, searching


def test_a_delivery_assigned_after_the_nudge_read_it_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = InMemoryDocumentStore()
    searching(store, "d-1", BERLIN, START)
    query = store.query

    def assigned_meanwhile(collection: str, *args: Any, **kwargs: Any) -> list[Document]:
        """The query's answer, after which another instance assigns what it found."""
        found = query(collection, *args, **kwargs)
        if collection == DELIVERIES:
            for doc in found:
                store.update(DELIVERIES, doc.key, lambda d: {**d, "status": "assigned"})
        return found

    monkeypatch.setattr(store, "query", assigned_meanwhile)

    nudge_searching(store, "c-1", [driver("dan", BERLIN)], now_ms=START)

    assert nudged(store) == {}
    stored = store.get(DELIVERIES, "d-1")
    assert stored is not None and stored["status"] == "assigned"
