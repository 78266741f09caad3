"""catalog-esg: profiles and menus leave the subsystem as the published contracts."""

from __future__ import annotations

from restaurant.contracts import MenuUpdated, RestaurantUpdated
from restaurant.profile_bff.models import RESTAURANTS
from restaurant.topology import APP
from shared.topology import Topic
from tests.restaurant.conftest import MENU_ITEMS, PROFILE, Restaurant

MENU = {"restaurantId": "r-1", "items": MENU_ITEMS}


def test_a_saved_profile_and_menu_are_published_as_their_contracts(
    restaurant: Restaurant,
) -> None:
    restaurant.open_restaurant()
    restaurant.client("profile-bff").put(
        "/restaurants/r-1/menu", json={"items": MENU_ITEMS}, headers=restaurant.staff()
    )
    restaurant.system.run_until_quiet()

    [profile] = restaurant.external(RestaurantUpdated.TYPE)
    assert profile.entity == "restaurant"
    assert profile.partition_key == "r-1"
    assert profile.tags["schemaVersion"] == "1"
    assert profile.body == {"id": "r-1", **PROFILE, "revision": 1}
    [menu] = restaurant.external(MenuUpdated.TYPE)
    assert menu.entity == "menu"
    assert menu.partition_key == "r-1"
    assert menu.body == {**MENU, "revision": 1}
    assert restaurant.system.faults("restaurant") == []


def test_only_contract_fields_leave_the_subsystem(restaurant: Restaurant) -> None:
    body = {"id": "r-1", **PROFILE, "ownerEmail": "owner@example.com"}
    body["address"] = {**PROFILE["address"], "doorCode": "1234"}
    restaurant.emit_internal("restaurant-updated", "restaurant", body, "r-1")
    [published] = restaurant.external(RestaurantUpdated.TYPE)
    assert published.body == {"id": "r-1", **PROFILE, "revision": None}


def test_a_cuisine_saved_before_it_was_kept_in_lower_case_is_published_in_lower_case(
    restaurant: Restaurant,
) -> None:
    # GIVEN a profile saved before cuisines were lower-cased and before delivery radii, which
    # the radius migration saves (and so announces) again as it was
    legacy = {k: v for k, v in PROFILE.items() if k != "deliveryRadiusM"}
    restaurant.store.put(RESTAURANTS, "r-1", {**legacy, "id": "r-1", "cuisine": "Italian"})
    # no ticket queued or finished to stamp, no notes to expire
    assert [m.run(restaurant.store) for m in APP.migrations] == [1, 0, 0, 0]
    restaurant.system.run_until_quiet()

    published = restaurant.external(RestaurantUpdated.TYPE)
    assert [e.body["cuisine"] for e in published] == ["italian", "italian"]
    assert restaurant.system.faults("restaurant") == []


def test_a_redelivered_change_is_published_with_the_same_event_id(restaurant: Restaurant) -> None:
    event = restaurant.emit_internal("menu-updated", "menu", MENU, "r-1")
    restaurant.system.inject("restaurant", Topic.BUS, event)
    restaurant.system.run_until_quiet()
    first, again = restaurant.external(MenuUpdated.TYPE)
    assert first.id == again.id


def test_a_body_that_breaks_the_contract_becomes_a_fault_and_nothing_is_published(
    restaurant: Restaurant,
) -> None:
    menu = {"restaurantId": "r-1", "items": [{**MENU_ITEMS[0], "price": -5}]}
    restaurant.emit_internal("menu-updated", "menu", menu, "r-1")
    assert restaurant.external(MenuUpdated.TYPE) == []
    [fault] = restaurant.system.faults("restaurant")
    assert fault["function"] == "restaurant/catalog-esg/egress"
    assert fault["error"]["type"] == "ValidationError"
    assert "MenuItem\nprice" in fault["error"]["message"]
