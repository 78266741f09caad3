"""Records Order needs only while an order runs expire a month after their event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from order.topology import TOPOLOGY
from shared.stores import Where
from shared.topology import Topic
from tests.order.conftest import MINUTE, OrderSystem, sign


def month_after(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC) + timedelta(days=30)


def test_every_recorded_event_expires_a_month_after_it_happened(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.advance(13)  # the restaurant never answers: the timeout is recorded too
    docs = order_system.store.query("order-events", [Where("orderId", "==", "o-1")])
    assert sorted(doc.data["type"] for doc in docs) == ["order-placed", "restaurant-timed-out"]
    for doc in docs:
        assert doc.data["expireAt"] == month_after(doc.data["timestamp"])


def test_a_stored_callback_expires_a_month_after_it_arrived(pos_order: OrderSystem) -> None:
    body = json.dumps({"orderId": "o-1", "restaurantId": "r-1", "event": "ready"}).encode()
    response = pos_order.webhook().post(
        "/pos/callbacks",
        data=body,
        headers=sign(pos_order, body),
        content_type="application/json",
    )
    assert response.status_code == 202
    stored = pos_order.store.get("pos-inbox", "o-1:ready")
    assert stored is not None
    assert stored["expireAt"] == month_after(pos_order.clock.now_ms())


def test_the_expiring_collections_get_a_ttl_policy() -> None:
    assert set(TOPOLOGY.ttl_collections) == {"order-events", "pos-inbox"}


def test_an_event_heard_again_after_its_record_expired_changes_nothing(
    order_system: OrderSystem,
) -> None:
    """Firestore deleted the ended order's events; a resubmitted one is recorded afresh
    and folds into nothing new: the order stays as it ended, announced once."""
    order_system.send("customer", order_system.order_placed())
    rejected = order_system.answer("rejected", reason="closed")
    order_system.send("restaurant", rejected)
    announced = len(order_system.published())
    for doc in order_system.store.query("order-events", [Where("orderId", "==", "o-1")]):
        order_system.store.delete("order-events", doc.key)
    order_system.clock.advance(31 * 24 * 60 * MINUTE)
    order_system.system.inject("restaurant", Topic.EXTERNAL, rejected)
    order_system.system.run_until_quiet()
    order = order_system.order()
    assert (order["status"], order["reason"]) == ("cancelled", "rejected")
    assert len(order_system.published()) == announced
