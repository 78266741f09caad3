"""dispatch-control: the nearest available driver is offered each order, re-offered on timeout."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.dispatch_control.drivers import FOLLOW_EVERY_MS
from delivery.dispatch_control.records import DECLINE_COOL_DOWN_MS
from shared.envelope import new_event
from shared.topology import Topic
from tests.delivery.conftest import (
    FAR,
    HOME,
    MINUTE,
    NEAR,
    START,
    Delivery,
    hold_change,
    offer_then_accept,
    order_event,
)
from tests.delivery.held import before_update

ELSEWHERE = {"lat": 52.6, "lng": 13.5}
"""About 10 km from the restaurant."""


def test_a_driver_takes_an_order_from_offer_to_door(delivery: Delivery) -> None:
    delivery.driver("dan")

    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    assert delivery.statuses() == [("assigned", "dan"), ("picked-up", "dan"), ("delivered", "dan")]
    assert delivery.delivery("o-1")["status"] == "delivered"
    driver = delivery.store.get("dispatch-drivers", "dan")
    assert driver is not None
    assert (driver["deliveryId"], driver["offeredDeliveryId"]) == (None, None)


def test_the_nearest_available_driver_gets_the_offer(delivery: Delivery) -> None:
    delivery.driver("far", at=FAR)
    delivery.driver("near", at=NEAR)
    delivery.driver("offline", at=NEAR, online=False)

    delivery.order("o-1", "accepted")

    assert delivery.delivery("o-1")["offer"] == {
        "driverId": "near",
        "expiresAt": START + 2 * MINUTE,
    }
    assert [o["deliveryId"] for o in delivery.offers("near")] == ["d-o-1"]
    assert delivery.offers("far") == []
    assert delivery.bus("delivery-offered")[0]["driverId"] == "near"


def test_an_unanswered_offer_goes_to_the_next_driver(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")

    delivery.system.advance(3 * MINUTE)

    found = delivery.delivery("o-1")
    # dan's offer expired at 2:00; after the grace for his answer, the 3:00 tick gives it on
    assert found["offer"] == {"driverId": "eve", "expiresAt": START + 5 * MINUTE}
    assert (found["declinedBy"], found["missedBy"]) == ([], ["dan"])
    assert delivery.bus("offer-withdrawn") == [
        {"id": "d-o-1", "driverId": "dan", "expiresAt": START + 2 * MINUTE}
    ]
    assert delivery.offers("dan") == []
    assert [o["deliveryId"] for o in delivery.offers("eve")] == ["d-o-1"]
    assert delivery.store.get("dispatch-drivers", "dan")["offeredDeliveryId"] is None  # type: ignore[index]


def test_the_driver_who_missed_an_offer_is_not_offered_it_again_before_its_withdrawal_runs(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the withdrawal's change reaches the rules trigger after the sweep's nudge for eve
    # (Eventarc does not order them): dan is still reserved for the offer he missed
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")
    deliver_late = hold_change(delivery, monkeypatch, "rules", "offered", "searching")

    delivery.system.advance(3 * MINUTE)
    deliver_late()

    # THEN the free driver gets it, and dan is free again
    found = delivery.delivery("o-1")
    assert found["offer"]["driverId"] == "eve"
    assert [o["deliveryId"] for o in delivery.offers("eve")] == ["d-o-1"]
    assert delivery.offers("dan") == []
    assert delivery.store.get("dispatch-drivers", "dan")["offeredDeliveryId"] is None  # type: ignore[index]


def test_a_delivery_heard_of_before_its_pickup_is_delivered_and_the_pickup_announced(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the driver's pickup report reaches dispatch after the delivery report (the driver
    # app announces both from an unordered trigger)
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    deliver_late = hold_change(delivery, monkeypatch, "deliveries-trigger", "assigned", "picked-up")

    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    deliver_late()

    assert delivery.delivery("o-1")["status"] == "delivered"
    assert delivery.statuses() == [("assigned", "dan"), ("picked-up", "dan"), ("delivered", "dan")]
    assert delivery.faults() == []


def test_the_only_driver_who_missed_an_offer_is_offered_it_again_once_it_ran_out(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")

    # (a second miss in a row would take dan offline: tests/delivery/test_missed_offers.py)
    delivery.system.advance(4 * MINUTE)

    # the offer runs out at +2:00 and is taken back at the next tick after the grace, +3:00
    expiries = [o["expiresAt"] for o in delivery.bus("delivery-offered")]
    assert expiries == [START + m * MINUTE for m in (2, 5)]
    assert {o["driverId"] for o in delivery.bus("delivery-offered")} == {"dan"}
    found = delivery.delivery("o-1")
    assert (found["declinedBy"], found["missedBy"]) == ([], ["dan"])
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 200
    assert delivery.statuses() == [("assigned", "dan")]


def test_drivers_who_missed_an_offer_take_turns_the_longest_ago_first(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")

    delivery.system.advance(9 * MINUTE)

    assert [o["driverId"] for o in delivery.bus("delivery-offered")] == [
        "dan",  # the nearest
        "eve",  # never offered it, so before dan, though further away
        "dan",  # missed it before eve did
        "eve",
    ]
    assert delivery.delivery("o-1")["missedBy"] == ["eve", "dan"]


def test_a_driver_who_goes_offline_lets_their_offer_go_to_the_next_driver(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")

    delivery.call("PUT", "/me/status", "dan", {"online": False})

    found = delivery.delivery("o-1")
    # made in the millisecond of dan's offer, and expiring just after it: its id is its own
    assert found["offer"] == {"driverId": "eve", "expiresAt": START + 2 * MINUTE + 1}
    assert (found["declinedBy"], found["missedBy"]) == ([], ["dan"])
    assert delivery.bus("offer-withdrawn") == [
        {"id": "d-o-1", "driverId": "dan", "expiresAt": START + 2 * MINUTE}
    ]
    assert delivery.offers("dan") == []
    assert delivery.store.get("dispatch-drivers", "dan")["offeredDeliveryId"] is None  # type: ignore[index]


def test_a_driver_back_online_is_offered_the_delivery_they_let_go(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.call("PUT", "/me/status", "dan", {"online": False})
    assert delivery.delivery("o-1")["status"] == "searching"

    delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


def test_the_sweep_offers_a_delivery_the_nudges_went_past(delivery: Delivery) -> None:
    # GIVEN dan and eve busy, and o-3 then o-4 waiting for a driver
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    delivery.order("o-2", "accepted")
    delivery.answer("d-o-2", "accept", "eve")
    delivery.order("o-3", "accepted")
    delivery.order("o-4", "accepted")

    # WHEN both their orders are cancelled together, so both freed drivers nudge o-3
    now = delivery.clock.now_ms()
    cancelled = [
        order_event(order_id, "cancelled", now, reason="customer", deliveryAddress=None)
        for order_id in ("o-1", "o-2")
    ]
    delivery.send("order", *cancelled)
    assert delivery.delivery("o-3")["offer"]["driverId"] == "dan"
    assert delivery.delivery("o-4")["status"] == "searching"  # though eve is free
    assert delivery.offers("eve") == []

    # THEN the next tick's sweep offers o-4 to eve, long before dan's offer could expire
    delivery.system.advance(MINUTE)

    assert delivery.delivery("o-4")["offer"] == {
        "driverId": "eve",
        "expiresAt": START + 3 * MINUTE,  # offered at the 1:00 tick, for two minutes
    }
    assert [o["deliveryId"] for o in delivery.offers("eve")] == ["d-o-4"]
    assert delivery.delivery("o-3")["offer"]["driverId"] == "dan"


def test_a_declined_offer_goes_to_the_next_driver(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    delivery.order("o-1", "accepted")

    delivery.answer("d-o-1", "decline", "dan")

    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    assert delivery.statuses() == [("assigned", "eve")]


def test_when_everyone_declined_the_delivery_keeps_searching(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")

    delivery.answer("d-o-1", "decline", "dan")
    delivery.system.advance(5 * MINUTE)

    found = delivery.delivery("o-1")
    assert (found["status"], found["offer"], found["declinedBy"]) == ("searching", None, ["dan"])
    assert len(delivery.bus("delivery-offered")) == 1


def test_with_nobody_online_the_delivery_waits_for_the_first_driver(delivery: Delivery) -> None:
    delivery.driver("dan", online=False)
    delivery.order("o-1", "accepted")
    assert delivery.delivery("o-1")["status"] == "searching"

    delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"


def test_a_driver_without_a_position_goes_online_and_is_offered_once_they_report_one(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=None, online=False)
    delivery.order("o-1", "accepted")

    refused = delivery.call("PUT", "/me/status", "dan", {"online": True})
    delivery.call("PUT", "/me/location", "dan", NEAR)
    assert delivery.delivery("o-1")["status"] == "searching"
    delivery.call("PUT", "/me/status", "dan", {"online": True})

    assert refused.status_code == 409
    assert delivery.delivery("o-1")["offer"]["driverId"] == "dan"


def test_a_driver_is_offered_one_delivery_at_a_time(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.order("o-2", "accepted")
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]
    assert delivery.delivery("o-2")["status"] == "searching"

    delivery.answer("d-o-1", "accept", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    assert delivery.delivery("o-2")["status"] == "searching"
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")

    assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"


def test_a_driver_who_declined_one_delivery_is_offered_the_waiting_one(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    delivery.order("o-2", "accepted")

    delivery.answer("d-o-1", "decline", "dan")

    assert delivery.delivery("o-1")["status"] == "searching"
    assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"


def test_a_cancelled_order_withdraws_the_offer(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")

    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    assert delivery.delivery("o-1")["status"] == "cancelled"
    assert delivery.bus("offer-withdrawn") == [
        {"id": "d-o-1", "driverId": "dan", "expiresAt": START + 2 * MINUTE}
    ]
    assert delivery.bus("delivery-cancelled") == [
        {"id": "d-o-1", "orderId": "o-1", "driverId": None, "changedAt": START}
    ]
    assert delivery.offers("dan") == []
    assert delivery.answer("d-o-1", "accept", "dan").status_code == 409
    assert delivery.store.get("dispatch-drivers", "dan")["offeredDeliveryId"] is None  # type: ignore[index]


def test_a_cancelled_order_frees_its_driver_for_the_next(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.order("o-2", "accepted")

    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    assert delivery.bus("delivery-cancelled") == [
        {"id": "d-o-1", "orderId": "o-1", "driverId": "dan", "changedAt": START}
    ]
    assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"


def test_a_finished_delivery_keeps_only_the_area_of_the_address(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "dan")
    offer_then_accept(delivery, "o-2", "dan")
    delivery.order("o-3", "accepted")

    delivery.order("o-2", "cancelled", reason="driver-no-show", deliveryAddress=None)

    area = {"city": HOME["city"], "postcode": HOME["postcode"]}
    assert delivery.delivery("o-1")["dropoff"] == delivery.delivery("o-2")["dropoff"] == area
    assert delivery.delivery("o-3")["dropoff"] == HOME  # offered to dan now, still needed


def test_an_order_cancelled_after_pickup_is_raised_as_a_fault(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")

    delivery.order("o-1", "cancelled", reason="no-driver", deliveryAddress=None)

    assert delivery.delivery("o-1")["status"] == "picked-up"  # the food is on its way
    [fault] = delivery.faults()
    assert "cancelled (no-driver) after its delivery was picked up" in fault["error"]["message"]
    assert delivery.bus("delivery-cancelled") == []


def test_an_acceptance_arriving_after_the_cancellation_sends_no_driver(
    delivery: Delivery,
) -> None:
    # Order's announcements may go out of order: a failed one is retried after the next
    delivery.driver("dan")
    delivery.order("o-1", "cancelled", reason="rejected", changedAt=START + MINUTE)
    delivery.order("o-1", "accepted")  # changed at START, a minute before the cancellation

    assert delivery.store.get("deliveries", "d-o-1") is None
    assert delivery.offers("dan") == []
    assert delivery.bus("delivery-offered") == []


def test_a_driver_reserved_by_an_offer_that_died_half_way_is_freed(
    delivery: Delivery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the offer's second write (the delivery) dies after dan was reserved (the first)
    delivery.driver("dan")

    def die() -> None:
        raise ConnectionError("the instance died between the two writes")

    crashed = before_update(delivery, monkeypatch, "deliveries", "_offer.", die)
    # ... and the order is cancelled before that change's trigger runs again
    delivery.send(
        "order",
        order_event("o-1", "accepted", START, reason="customer", changedAt=START),
        order_event("o-1", "cancelled", START, reason="customer", changedAt=START + 1),
    )
    assert crashed == ["d-o-1"]
    assert delivery.delivery("o-1")["status"] == "cancelled"

    # THEN dan is free for the next order
    dan = delivery.store.get("dispatch-drivers", "dan")
    assert dan is not None and dan["offeredDeliveryId"] is None
    delivery.order("o-2", "accepted")
    assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"


def test_an_order_not_yet_accepted_needs_no_driver(delivery: Delivery) -> None:
    delivery.driver("dan")

    delivery.order("o-1", "placed")

    assert delivery.store.get("deliveries", "d-o-1") is None
    assert delivery.offers("dan") == []


def published_locations(delivery: Delivery) -> list[tuple[str, Any]]:
    return [
        (e.body["status"], e.body["location"])
        for e in delivery.events[Topic.EXTERNAL]
        if e.type == "delivery.delivery-status-changed"
    ]


def test_the_location_follows_the_driver_once_the_order_is_picked_up(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.531, "lng": 13.403})  # still assigned
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    delivery.clock.advance(FOLLOW_EVERY_MS)

    delivery.call("PUT", "/me/location", "dan", {"lat": 52.535, "lng": 13.406})

    assert published_locations(delivery) == [
        ("assigned", None),  # where dan was when he accepted is not the customer's business
        ("picked-up", {"lat": 52.531, "lng": 13.403}),
        ("picked-up", {"lat": 52.535, "lng": 13.406}),
    ]


def test_the_customer_is_told_a_move_at_most_every_few_seconds_and_not_the_jitter(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.531, "lng": 13.403})
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "dan")
    for step in range(1, 10):  # an app reporting every second, 30 m at a time
        delivery.clock.advance(1_000)
        delivery.call("PUT", "/me/location", "dan", {"lat": 52.531 + step * 0.0003, "lng": 13.403})
    delivery.clock.advance(1_000)
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.5337, "lng": 13.403})  # 10 s on
    delivery.clock.advance(FOLLOW_EVERY_MS)
    delivery.call("PUT", "/me/location", "dan", {"lat": 52.53371, "lng": 13.403})  # 1 m on

    assert published_locations(delivery)[1:] == [
        ("picked-up", {"lat": 52.531, "lng": 13.403}),
        ("picked-up", {"lat": 52.5337, "lng": 13.403}),
    ]
    assert delivery.store.get("dispatch-drivers", "dan")["location"] == {
        "lat": 52.53371,
        "lng": 13.403,
    }  # dispatch itself always knows where the driver is


def test_an_accepted_order_without_an_address_becomes_a_fault(delivery: Delivery) -> None:
    delivery.order("o-1", "accepted", deliveryAddress=None)

    [fault] = delivery.faults()
    assert fault["function"] == "delivery/dispatch-control/collector"
    assert fault["error"]["type"] == "BusinessRuleViolation"
    assert delivery.store.get("deliveries", "d-o-1") is None


def test_redelivering_every_event_changes_nothing(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=ELSEWHERE)
    delivery.order("o-1", "accepted")
    delivery.answer("d-o-1", "decline", "dan")
    delivery.answer("d-o-1", "accept", "eve")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "eve")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "eve")
    state = {c: delivery.store.query(c) for c in ("deliveries", "driver-deliveries")}
    published = {e.id for e in delivery.events[Topic.EXTERNAL]}
    pushes, drivers = dict(delivery.push.messages), delivery.store.query("dispatch-drivers")

    for event in list(delivery.events[Topic.BUS]):
        delivery.inject(event)

    assert {c: delivery.store.query(c) for c in state} == state
    assert {e.id for e in delivery.events[Topic.EXTERNAL]} == published
    assert delivery.push.messages == pushes
    assert [
        (d.key, d.data["deliveryId"], d.data["offeredDeliveryId"])
        for d in delivery.store.query("dispatch-drivers")
    ] == [(d.key, None, None) for d in drivers]
    assert delivery.statuses().count(("delivered", "eve")) == 2  # republished, with the same id


def test_an_offer_accepted_too_late_does_not_assign(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted")
    [offered] = [e for e in delivery.events[Topic.BUS] if e.type == "delivery-offered"]
    late = offered.body["expiresAt"]

    delivery.inject(
        new_event(
            "offer-accepted",
            "offer",
            {"deliveryId": "d-o-1", "driverId": "dan", "answeredAt": late},
            partition_key="o-1",
        )
    )

    assert delivery.delivery("o-1")["status"] == "offered"
    assert delivery.statuses() == []


def release(delivery: Delivery, order_id: str, driver: str) -> None:
    """The driver hands the order's delivery back in the app."""
    path = f"/deliveries/d-{order_id}/release"
    assert delivery.call("POST", path, driver, {"reason": "flat tyre"}).status_code == 200


