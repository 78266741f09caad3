"""Records Order needs only while an order runs expire a month after they were written."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from order.topology import APP, TOPOLOGY
from shared.envelope import MAX_TIMESTAMP
from shared.stores import Where
from shared.topology import Topic
from tests.order.conftest import MINUTE, OrderSystem, sign


def month_after(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC) + timedelta(days=30)


def test_every_recorded_event_expires_a_month_after_it_was_recorded(
    order_system: OrderSystem,
) -> None:
    placed_at = order_system.clock.now_ms()
    order_system.send("customer", order_system.order_placed())
    order_system.advance(13)  # the restaurant never answers: the timeout is recorded too
    docs = order_system.store.query("order-events", [Where("orderId", "==", "o-1")])
    expiries = {doc.data["type"]: doc.data["expireAt"] for doc in docs}
    assert expiries == {
        "order-placed": month_after(placed_at),
        # Stamped with its deadline (10 minutes), recorded by the tick after the grace.
        "restaurant-timed-out": month_after(placed_at + 12 * MINUTE),
    }


def test_an_event_stamped_long_ago_is_kept_while_its_order_runs(
    order_system: OrderSystem,
) -> None:
    """A restaurant whose clock was set back stamps its acceptance in 1970: its record must
    not expire (and be deleted by Firestore) while the order runs, or the next fold would
    take the order back to ``placed`` and the schedule cancel it for the restaurant's
    silence."""
    order_system.send("customer", order_system.order_placed())
    accepted = order_system.answer("accepted", prepMinutes=15)
    order_system.send("restaurant", dataclasses.replace(accepted, timestamp=1))
    [doc] = order_system.store.query("order-events", [Where("type", "==", "restaurant-accepted")])
    assert doc.data["expireAt"] == month_after(order_system.clock.now_ms())
    assert order_system.order()["status"] == "accepted"


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


def test_an_event_timestamped_past_the_last_expiry_there_is_recorded_as_heard(
    order_system: OrderSystem,
) -> None:
    """An envelope's timestamp may lie beyond a month before the last instant Python and
    Firestore hold: the order is taken in as of when Order heard it, and its record
    expires a month after that (not never)."""
    now = order_system.clock.now_ms()
    placed = dataclasses.replace(order_system.order_placed(), timestamp=MAX_TIMESTAMP - 1)
    order_system.send("customer", placed)
    assert order_system.faults() == []
    [doc] = order_system.store.query("order-events", [Where("orderId", "==", "o-1")])
    assert doc.data["expireAt"] == month_after(now)
    assert (order_system.order()["status"], order_system.order()["changedAt"]) == ("placed", now)


def test_events_recorded_before_they_expired_expire_once_migrated_and_fold_nothing_anew(
    order_system: OrderSystem,
) -> None:
    """A version before order.retention stored events without ``expireAt``: Firestore's TTL
    would keep them for good. The migration gives them one a month on, and the rewrite is
    no new event to fold or announce."""
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=15))
    for doc in order_system.store.query("order-events"):
        old = {name: value for name, value in doc.data.items() if name != "expireAt"}
        order_system.store.put("order-events", doc.key, old)
    order = order_system.order()
    announced = len(order_system.published())

    assert [m.run(order_system.store) for m in APP.migrations] == [2]
    order_system.system.run_until_quiet()

    expiries = [d.data["expireAt"] for d in order_system.store.query("order-events")]
    assert expiries and all(isinstance(expires, datetime) for expires in expiries)
    assert (order_system.order(), len(order_system.published())) == (order, announced)
    assert order_system.faults() == []
    assert [m.run(order_system.store) for m in APP.migrations] == [0]
