"""The browse views' migrations: restaurants stored by older versions are listed again."""

from __future__ import annotations

from typing import Any

import pytest

from customer.browse_bff.listing import DISH_AVAILABLE, HAS_MENU
from customer.browse_bff.migrations import fill_sort_names, list_by_menus, retag_cuisines
from customer.browse_bff.models import MENUS, RESTAURANTS
from customer.topology import APP
from restaurant.contracts import MenuUpdated
from tests.customer.conftest import ADDRESS, DISHES, Customer


def stored_before(customer: Customer, rid: str, name: str, cuisine: str) -> None:
    """A restaurant's view as a version before sortName, cuisine tags and the menu's listing
    stored it, and its menu's."""
    view = {"id": rid, "name": name, "cuisine": cuisine, "address": ADDRESS, "open": True}
    customer.store.put(RESTAURANTS, rid, view)
    customer.store.put(MENUS, rid, {"restaurantId": rid, "items": DISHES})


def listed(customer: Customer, query: str = "") -> list[str]:
    response = customer.call("browse-bff", "GET", f"/restaurants{query}")
    assert response.status_code == 200, response.get_json()
    return [r["id"] for r in response.get_json()["restaurants"]]


@pytest.fixture
def legacy(customer: Customer) -> Customer:
    stored_before(customer, "r-1", "Zaika", "Indian ")
    stored_before(customer, "r-2", "bao bar", "taiwanese")
    customer.restaurant("r-3", name="Curry House", cuisine="indian")  # stored by this version
    customer.menu("r-3", DISHES)
    return customer


def test_restaurants_stored_before_are_listed_and_filtered_once_migrated(legacy: Customer) -> None:
    assert listed(legacy) == ["r-3"]  # the list orders by a field the old views lack

    for migration in APP.migrations:
        migration.run(legacy.store)

    assert listed(legacy) == ["r-2", "r-3", "r-1"]
    assert listed(legacy, "?cuisine=indian") == ["r-3", "r-1"]


def test_a_second_run_changes_nothing(legacy: Customer) -> None:
    migrations = (fill_sort_names, retag_cuisines, list_by_menus)
    assert tuple(migrate(legacy.store) for migrate in migrations) == (2, 1, 2)
    before = {d.key: d.data for d in legacy.store.query(RESTAURANTS)}

    assert tuple(migrate(legacy.store) for migrate in migrations) == (0, 0, 0)
    assert {d.key: d.data for d in legacy.store.query(RESTAURANTS)} == before


def test_a_restaurant_stored_before_menus_were_listed_is_listed_by_its_menu(
    legacy: Customer,
) -> None:
    fill_sort_names(legacy.store)
    retag_cuisines(legacy.store)
    stored_before(legacy, "r-4", "Aarti", "indian")
    legacy.store.put(MENUS, "r-4", {"restaurantId": "r-4", "items": []})
    stored_before(legacy, "r-5", "Bistro", "indian")
    legacy.store.delete(MENUS, "r-5")
    fill_sort_names(legacy.store)
    assert listed(legacy) == ["r-3"]

    assert list_by_menus(legacy.store) == 3  # r-1, r-2, and r-4 (empty: not listed)

    assert listed(legacy) == ["r-2", "r-3", "r-1"]
    assert legacy.doc(RESTAURANTS, "r-4")[HAS_MENU] is False
    assert HAS_MENU not in legacy.doc(RESTAURANTS, "r-5")  # no menu: left as it was


def test_the_next_profile_event_still_applies_after_the_migration(legacy: Customer) -> None:
    for migration in APP.migrations:
        migration.run(legacy.store)
    legacy.clock.advance(60_000)
    legacy.restaurant("r-1", name="Aarti", cuisine="indian")

    assert listed(legacy) == ["r-1", "r-2", "r-3"]


def test_a_restaurant_removed_while_the_migration_reads_is_not_stored_again(
    legacy: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = legacy.store.query

    def then_removed(collection: str, *args: Any, **kwargs: Any) -> Any:
        found = query(collection, *args, **kwargs)
        legacy.store.delete(RESTAURANTS, "r-1")
        return found

    monkeypatch.setattr(legacy.store, "query", then_removed)

    assert fill_sort_names(legacy.store) == 1  # r-2 only
    assert legacy.store.get(RESTAURANTS, "r-1") is None


def test_a_restaurant_stored_before_dishes_were_told_available_learns_it(
    customer: Customer,
) -> None:
    # GIVEN a sold-out menu published with its revision, and the view as the version
    # before stored it (it knew the menu's save, not whether a dish is available)
    sold_out = [{**dish, "available": False} for dish in DISHES]
    customer.restaurant("r-1", name="Zaika")
    menu = MenuUpdated.model_validate({"restaurantId": "r-1", "items": sold_out, "revision": 2})
    customer.receive("restaurant", menu, "r-1")
    view = customer.doc(RESTAURANTS, "r-1")
    del view[DISH_AVAILABLE]
    customer.store.put(RESTAURANTS, "r-1", view)

    assert list_by_menus(customer.store) == 1
    assert list_by_menus(customer.store) == 0

    [restaurant] = customer.call("browse-bff", "GET", "/restaurants").get_json()["restaurants"]
    assert restaurant["orderable"] is False
