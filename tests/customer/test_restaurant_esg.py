"""restaurant-esg: Restaurant's catalog events come in as the customer's own events."""

from __future__ import annotations

from restaurant.contracts import MenuUpdated, RestaurantUpdated
from shared.envelope import new_event
from tests.customer.conftest import ADDRESS, DISHES, Customer


def test_a_restaurant_update_comes_in_without_what_customers_do_not_need(
    customer: Customer,
) -> None:
    customer.restaurant("r-1", name="Sushi Bar", cuisine="japanese", open=False, ordering="pos")

    [event] = customer.events("restaurant-updated")
    assert event.partition_key == "r-1"
    assert event.entity == "restaurant"
    assert event.body == {
        "id": "r-1",
        "name": "Sushi Bar",
        "cuisine": "japanese",
        "address": ADDRESS,
        "open": False,
        "deliveryRadiusM": 5000,
        "revision": None,
    }


def test_a_menu_update_comes_in_whole(customer: Customer) -> None:
    customer.menu("r-1", DISHES[:2])

    [event] = customer.events("menu-updated")
    assert event.partition_key == "r-1"
    assert event.body == {"restaurantId": "r-1", "items": DISHES[:2], "revision": None}


def test_an_update_comes_in_with_its_revision_and_its_cuisine_as_a_tag(
    customer: Customer,
) -> None:
    customer.restaurant("r-1", cuisine=" Japanese ", revision=7)
    menu = {"restaurantId": "r-1", "items": DISHES[:1], "revision": 4}
    customer.receive("restaurant", MenuUpdated.model_validate(menu), "r-1")

    [restaurant] = customer.events("restaurant-updated")
    [menu] = customer.events("menu-updated")
    assert (restaurant.body["cuisine"], restaurant.body["revision"]) == ("japanese", 7)
    assert menu.body["revision"] == 4


def test_a_redelivered_update_is_emitted_with_the_same_id(customer: Customer) -> None:
    update = customer.restaurant("r-1")
    customer.inject("restaurant", update)

    first, again = customer.events("restaurant-updated")
    assert first.id == again.id


def test_an_update_that_breaks_the_contract_becomes_a_fault(customer: Customer) -> None:
    broken = new_event(
        RestaurantUpdated.TYPE,
        "restaurant",
        {"id": "r-1", "cuisine": "italian", "address": ADDRESS, "open": "sometimes"},
        partition_key="r-1",
        tags={"subsystem": "restaurant", "schemaVersion": "1"},
    )
    customer.inject("restaurant", broken)

    assert customer.events("restaurant-updated") == []
    [fault] = customer.faults()
    assert fault["function"] == "customer/restaurant-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert "name" in fault["error"]["message"] and "open" in fault["error"]["message"]
