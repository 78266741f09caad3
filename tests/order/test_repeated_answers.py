"""The fold never moves an order back: what Order heard again cannot undo what it applied.

The lifecycle's transitions only go forward, but the fold replays every event in time order,
so an event heard late with an earlier stamp takes part in the order's past. Of the
restaurant's answers of one kind, the one Order heard first counts: a repeat under a new event
id, stamped earlier (a producer that sent its answer again), must not move ``acceptedAt`` and
``readyBy`` back, which left the ``ready`` already announced overdue (the order fell back to
``accepted``) and let the schedule cancel a cooked order for want of a driver. Nor does a
second ``order-placed`` for the same order id (another restaurant, another way of ordering)
take the place of the one Order took in. And a driver's hand-back frees only that driver: one
heard after another driver's assignment (its own assignment lost on the way, a fault
resubmitted later) must not unassign the driver who has the order now; nor does that
driver's assignment heard again give them back the order they handed back.
"""

from __future__ import annotations

import dataclasses

from shared.envelope import Envelope, derive_id
from tests.order.conftest import MINUTE, OrderSystem


def again(event: Envelope, minutes_earlier: float) -> Envelope:
    """``event`` sent again under a new id, stamped ``minutes_earlier`` than it."""
    return dataclasses.replace(
        event,
        id=derive_id(event.id, "again"),
        timestamp=event.timestamp - int(minutes_earlier * MINUTE),
    )


def test_an_acceptance_repeated_with_an_earlier_stamp_does_not_move_the_order_back(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.advance(1)
    accepted_at = order_system.clock.now_ms()
    first = order_system.answer("accepted", prepMinutes=30)
    order_system.send("restaurant", first)
    order_system.advance(34)
    order_system.send(
        "restaurant", order_system.answer("ready", readyAt=order_system.clock.now_ms())
    )
    assert order_system.order()["status"] == "ready"

    repeat = again(order_system.answer("accepted", prepMinutes=0), 34.5)
    order_system.send("restaurant", repeat)
    order_system.advance(5)  # the schedule runs with the order as folded

    order = order_system.order()
    assert (order["status"], order["acceptedAt"]) == ("ready", accepted_at)
    assert order["history"][1]["readyBy"] == accepted_at + 30 * MINUTE
    assert order_system.statuses() == ["placed", "accepted", "ready"]


def test_a_second_placed_order_with_the_same_id_does_not_replace_the_first(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed(restaurant_id="r-1"))
    order_system.advance(1)
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=15))
    assert order_system.order()["status"] == "accepted"

    order_system.send("customer", again(order_system.order_placed(restaurant_id="r-2"), 2))
    order_system.advance(12)  # past the restaurant's deadline, were the order placed again

    order = order_system.order()
    assert (order["status"], order["restaurant"]["id"]) == ("accepted", "r-1")
    assert order_system.statuses() == ["placed", "accepted"]


def test_a_hand_back_heard_after_another_drivers_assignment_leaves_that_driver_assigned(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=0))
    order_system.advance(2)
    first_assigned = order_system.delivery("assigned", driver="ann")  # lost on its way
    order_system.advance(1)
    released = order_system.delivery("released", driver="ann")
    order_system.advance(1)
    order_system.send("delivery", released)  # waits: Order never heard ann assigned
    order_system.send("delivery", order_system.delivery("assigned", driver="bob"))
    assert order_system.order()["driverAssigned"] is True

    order_system.advance(40)  # past the no-driver deadline, were nobody assigned
    assert order_system.order()["status"] == "accepted"

    order_system.send("delivery", first_assigned)  # resubmitted: ann, released, then bob
    order = order_system.order()
    assert (order["status"], order["driverAssigned"]) == ("accepted", True)


def test_an_assignment_heard_again_after_its_driver_handed_the_order_back_changes_nothing(
    order_system: OrderSystem,
) -> None:
    """A driver who handed an order back is never offered it again: their assignment heard
    again (under a new id) is a stale repeat, which must not give them the order back and
    stop the search for another driver."""
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=0))
    order_system.advance(2)
    assigned = order_system.delivery("assigned", driver="ann")
    order_system.send("delivery", assigned)
    order_system.advance(1)
    released_at = order_system.clock.now_ms()
    order_system.send("delivery", order_system.delivery("released", driver="ann"))
    order_system.advance(1)
    order_system.send("delivery", again(assigned, 0))
    assert order_system.order()["driverAssigned"] is False

    order_system.send("delivery", order_system.delivery("assigned", driver="bob"))
    order = order_system.order()
    assert (order["driverAssigned"], order["driverId"]) == (True, "bob")
    assert order["releasedAt"] == released_at
