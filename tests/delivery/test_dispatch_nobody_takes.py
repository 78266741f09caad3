"""dispatch-control: a delivery no driver takes (every driver in reach declined it, or let its
offers run out until driver-bff took them offline) waits, searching, with no retry loop: it is
offered at once to a driver who becomes free and has not declined it, again to those who
declined it once their cool-down has passed (:mod:`tests.delivery.test_dispatch_offer_again`),
and ends when Order, whose no-driver deadline it is, cancels the order."""

from __future__ import annotations

from delivery.dispatch_control.records import DECLINE_COOL_DOWN_MS
from order.lifecycle_control.deadlines import DRIVER_DEADLINE_MS as NO_DRIVER_DEADLINE
from shared.topology import Topic
from tests.delivery.conftest import FAR, MINUTE, NEAR, START, Delivery


def bus_types(delivery: Delivery) -> list[str]:
    return [event.type for event in delivery.events[Topic.BUS]]


def everyone_declined(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    assert delivery.answer("d-o-1", "decline", "dan").status_code == 200
    assert delivery.answer("d-o-1", "decline", "eve").status_code == 200


def test_a_delivery_everyone_declined_waits_untouched_by_the_sweeps_until_the_cool_down(
    delivery: Delivery,
) -> None:
    everyone_declined(delivery)
    waiting, announced = delivery.delivery("o-1"), len(bus_types(delivery))

    delivery.system.advance(DECLINE_COOL_DOWN_MS - 1)

    assert delivery.delivery("o-1") == waiting  # not rewritten: no nudge, no offer
    assert waiting["status"] == "searching"
    assert bus_types(delivery)[announced:] == []
    assert delivery.offers("dan") == delivery.offers("eve") == []


def test_a_driver_who_comes_online_is_offered_what_everyone_else_declined_at_once(
    delivery: Delivery,
) -> None:
    everyone_declined(delivery)
    delivery.system.advance(5 * MINUTE)

    delivery.driver("fay", at=FAR)

    assert delivery.delivery("o-1")["offer"] == {
        "driverId": "fay",
        "expiresAt": START + 7 * MINUTE,
    }
    assert [o["deliveryId"] for o in delivery.offers("fay")] == ["d-o-1"]


def test_drivers_who_let_every_offer_run_out_go_offline_and_the_delivery_waits(
    delivery: Delivery,
) -> None:
    # GIVEN dan and eve never answer: each is offered the delivery in turn until driver-bff
    # takes them offline (two offers in a row run out)
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    delivery.system.advance(15 * MINUTE)
    for driver in ("dan", "eve"):
        profile = delivery.call("GET", "/me", driver).get_json()
        assert (profile["online"], profile["offlineReason"]) == (False, "missed-offers")
    offered = len(delivery.bus("delivery-offered"))

    # WHEN nobody comes until Order's deadline
    delivery.system.advance(NO_DRIVER_DEADLINE - 15 * MINUTE)

    # THEN the delivery waited, offered to nobody more
    assert (delivery.delivery("o-1")["status"], delivery.delivery("o-1")["offer"]) == (
        "searching",
        None,
    )
    assert len(delivery.bus("delivery-offered")) == offered

    # AND a driver back online is offered it at once
    delivery.call("PUT", "/me/status", "dan", {"online": True})
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"


def test_orders_no_driver_cancellation_ends_the_search_quietly(delivery: Delivery) -> None:
    everyone_declined(delivery)
    delivery.system.advance(NO_DRIVER_DEADLINE)

    delivery.order(
        "o-1",
        "cancelled",
        reason="no-driver",
        deliveryAddress=None,
        changedAt=START + NO_DRIVER_DEADLINE,
    )

    assert delivery.delivery("o-1")["status"] == "cancelled"
    assert delivery.bus("delivery-cancelled") == [
        {
            "id": "d-o-1",
            "orderId": "o-1",
            "driverId": None,
            "changedAt": START + NO_DRIVER_DEADLINE,
        }
    ]
    assert delivery.statuses() == []  # Order's own status says it all
    assert delivery.faults() == []
    delivery.driver("fay")
    assert delivery.offers("fay") == []
