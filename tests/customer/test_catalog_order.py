"""The catalog copies keep a restaurant's last save, whatever order its events come in.

Restaurant runs here too: its events are the ones its profile-bff and catalog-esg
publish, handed to the customer subsystem in the order a test chooses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from restaurant.contracts import MenuUpdated, RestaurantUpdated
from shared.topology import Topic
from tests.customer.conftest import DISHES, Customer
from tests.restaurant.conftest import PROFILE, Restaurant

if TYPE_CHECKING:
    from pathlib import Path

    from shared.envelope import Envelope


def saved(kitchen: Restaurant, path: str, *bodies: dict[str, Any]) -> list[Envelope]:
    """Save each body in turn at ``path``, all in the same millisecond, and return what
    Restaurant published of them."""
    for body in bodies:
        response = kitchen.client("profile-bff").put(path, json=body, headers=kitchen.staff())
        assert response.status_code == 200, response.get_json()
    kitchen.system.run_until_quiet()
    return kitchen.events[Topic.EXTERNAL]


def test_of_two_profile_saves_in_one_millisecond_the_later_is_kept_in_any_order(
    customer: Customer, tmp_path: Path
) -> None:
    kitchen = Restaurant(tmp_path)
    opened, closed = saved(
        kitchen, "/restaurants/r-1", PROFILE, {**PROFILE, "open": False, "cuisine": "Pizza"}
    )
    assert opened.timestamp == closed.timestamp  # the premise: their time cannot tell
    assert [e.type for e in (opened, closed)] == [RestaurantUpdated.TYPE] * 2

    customer.send("restaurant", closed)
    customer.send("restaurant", opened)  # late: redelivered, or overtaken

    for copy in ("catalog-restaurants", "checkout-restaurants"):
        assert customer.doc(copy, "r-1")["open"] is False, copy
    assert customer.doc("catalog-restaurants", "r-1")["cuisine"] == "pizza"


def test_of_two_menu_saves_in_one_millisecond_the_later_prices_the_cart(
    customer: Customer, tmp_path: Path
) -> None:
    kitchen = Restaurant(tmp_path)
    saved(kitchen, "/restaurants/r-1", PROFILE)
    dearer = [{**DISHES[0], "price": 1200}, DISHES[1]]
    before, after = saved(
        kitchen, "/restaurants/r-1/menu", {"items": DISHES[:2]}, {"items": dearer}
    )[1:]
    assert before.timestamp == after.timestamp
    assert [e.type for e in (before, after)] == [MenuUpdated.TYPE] * 2

    for event in (kitchen.events[Topic.EXTERNAL][0], after, before):
        customer.send("restaurant", event)

    assert customer.doc("catalog-menus", "r-1")["items"] == dearer
    cart = {"restaurantId": "r-1", "items": [{"menuItemId": "margherita", "quantity": 1}]}
    response = customer.call("checkout-bff", "PUT", "/cart", cart)
    assert response.get_json()["total"] == 1200


def test_a_save_is_not_undone_by_an_event_from_before_revisions_of_the_same_millisecond(
    customer: Customer, tmp_path: Path
) -> None:
    kitchen = Restaurant(tmp_path)
    [counted] = saved(kitchen, "/restaurants/r-1", {**PROFILE, "open": False})
    assert counted.body["revision"] == 1
    uncounted = {**counted.body, "open": True, "revision": None}  # as published before

    customer.send("restaurant", counted)
    customer.receive(
        "restaurant", RestaurantUpdated.model_validate(uncounted), "r-1", counted.timestamp
    )

    assert customer.doc("catalog-restaurants", "r-1")["open"] is False
    assert customer.doc("checkout-restaurants", "r-1")["open"] is False
