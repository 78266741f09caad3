"""Other subsystems' clocks: Order takes their times, but none later than it heard them.

A restaurant (or Customer, or Delivery) whose clock runs ahead stamps its events in
Order's future. Taken as stamped, an acceptance given in time looked late (past the
restaurant's deadline), sorted after a cancellation that reached Order later, and moved the
deadlines that run from it into the future.
"""

from __future__ import annotations

import dataclasses

from shared.envelope import Envelope
from tests.order.conftest import MINUTE, OrderSystem
from tests.order.test_lifecycle_control import cancel_request


def ahead(event: Envelope, minutes: float) -> Envelope:
    """``event`` as a producer whose clock runs ``minutes`` ahead of Order's stamps it."""
    return dataclasses.replace(event, timestamp=event.timestamp + int(minutes * MINUTE))


def test_an_acceptance_in_time_from_a_restaurant_clock_running_ahead_is_not_late(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.advance(1)
    heard_at = order_system.clock.now_ms()
    order_system.send("restaurant", ahead(order_system.answer("accepted", prepMinutes=15), 12))
    order_system.advance(15)  # past the restaurant's deadline and its grace

    order = order_system.order()
    assert (order["status"], order["acceptedAt"]) == ("accepted", heard_at)
    assert order_system.statuses() == ["placed", "accepted"]


def test_a_restaurant_clock_running_ahead_does_not_push_the_deadlines_back(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.advance(1)
    heard_at = order_system.clock.now_ms()
    order_system.send("restaurant", ahead(order_system.answer("accepted", prepMinutes=0), 25))
    assert order_system.order()["readyBy"] == heard_at
    [accepted] = [e for e in order_system.published(version=2) if e.body["status"] == "accepted"]
    assert accepted.body["changedAt"] == heard_at

    order_system.advance(33)  # no driver within 30 minutes of the acceptance, as Order heard it
    order = order_system.order()
    assert (order["status"], order["reason"]) == ("cancelled", "no-driver")
    assert order["changedAt"] == heard_at + 30 * MINUTE


def test_an_acceptance_heard_before_the_customers_cancellation_stands(
    order_system: OrderSystem,
) -> None:
    """Order decides a cancellation when it arrives: an acceptance it heard first stands,
    however far ahead the restaurant's clock stamped it."""
    order_system.send("customer", order_system.order_placed())
    order_system.advance(1)
    order_system.send("restaurant", ahead(order_system.answer("accepted", prepMinutes=15), 3))
    order_system.advance(1)
    order_system.send("customer", cancel_request(order_system))

    assert order_system.order()["status"] == "accepted"
    assert order_system.statuses() == ["placed", "accepted"]
    assert order_system.statuses(version=2) == ["placed", "accepted"]


def test_a_pickup_from_a_delivery_clock_running_ahead_does_not_push_the_delivery_deadline_back(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=0))
    order_system.send("delivery", order_system.delivery("assigned"))
    order_system.advance(5)
    heard_at = order_system.clock.now_ms()
    order_system.send("delivery", ahead(order_system.delivery("picked-up"), 60))
    assert order_system.order()["changedAt"] == heard_at

    order_system.advance(123)  # not delivered within 2 hours of the pickup
    order = order_system.order()
    assert (order["status"], order["reason"]) == ("cancelled", "not-delivered")
    assert order["changedAt"] == heard_at + 120 * MINUTE


def test_a_profile_saved_by_a_clock_running_ahead_does_not_outrank_the_saves_after_it(
    order_system: OrderSystem,
) -> None:
    """Of a restaurant's profiles the latest by time counts: one stamped a day ahead, then
    its clock put right, must not keep the restaurant on its point of sale for that day."""
    order_system.send("restaurant", ahead(order_system.restaurant_updated(ordering="pos"), 1440))
    order_system.advance(1)
    order_system.send("restaurant", order_system.restaurant_updated(ordering="kitchen"))
    order_system.send("customer", order_system.order_placed())

    assert [e.body["ordering"] for e in order_system.published()] == ["kitchen"]


def behind(event: Envelope, minutes: float) -> Envelope:
    """``event`` as a producer whose clock runs ``minutes`` behind Order's stamps it."""
    return ahead(event, -minutes)


def test_a_restaurant_clock_running_behind_does_not_bring_the_driver_deadline_forward(
    order_system: OrderSystem,
) -> None:
    """A deadline runs no earlier than from when Order heard what starts it: stamped 8 minutes
    early, an acceptance would leave Delivery 22 of its 30 minutes to find a driver."""
    order_system.send("customer", order_system.order_placed())
    order_system.advance(8)
    heard_at = order_system.clock.now_ms()
    order_system.send("restaurant", behind(order_system.answer("accepted", prepMinutes=0), 8))

    order_system.advance(29)  # 29 minutes after Order heard it, past the deadline as stamped
    assert order_system.order()["status"] == "accepted"

    order_system.advance(4)
    order = order_system.order()
    assert (order["status"], order["reason"]) == ("cancelled", "no-driver")
    assert order["changedAt"] == heard_at + 30 * MINUTE


def test_a_delivery_clock_running_behind_does_not_bring_the_pickup_deadline_forward(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=0))
    order_system.advance(20)
    heard_at = order_system.clock.now_ms()
    order_system.send("delivery", behind(order_system.delivery("assigned"), 15))

    order_system.advance(89)  # 89 minutes after Order heard of the assignment
    assert order_system.order()["status"] == "accepted"

    order_system.advance(4)
    order = order_system.order()
    assert (order["status"], order["reason"]) == ("cancelled", "driver-no-show")
    assert order["changedAt"] == heard_at + 90 * MINUTE


def test_a_delivery_clock_running_behind_does_not_bring_the_delivery_deadline_forward(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=0))
    order_system.send("delivery", order_system.delivery("assigned"))
    order_system.advance(30)
    heard_at = order_system.clock.now_ms()
    order_system.send("delivery", behind(order_system.delivery("picked-up"), 25))
    assert order_system.order()["status"] == "picked-up"

    order_system.advance(119)  # 119 minutes after Order heard of the pickup
    assert order_system.order()["status"] == "picked-up"

    order_system.advance(4)
    order = order_system.order()
    assert (order["status"], order["reason"]) == ("cancelled", "not-delivered")
    assert order["changedAt"] == heard_at + 120 * MINUTE
