"""restaurant-esg: Restaurant's catalog events come in as the customer's own events."""

from __future__ import annotations

from typing import Any

import pytest

from customer.contracts import OrderPlaced
from customer.restaurant_esg.ingress import MOST_KEPT
from restaurant.contracts import MenuUpdated, RestaurantUpdated
from shared.envelope import new_event
from shared.topology import Topic
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
    customer.send("restaurant", update)

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
    customer.send("restaurant", broken)

    assert customer.events("restaurant-updated") == []
    [fault] = customer.faults()
    assert fault["function"] == "customer/restaurant-esg/ingress"
    assert fault["error"]["type"] == "InvalidEventError"
    assert "name" in fault["error"]["message"] and "open" in fault["error"]["message"]


PROFILE: dict[str, Any] = {
    "id": "r-1",
    "name": "Trattoria Roma",
    "cuisine": "italian",
    "address": ADDRESS,
    "open": True,
    "ordering": "kitchen",
}


@pytest.mark.parametrize(
    ("event_type", "body", "named"),
    [
        (MenuUpdated.TYPE, {"items": [DISHES[0], {**DISHES[1], "price": -100}]}, "price"),
        (MenuUpdated.TYPE, {"items": [DISHES[0], {**DISHES[1], "currency": "eur"}]}, "currency"),
        (MenuUpdated.TYPE, {"items": [{**DISHES[0], "id": ""}, DISHES[1]]}, "items.0.id"),
        (RestaurantUpdated.TYPE, {"address": {**ADDRESS, "street": "x" * 201}}, "street"),
        (RestaurantUpdated.TYPE, {"address": {**ADDRESS, "postcode": ""}}, "postcode"),
        (RestaurantUpdated.TYPE, {"address": {**ADDRESS, "lat": 91}}, "lat"),
    ],
)
def test_what_an_order_could_not_be_published_with_is_a_fault_at_the_ingress(
    shop: Customer, event_type: str, body: dict[str, Any], named: str
) -> None:
    # Restaurant's contract forbids each; taken in, the dish or address was ordered, the payment
    # authorized, and customer.order-placed could never be published: the money held, the
    # order never reaching Order
    whole = {"restaurantId": "r-1", **body} if event_type == MenuUpdated.TYPE else PROFILE | body
    broken = new_event(
        event_type,
        "menu" if event_type == MenuUpdated.TYPE else "restaurant",
        whole,
        partition_key="r-1",
        tags={"subsystem": "restaurant", "schemaVersion": "1"},
    )
    shop.send("restaurant", broken)

    [fault] = shop.faults()
    assert fault["function"] == "customer/restaurant-esg/ingress"
    assert named in fault["error"]["message"]
    order_id = shop.place_order()  # from the menu and profile as they were
    assert len(shop.faults()) == 1
    [placed] = shop.events(OrderPlaced.TYPE, Topic.EXTERNAL)
    assert placed.body["id"] == order_id


def test_a_menu_listing_a_dish_twice_becomes_a_fault_and_the_menu_stays(
    customer: Customer,
) -> None:
    # browse would show both, at their prices, and checkout charge the last one's
    customer.menu("r-1", DISHES)
    dearer = {**DISHES[0], "price": DISHES[0]["price"] + 500}
    customer.menu("r-1", [*DISHES, dearer])

    assert len(customer.events("menu-updated")) == 1
    [fault] = customer.faults()
    assert fault["function"] == "customer/restaurant-esg/ingress"
    assert f"dishes listed more than once: {DISHES[0]['id']}" in fault["error"]["message"]
    shown = customer.call("browse-bff", "GET", "/restaurants/r-1/menu").get_json()["items"]
    assert shown == DISHES


HUGE = 2**63
"""A number Restaurant's contract allows (it bounds no radius, revision or price above) that
no 64-bit integer holds."""


def test_a_radius_and_revision_past_64_bits_come_in_as_the_largest_kept(
    customer: Customer,
) -> None:
    # Kept as they came, browse's and checkout's views could not store them: two faults, the
    # restaurant never shown nor orderable
    customer.restaurant("r-1", deliveryRadiusM=HUGE, revision=HUGE)
    customer.menu("r-1")

    assert customer.faults() == []
    [restaurant] = customer.events("restaurant-updated")
    assert (restaurant.body["deliveryRadiusM"], restaurant.body["revision"]) == (
        MOST_KEPT,
        MOST_KEPT,
    )
    far = "/restaurants?deliversTo=-52.5,-166.6"  # the far side of the globe: still reached
    listed = customer.call("browse-bff", "GET", far).get_json()["restaurants"]
    assert [r["id"] for r in listed] == ["r-1"]


def test_a_price_past_64_bits_comes_in_as_the_largest_kept_and_is_never_ordered(
    customer: Customer,
) -> None:
    customer.restaurant("r-1")
    customer.menu("r-1", [{**DISHES[0], "price": HUGE}, *DISHES[1:]])

    assert customer.faults() == []
    shown = customer.call("browse-bff", "GET", "/restaurants/r-1/menu").get_json()["items"]
    assert [dish["price"] for dish in shown] == [MOST_KEPT, *(d["price"] for d in DISHES[1:])]
    customer.sign_up()
    cart = {"restaurantId": "r-1", "items": [{"menuItemId": DISHES[0]["id"], "quantity": 1}]}
    refused = customer.call("checkout-bff", "PUT", "/cart", cart)
    assert (refused.status_code, list(refused.get_json()["fields"])) == (422, ["items"])
