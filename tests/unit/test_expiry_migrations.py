"""Records stored before they carried their TTL field expire once migrated.

Firestore's TTL policy deletes a document only when its ``expireAt`` holds a timestamp: an
event, callback, note or marker stored by a version before it was kept (or holding epoch
milliseconds there) would be kept for good.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from order.migrations import MIGRATIONS as ORDER_MIGRATIONS
from order.migrations import expire_unstamped_records
from order.topology import APP as ORDER
from restaurant.migrations import MIGRATIONS as RESTAURANT_MIGRATIONS
from restaurant.migrations import expire_unstamped_notes
from restaurant.topology import APP as RESTAURANT
from shared.migrations import expire_unstamped, rewrite_each
from shared.stores import InMemoryDocumentStore

NOW_MS = 1_767_225_600_000
A_MONTH_ON = datetime.fromtimestamp(NOW_MS / 1000, UTC) + timedelta(days=30)
STAMPED = datetime(2026, 2, 1, tzinfo=UTC)


def test_order_events_and_callbacks_stored_before_they_expired_expire_a_month_on() -> None:
    store = InMemoryDocumentStore()
    # As versions before order.retention stored them: no expireAt.
    store.put("order-events", "e-1", {"id": "e-1", "orderId": "o-1", "type": "order-placed"})
    store.put("order-events", "e-2", {"id": "e-2", "orderId": "o-1", "expireAt": STAMPED})
    store.put("pos-inbox", "o-1:ready", {"orderId": "o-1", "event": "ready", "receivedAt": 1})

    assert expire_unstamped_records(store, NOW_MS) == 2

    assert store.get("order-events", "e-1") == {
        "id": "e-1",
        "orderId": "o-1",
        "type": "order-placed",
        "expireAt": A_MONTH_ON,
    }
    assert store.get("order-events", "e-2")["expireAt"] == STAMPED  # kept as it was
    assert store.get("pos-inbox", "o-1:ready")["expireAt"] == A_MONTH_ON
    assert expire_unstamped_records(store, NOW_MS + 60_000) == 0  # idempotent


def test_kitchen_notes_and_markers_expire_but_tickets_never_do() -> None:
    store = InMemoryDocumentStore()
    ticket = {"id": "o-1", "restaurantId": "r-1", "status": "accepted", "receivedAt": 1}
    marker = {"id": "o-2", "restaurantId": "r-1", "status": "withdrawn-unseen"}
    store.put("tickets", "o-1", ticket)
    store.put("tickets", "o-2", marker)
    store.put("kitchen-left-to-pos", "o-3", {"id": "o-3", "restaurantId": "r-1"})
    store.put("order-esg-collected", "o-4", {"id": "o-4", "heard": "delivered"})

    assert expire_unstamped_notes(store, NOW_MS) == 3

    assert store.get("tickets", "o-1") == ticket
    assert store.get("tickets", "o-2") == {**marker, "expireAt": A_MONTH_ON}
    assert store.get("kitchen-left-to-pos", "o-3")["expireAt"] == A_MONTH_ON
    assert store.get("order-esg-collected", "o-4")["expireAt"] == A_MONTH_ON
    assert expire_unstamped_notes(store, NOW_MS) == 0


def test_a_ttl_field_holding_epoch_milliseconds_is_given_a_timestamp() -> None:
    store = InMemoryDocumentStore()
    store.put("pos-inbox", "o-1:ready", {"orderId": "o-1", "expireAt": NOW_MS})

    assert expire_unstamped(store, "pos-inbox", A_MONTH_ON) == 1
    assert store.get("pos-inbox", "o-1:ready")["expireAt"] == A_MONTH_ON


def test_a_marker_made_a_ticket_while_the_migration_reads_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = InMemoryDocumentStore()
    store.put("tickets", "o-1", {"id": "o-1", "status": "withdrawn-unseen"})
    query = store.query

    def then_changed(collection: str, *args: Any, **kwargs: Any) -> Any:
        found = query(collection, *args, **kwargs)
        if collection == "tickets":
            store.put("tickets", "o-1", {"id": "o-1", "status": "new"})
        return found

    monkeypatch.setattr(store, "query", then_changed)

    assert expire_unstamped_notes(store, NOW_MS) == 0
    assert store.get("tickets", "o-1") == {"id": "o-1", "status": "new"}


def test_the_migrations_are_declared_on_the_subsystems() -> None:
    assert set(ORDER_MIGRATIONS) <= set(ORDER.migrations)
    assert set(RESTAURANT_MIGRATIONS) <= set(RESTAURANT.migrations)


def test_a_run_with_nothing_to_change_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrations run after every deploy: documents up to date cost a read, not a
    transaction each."""
    store = InMemoryDocumentStore()
    for n in range(3):
        store.put("c", f"k-{n}", {"v": n, "done": True})
    updates: list[str] = []
    update = store.update
    monkeypatch.setattr(store, "update", lambda c, k, u: updates.append(k) or update(c, k, u))

    assert rewrite_each(store, "c", lambda doc: None if doc["done"] else {**doc, "done": True}) == 0
    assert updates == []
