"""browse-bff: customers find restaurants and menus, as Restaurant last published them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.customer.conftest import ADDRESS, DISHES, Customer

if TYPE_CHECKING:
    from werkzeug.test import TestResponse


@pytest.fixture
def catalog(customer: Customer) -> Customer:
    customer.restaurant("r-1", name="Trattoria Roma", cuisine="italian")
    customer.restaurant("r-2", name="Curry House", cuisine="indian", open=False)
    customer.restaurant("r-3", name="Pasta Bar", cuisine="italian", deliveryRadiusM=None)
    customer.menu("r-1", DISHES)
    return customer


def names(response: TestResponse) -> list[str]:
    return [r["name"] for r in response.get_json()["restaurants"]]


def test_restaurants_are_listed_by_name(catalog: Customer) -> None:
    response = catalog.call("browse-bff", "GET", "/restaurants")

    assert response.status_code == 200
    assert names(response) == ["Curry House", "Pasta Bar", "Trattoria Roma"]
    assert response.get_json()["restaurants"][2] == {
        "id": "r-1",
        "name": "Trattoria Roma",
        "cuisine": "italian",
        "address": ADDRESS,
        "open": True,
        "deliveryRadiusM": 5000,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?cuisine=italian", ["Pasta Bar", "Trattoria Roma"]),
        ("?cuisine=Italian", ["Pasta Bar", "Trattoria Roma"]),
        ("?open=true", ["Pasta Bar", "Trattoria Roma"]),
        ("?open=false", ["Curry House"]),
        ("?cuisine=indian&open=true", []),
        ("?deliversTo=52.5291,13.4010", ["Curry House", "Pasta Bar", "Trattoria Roma"]),
        ("?deliversTo=52.5291,13.2", ["Pasta Bar"]),  # 13.6 km west: only the one without limit
        ("?deliversTo=52.5291,13.2&open=true", ["Pasta Bar"]),
    ],
)
def test_restaurants_can_be_filtered_by_cuisine_and_opening(
    catalog: Customer, query: str, expected: list[str]
) -> None:
    assert names(catalog.call("browse-bff", "GET", f"/restaurants{query}")) == expected


@pytest.mark.parametrize("where", ["north", "52.5", "52.5,13.4,1", "952.5,13.4"])
def test_a_delivers_to_that_is_not_a_point_is_refused(catalog: Customer, where: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?deliversTo={where}")
    assert response.status_code == 400
    assert "deliversTo" in response.get_json()["fields"]


def test_an_unknown_or_misspelt_filter_is_refused_not_ignored(catalog: Customer) -> None:
    response = catalog.call("browse-bff", "GET", "/restaurants?cusine=italian")

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["cusine"]


def test_an_open_filter_that_is_not_a_boolean_is_refused(catalog: Customer) -> None:
    response = catalog.call("browse-bff", "GET", "/restaurants?open=maybe")

    assert response.status_code == 400
    assert response.get_json()["fields"] == {
        "open": "Input should be a valid boolean, unable to interpret input"
    }


def test_a_restaurant_and_its_menu_can_be_read(catalog: Customer) -> None:
    restaurant = catalog.call("browse-bff", "GET", "/restaurants/r-2")
    menu = catalog.call("browse-bff", "GET", "/restaurants/r-1/menu")

    assert restaurant.status_code == 200
    assert restaurant.get_json()["name"] == "Curry House"
    assert menu.status_code == 200
    assert menu.get_json() == {"restaurantId": "r-1", "items": DISHES}


def test_unknown_restaurants_and_missing_menus_are_404(catalog: Customer) -> None:
    assert catalog.call("browse-bff", "GET", "/restaurants/r-9").status_code == 404
    assert catalog.call("browse-bff", "GET", "/restaurants/r-2/menu").status_code == 404


def test_the_latest_update_wins_and_a_redelivered_one_changes_nothing(catalog: Customer) -> None:
    catalog.clock.advance(60_000)
    closed = catalog.restaurant("r-1", name="Trattoria Roma", open=False)
    catalog.inject("restaurant", closed)

    assert names(catalog.call("browse-bff", "GET", "/restaurants?open=true")) == ["Pasta Bar"]
    assert catalog.doc("catalog-restaurants", "r-1")["open"] is False


def test_only_customers_may_browse(catalog: Customer) -> None:
    assert catalog.call("browse-bff", "GET", "/restaurants", subject=None).status_code == 401
    driver = catalog.call("browse-bff", "GET", "/restaurants", subject="dan", actor="driver")
    assert driver.status_code == 403