def test_a_delivery_handed_back_goes_to_the_next_driver_never_back_to_the_first(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    delivery.clock.advance(MINUTE)

    release(delivery, "o-1", "dan")

    found = delivery.delivery("o-1")
    assert found["offer"] == {"driverId": "eve", "expiresAt": START + 3 * MINUTE}
    assert (found["driver"], found["location"], found["declinedBy"]) == (None, None, ["dan"])
    assert delivery.statuses() == [("assigned", "dan"), ("released", "dan")]
    [released] = [e.body for e in delivery.events[Topic.EXTERNAL] if e.body["status"] == "released"]
    [*_, (version, step)] = delivery.revisions("delivery-status-changed")
    assert released == {
        "id": "d-o-1",
        "orderId": "o-1",
        "status": "released",
        "driver": {"id": "dan", "name": "Dan"},
        "location": None,
        "changedAt": START + MINUTE,
        "revision": f"{version}/{step:03d}/00",
    }
    delivery.answer("d-o-1", "decline", "eve")
    delivery.system.advance(DECLINE_COOL_DOWN_MS)  # eve, who declined it, may have it again
    assert delivery.delivery("o-1")["offer"]["driverId"] == "eve"
    assert [o["driverId"] for o in delivery.bus("delivery-offered")] == ["dan", "eve", "eve"]
    assert delivery.offers("dan") == []


def test_the_driver_who_handed_a_delivery_back_is_free_for_the_next(delivery: Delivery) -> None:
    delivery.driver("dan")
    offer_then_accept(delivery, "o-1", "dan")
    delivery.order("o-2", "accepted")
    assert delivery.delivery("o-2")["status"] == "searching"

    release(delivery, "o-1", "dan")

    driver = delivery.store.get("dispatch-drivers", "dan")
    assert driver is not None
    assert (driver["deliveryId"], driver["offeredDeliveryId"]) == (None, "d-o-2")
    assert delivery.delivery("o-2")["offer"]["driverId"] == "dan"
    assert delivery.delivery("o-1")["status"] == "searching"
    assert delivery.answer("d-o-2", "accept", "dan").status_code == 200


def test_the_next_driver_takes_a_delivery_handed_back_to_the_door(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    release(delivery, "o-1", "dan")

    delivery.answer("d-o-1", "accept", "eve")
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "eve")
    delivery.call("POST", "/deliveries/d-o-1/delivered", "eve")

    assert delivery.statuses() == [
        ("assigned", "dan"),
        ("released", "dan"),
        ("assigned", "eve"),
        ("picked-up", "eve"),
        ("delivered", "eve"),
    ]
    eve = delivery.store.get("dispatch-drivers", "eve")
    assert eve is not None and eve["deliveryId"] is None


def test_a_hand_back_and_the_next_assignment_of_one_millisecond_are_stamped_in_their_course(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")

    release(delivery, "o-1", "dan")  # all in one millisecond: the clock stands still
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200
    eves = delivery.call("GET", "/deliveries/d-o-1", "eve").get_json()
    delivery.call("POST", "/deliveries/d-o-1/picked-up", "eve")

    published = [
        (e.body["status"], e.body["driver"]["id"], e.body["changedAt"])
        for e in delivery.events[Topic.EXTERNAL]
    ]
    # A consumer keeping the latest by changedAt must not take dan's hand-back, heard late,
    # for news after eve's assignment, nor eve's pickup for news before it.
    assert published == [
        ("assigned", "dan", START),
        ("released", "dan", START + 1),
        ("assigned", "eve", START + 2),
        ("picked-up", "eve", START + 2),
    ]
    assert eves["assignedAt"] == START + 2


def test_a_cancellation_in_the_millisecond_of_a_reassignment_is_stamped_no_earlier(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    release(delivery, "o-1", "dan")
    assert delivery.answer("d-o-1", "accept", "eve").status_code == 200

    delivery.order("o-1", "cancelled", reason="rejected")

    last = delivery.events[Topic.EXTERNAL][-1].body
    assert (last["status"], last["driver"]["id"], last["changedAt"]) == (
        "cancelled",
        "eve",
        START + 2,
    )


def test_a_release_by_a_driver_who_no_longer_has_the_delivery_changes_nothing(
    delivery: Delivery,
) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    stray = new_event(
        "driver-released",
        "delivery",
        {"deliveryId": "d-o-1", "orderId": "o-1", "driverId": "eve", "reason": None},
        partition_key="o-1",
    )

    delivery.inject(stray)

    found = delivery.delivery("o-1")
    assert (found["status"], found["driver"]["id"], found["declinedBy"]) == ("assigned", "dan", [])
    assert delivery.statuses() == [("assigned", "dan")]


def test_redelivering_every_event_of_a_hand_back_changes_nothing(delivery: Delivery) -> None:
    delivery.driver("dan", at=NEAR)
    delivery.driver("eve", at=FAR)
    offer_then_accept(delivery, "o-1", "dan")
    release(delivery, "o-1", "dan")
    delivery.answer("d-o-1", "accept", "eve")
    state = {c: delivery.store.query(c) for c in ("deliveries", "driver-deliveries")}
    drivers = delivery.store.query("dispatch-drivers")
    published = {e.id for e in delivery.events[Topic.EXTERNAL]}
    pushes = dict(delivery.push.messages)

    for event in list(delivery.events[Topic.BUS]):
        delivery.inject(event)

    assert {c: delivery.store.query(c) for c in state} == state
    assert delivery.store.query("dispatch-drivers") == drivers
    assert {e.id for e in delivery.events[Topic.EXTERNAL]} == published
    assert delivery.push.messages == pushes
    assert delivery.delivery("o-1")["driver"]["id"] == "eve"


def test_a_delivery_whose_food_is_far_from_ready_waits_before_searching(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE)
    assert (delivery.delivery("o-1")["status"], delivery.offers("dan")) == ("scheduled", [])
    delivery.system.advance(99 * MINUTE)
    assert delivery.offers("dan") == []
    delivery.system.advance(2 * MINUTE)  # 20 minutes before the food is ready
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


def test_food_ready_before_it_was_said_starts_the_search_at_once(delivery: Delivery) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE)
    delivery.order("o-1", "ready", readyBy=START + MINUTE)
    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


def test_food_said_to_be_ready_sooner_moves_the_scheduled_search_earlier(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE)

    delivery.order("o-1", "accepted", readyBy=START + 30 * MINUTE, changedAt=START + 1)
    delivery.system.advance(9 * MINUTE)
    assert delivery.offers("dan") == []
    delivery.system.advance(2 * MINUTE)  # 20 minutes before the food is ready now

    assert [o["deliveryId"] for o in delivery.offers("dan")] == ["d-o-1"]


def test_food_said_to_be_ready_later_moves_the_scheduled_search_later(
    delivery: Delivery,
) -> None:
    delivery.driver("dan")
    delivery.order("o-1", "accepted", readyBy=START + 30 * MINUTE)

    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE, changedAt=START + 1)
    delivery.system.advance(11 * MINUTE)

    assert (delivery.delivery("o-1")["status"], delivery.offers("dan")) == ("scheduled", [])
    assert delivery.delivery("o-1")["searchFrom"] == START + 100 * MINUTE
    # an update heard late, older than the one that moved it, moves it back no more
    delivery.order("o-1", "accepted", readyBy=START + 30 * MINUTE)
    assert delivery.delivery("o-1")["searchFrom"] == START + 100 * MINUTE


def test_a_scheduled_delivery_can_be_cancelled(delivery: Delivery) -> None:
    delivery.order("o-1", "accepted", readyBy=START + 120 * MINUTE)
    delivery.order("o-1", "cancelled", reason="customer")
    assert delivery.delivery("o-1")["status"] == "cancelled"
    delivery.system.advance(110 * MINUTE)
    assert delivery.delivery("o-1")["status"] == "cancelled"
