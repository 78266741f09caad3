"""lifecycle-control: the delivery's statuses in the course their ``revision`` says."""

from __future__ import annotations

from dataclasses import replace

from shared.envelope import Envelope
from shared.stores import Where
from tests.order.conftest import OrderSystem


def revised(event: Envelope, revision: str) -> Envelope:
    """``event``, a delivery status, saying where it comes in the delivery's course."""
    return replace(event, body={**event.body, "revision": revision})


def recorded(order_system: OrderSystem, type: str) -> int:
    return len(order_system.store.query("order-events", [Where("type", "==", type)]))


def test_a_hand_back_published_again_after_the_next_assignment_does_not_free_the_driver(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=15))
    order_system.send("delivery", revised(order_system.delivery("assigned"), "r/001/00"))
    order_system.advance(5)
    handed_back = revised(order_system.delivery("released"), "r/002/00")
    order_system.send("delivery", handed_back)
    order_system.advance(5)
    # Delivery's contract lets the driver who handed the order back be assigned it again:
    # the revision says this assignment comes after the hand-back, not before it
    order_system.send("delivery", revised(order_system.delivery("assigned"), "r/003/00"))
    order_system.advance(1)

    # the hand-back again, under another id and a later time
    order_system.send("delivery", revised(order_system.delivery("released"), "r/002/00"))

    assert recorded(order_system, "driver-released") == 2
    order = order_system.order()
    assert (order["driverAssigned"], order["driverId"]) == (True, "dan")
    assert order["deliveryRevision"] == "r/003/00"
    order_system.advance(40)  # past the no-driver deadline a hand-back would start
    assert order_system.order()["status"] == "accepted"


def test_a_status_without_a_revision_keeps_the_drivers_who_handed_the_order_back_out(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=15))
    order_system.send("delivery", revised(order_system.delivery("assigned"), "r/001/00"))
    order_system.send("delivery", revised(order_system.delivery("released"), "r/002/00"))

    order_system.send("delivery", order_system.delivery("assigned"))  # as before revisions

    order = order_system.order()
    assert (order["driverAssigned"], order["handedBackBy"]) == (False, ["dan"])


def test_a_pickup_repeated_with_each_location_under_its_own_revision_moves_the_order_once(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=15))
    order_system.send("delivery", revised(order_system.delivery("assigned"), "r/001/00"))
    for step, lat in enumerate((52.51, 52.52, 52.53), start=2):
        order_system.advance(1)
        pickup = order_system.delivery("picked-up", lat=lat)
        order_system.send("delivery", revised(pickup, f"r/{step:03d}/00"))
    order_system.send("delivery", revised(order_system.delivery("delivered"), "r/005/00"))

    assert len({e.id for e in order_system.internal("order-picked-up")}) == 1
    assert order_system.statuses() == ["placed", "accepted", "picked-up", "delivered"]
    assert order_system.faults() == []
