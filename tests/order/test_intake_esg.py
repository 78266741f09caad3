"""intake-esg: the sister subsystems' events become Order's internal events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from order.lifecycle_control.event_store import EVENTS
from shared.clock import LATEST_MS
from tests.order.conftest import OrderSystem


def test_a_placed_order_becomes_order_placed_keyed_by_the_order(order_system: OrderSystem) -> None:
    placed = order_system.order_placed()
    order_system.send("customer", placed)

    [event] = order_system.internal("order-placed")
    assert (event.entity, event.partition_key) == ("order", "o-1")
    assert event.body == {
        "id": "o-1",
        "customerRef": "cref-o-1",
        "restaurant": placed.body["restaurant"],
        "items": placed.body["items"],
        "total": 2550,
        "currency": "EUR",
        "deliveryAddress": placed.body["deliveryAddress"],
        "placedAt": placed.body["placedAt"],
        "notifyCustomer": True,  # an older Customer does not say: notified, as before
    }
    assert order_system.statuses() == ["placed"]


def test_fields_the_order_does_not_need_are_left_behind(order_system: OrderSystem) -> None:
    placed = order_system.order_placed()
    placed = replace(placed, body={**placed.body, "loyaltyTier": "gold"})
    order_system.send("customer", placed)
    [event] = order_system.internal("order-placed")
    assert "loyaltyTier" not in event.body
    assert order_system.faults() == []


def test_an_order_that_breaks_the_contract_becomes_a_fault_and_nothing_else(
    order_system: OrderSystem,
) -> None:
    placed = order_system.order_placed()
    broken = replace(placed, body={**placed.body, "currency": "euro", "items": []})
    order_system.send("customer", broken)

    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-customer"
    assert fault["error"]["type"] == "InvalidEventError"
    assert "currency" in fault["error"]["message"] and "items" in fault["error"]["message"]
    assert order_system.internal("order-placed") == []
    assert order_system.store.get("orders", "o-1") is None


def test_restaurant_answers_become_the_restaurants_internal_answers(
    order_system: OrderSystem,
) -> None:
    order_system.send(
        "restaurant",
        order_system.answer("accepted", prepMinutes=15),
        order_system.answer("rejected", order_id="o-2", reason="out of basil"),
        order_system.answer("ready", readyAt=1234),
    )
    [accepted] = order_system.internal("restaurant-accepted")
    [rejected] = order_system.internal("restaurant-rejected")
    [ready] = order_system.internal("restaurant-ready")
    assert accepted.body == {"id": "o-1", "restaurantId": "r-1", "prepMinutes": 15}
    assert rejected.body == {"id": "o-2", "restaurantId": "r-1", "reason": "out of basil"}
    assert ready.body == {"id": "o-1", "restaurantId": "r-1", "readyAt": 1234}
    assert {(e.entity, e.partition_key) for e in (accepted, ready)} == {("order", "o-1")}


def test_a_restaurant_profile_becomes_restaurant_updated_keyed_by_the_restaurant(
    order_system: OrderSystem,
) -> None:
    order_system.send("restaurant", order_system.restaurant_updated("r-7", ordering="pos"))
    [event] = order_system.internal("restaurant-updated")
    assert (event.entity, event.partition_key) == ("restaurant", "r-7")
    assert event.body == {"id": "r-7", "name": "Trattoria", "ordering": "pos", "revision": None}


def test_a_restaurant_profile_comes_in_with_the_revision_of_its_save(
    order_system: OrderSystem,
) -> None:
    order_system.send("restaurant", order_system.restaurant_updated("r-7", revision=4))
    [event] = order_system.internal("restaurant-updated")
    assert event.body["revision"] == 4


def test_delivery_statuses_map_to_one_internal_type_each(order_system: OrderSystem) -> None:
    order_system.send(
        "delivery",
        order_system.delivery("assigned"),
        order_system.delivery("picked-up"),
        order_system.delivery("delivered"),
    )
    expected = {"id": "o-1", "deliveryId": "d-o-1", "driverId": "dan", "revision": None}
    for type in ("driver-assigned", "order-picked-up", "order-delivered"):
        [event] = order_system.internal(type)
        assert (event.body, event.entity, event.partition_key) == (expected, "order", "o-1")


def test_location_updates_repeat_the_status_and_the_order_moves_once(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=10))
    order_system.send(
        "delivery",
        order_system.delivery("assigned"),
        order_system.delivery("picked-up", lat=52.51),
    )
    recorded = len(order_system.store.query(EVENTS))

    order_system.send(
        "delivery",
        order_system.delivery("picked-up", lat=52.52),
        order_system.delivery("picked-up", lat=52.53),
    )

    # each repeat is the pickup's one internal event again, which the lifecycle has: the
    # order's history does not grow (nor is it folded again) with every location
    assert len({e.id for e in order_system.internal("order-picked-up")}) == 1
    assert len(order_system.store.query(EVENTS)) == recorded
    assert order_system.statuses() == ["placed", "accepted", "picked-up"]
    assert order_system.faults() == []


def test_a_delivery_status_outside_the_contract_becomes_a_fault(order_system: OrderSystem) -> None:
    event = order_system.delivery("assigned")
    order_system.send("delivery", replace(event, body={**event.body, "status": 7}))
    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-delivery"
    assert "status" in fault["error"]["message"]
    assert order_system.events["bus"] == []


def test_a_delivery_status_added_since_is_skipped_not_a_fault(order_system: OrderSystem) -> None:
    event = order_system.delivery("assigned")
    order_system.send("delivery", replace(event, body={**event.body, "status": "arriving"}))
    assert order_system.faults() == []
    assert order_system.events["bus"] == []


def test_a_driver_handing_the_order_back_becomes_driver_released(
    order_system: OrderSystem,
) -> None:
    released = order_system.delivery("released")
    order_system.send("delivery", replace(released, body={**released.body, "location": None}))

    [event] = order_system.internal("driver-released")
    assert (event.body, event.entity, event.partition_key) == (
        {"id": "o-1", "deliveryId": "d-o-1", "driverId": "dan", "revision": None},
        "order",
        "o-1",
    )
    assert order_system.faults() == []


def test_a_delivery_status_passes_its_revision_on(order_system: OrderSystem) -> None:
    assigned = order_system.delivery("assigned")
    revision = "2026-05-04T12:00:00.000000Z/002/01"
    order_system.send("delivery", replace(assigned, body={**assigned.body, "revision": revision}))

    [event] = order_system.internal("driver-assigned")
    assert event.body == {
        "id": "o-1",
        "deliveryId": "d-o-1",
        "driverId": "dan",
        "revision": revision,
    }


def test_a_release_is_read_beside_statuses_still_unknown(order_system: OrderSystem) -> None:
    order_system.send(
        "delivery", order_system.delivery("released"), order_system.delivery("rerouted")
    )

    assert [e.type for e in order_system.events["bus"]] == ["driver-released"]
    assert order_system.faults() == []


def test_a_cancelled_delivery_is_left_aside_quietly(
    order_system: OrderSystem, caplog: pytest.LogCaptureFixture
) -> None:
    cancelled = order_system.delivery("cancelled")
    order_system.send("delivery", replace(cancelled, body={**cancelled.body, "location": None}))

    assert order_system.events["bus"] == []
    assert order_system.faults() == []
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("field", "broken"),
    [
        ("customerRef", lambda body: {**body, "customerRef": ""}),
        ("restaurant.id", lambda body: {**body, "restaurant": {**body["restaurant"], "id": ""}}),
        (
            "items.0.menuItemId",
            lambda body: {**body, "items": [{**body["items"][0], "menuItemId": ""}]},
        ),
    ],
)
def test_an_order_whose_status_could_never_be_published_is_a_fault_at_intake(
    order_system: OrderSystem, field: str, broken: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    # GIVEN an order with an empty id where Order's own status contract needs one (Customer's
    # contract refuses it too)
    placed = order_system.order_placed()
    # WHEN it comes in
    order_system.send("customer", replace(placed, body=broken(placed.body)))
    # THEN intake refuses it, naming the field, and Order does not run an order whose every
    # status would be refused at the egress (its cancellation too: nobody would void the
    # payment)
    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-customer"
    assert fault["error"]["type"] == "InvalidEventError"
    assert field in fault["error"]["message"]
    assert order_system.store.get("orders", "o-1") is None


@pytest.mark.parametrize("prep_minutes", [241, 2 * 10**14], ids=["241", "beyond 64 bits"])
def test_an_acceptance_beyond_the_contracts_preparation_time_is_a_fault_at_intake(
    order_system: OrderSystem, prep_minutes: int
) -> None:
    # GIVEN a placed order, and an acceptance with a preparation time Restaurant's contract
    # refuses (at most 240 minutes): the order would wait for a driver for ages, or, beyond
    # 64 bits once in milliseconds, the fold would fail on it for every later event
    order_system.send("customer", order_system.order_placed())
    # WHEN it comes in
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=prep_minutes))
    # THEN intake refuses it
    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-restaurant"
    assert "prepMinutes" in fault["error"]["message"]
    assert order_system.order()["status"] == "placed"
    # AND the kitchen's acceptance within the contract still takes the order
    order_system.advance(1)
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=240))
    order = order_system.order()
    assert (order["status"], order["readyBy"]) == ("accepted", order["acceptedAt"] + 240 * 60_000)
    assert len(order_system.faults()) == 1


@pytest.mark.parametrize(
    ("field", "broken"),
    [
        (
            "deliveryAddress.lat",
            lambda body: {**body, "deliveryAddress": {**body["deliveryAddress"], "lat": 91.0}},
        ),
        (
            "restaurant.address.lng",
            lambda body: {
                **body,
                "restaurant": {
                    **body["restaurant"],
                    "address": {**body["restaurant"]["address"], "lng": -1000.0},
                },
            },
        ),
    ],
)
def test_an_address_off_the_globe_is_a_fault_at_intake(
    order_system: OrderSystem, field: str, broken: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    # GIVEN an order whose address breaks Customer's contract (latitude within 90 degrees,
    # longitude within 180)
    placed = order_system.order_placed()
    # WHEN it comes in
    order_system.send("customer", replace(placed, body=broken(placed.body)))
    # THEN intake refuses it, naming the field, instead of sending Delivery to look for
    # drivers near a point that does not exist
    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-customer"
    assert field in fault["error"]["message"]
    assert order_system.store.get("orders", "o-1") is None
    assert order_system.published() == []


@pytest.mark.parametrize("reason", ["", "x" * 501], ids=["empty", "501 characters"])
def test_a_rejection_whose_reason_breaks_the_contract_is_a_fault_at_intake(
    order_system: OrderSystem, reason: str
) -> None:
    # GIVEN a placed order, and a rejection whose words Restaurant's contract refuses (1 to
    # 500 characters): Order would pass them on to the customer as the order's detail
    order_system.send("customer", order_system.order_placed())
    # WHEN it comes in
    order_system.send("restaurant", order_system.answer("rejected", reason=reason))
    # THEN intake refuses it, naming the field, and the order waits for a valid answer
    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-restaurant"
    assert "reason" in fault["error"]["message"]
    assert order_system.order()["status"] == "placed"
    # AND a rejection within the contract still cancels it with the restaurant's words
    order_system.send("restaurant", order_system.answer("rejected", reason="x" * 500))
    order = order_system.order()
    assert (order["status"], order["detail"]) == ("cancelled", "x" * 500)


@pytest.mark.parametrize("quantity", [51, 2**63], ids=["51", "beyond 64 bits"])
def test_a_line_beyond_the_contracts_quantity_is_a_fault_at_intake(
    order_system: OrderSystem, quantity: int
) -> None:
    # GIVEN an order with more of a dish than Customer's contract allows (at most 50): beyond
    # 64 bits the collector could not record it
    placed = order_system.order_placed()
    broken = {**placed.body, "items": [{**placed.body["items"][0], "quantity": quantity}]}
    # WHEN it comes in
    order_system.send("customer", replace(placed, body=broken))
    # THEN intake refuses it, naming the field, not the collector failing on it
    [fault] = order_system.faults()
    assert fault["function"] == "order/intake-esg/from-customer"
    assert "items.0.quantity" in fault["error"]["message"]
    assert order_system.store.get("orders", "o-1") is None


def test_a_placement_stamped_past_the_latest_time_comes_in_as_the_latest(
    order_system: OrderSystem,
) -> None:
    # Customer's contract bounds placedAt by nothing above: past 64 bits the collector could
    # not record the order, which was never run
    placed = order_system.order_placed()
    order_system.send("customer", replace(placed, body={**placed.body, "placedAt": 2**63}))

    assert order_system.faults() == []
    [event] = order_system.internal("order-placed")
    assert event.body["placedAt"] == LATEST_MS
    assert order_system.statuses() == ["placed"]


def test_readiness_stamped_past_the_latest_time_comes_in_as_the_latest(
    order_system: OrderSystem,
) -> None:
    order_system.send("customer", order_system.order_placed())
    order_system.send("restaurant", order_system.answer("accepted", prepMinutes=10))
    order_system.send("restaurant", order_system.answer("ready", readyAt=2**63))

    assert order_system.faults() == []
    [event] = order_system.internal("restaurant-ready")
    assert event.body["readyAt"] == LATEST_MS
    assert order_system.order()["status"] == "ready"
