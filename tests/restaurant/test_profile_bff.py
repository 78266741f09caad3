"""profile-bff: staff keep their restaurant's profile and menu; changes become events."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from restaurant.contracts import RestaurantUpdated
from restaurant.profile_bff.models import MAX_PRICE, RESTAURANTS
from restaurant.topology import APP
from shared.auth import Actor, Principal
from shared.contracts import MAX_AMOUNT
from tests.restaurant.conftest import MENU_ITEMS, PROFILE, Restaurant

if TYPE_CHECKING:
    from werkzeug.test import TestResponse


def put_profile(
    restaurant: Restaurant,
    body: dict[str, Any] | None = None,
    restaurant_id: str = "r-1",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return restaurant.client("profile-bff").put(
        f"/restaurants/{restaurant_id}",
        json=PROFILE if body is None else body,
        headers=restaurant.staff(restaurant_id) if headers is None else headers,
    )


def put_menu(
    restaurant: Restaurant,
    items: list[dict[str, Any]] | None = None,
    restaurant_id: str = "r-1",
    headers: dict[str, str] | None = None,
) -> TestResponse:
    return restaurant.client("profile-bff").put(
        f"/restaurants/{restaurant_id}/menu",
        json={"items": MENU_ITEMS if items is None else items},
        headers=restaurant.staff(restaurant_id) if headers is None else headers,
    )


def get(restaurant: Restaurant, path: str, headers: dict[str, str] | None = None) -> TestResponse:
    return restaurant.client("profile-bff").get(path, headers=headers or restaurant.staff())


# -- profile ---------------------------------------------------------------------------


def test_staff_save_and_read_their_profile(restaurant: Restaurant) -> None:
    response = put_profile(restaurant)
    assert response.status_code == 200
    assert response.get_json() == {**PROFILE, "id": "r-1", "revision": 1}
    read = get(restaurant, "/restaurants/r-1")
    assert read.status_code == 200
    assert read.get_json() == {**PROFILE, "id": "r-1", "revision": 1}


def test_a_saved_profile_becomes_one_restaurant_updated_event(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    restaurant.system.run_until_quiet()
    [event] = restaurant.bus("restaurant-updated")
    assert event.entity == "restaurant"
    assert event.partition_key == "r-1"
    assert event.body == {**PROFILE, "id": "r-1", "revision": 1}


def test_saving_the_same_profile_again_emits_nothing_and_a_change_emits_again(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    put_profile(restaurant)
    restaurant.system.run_until_quiet()
    assert len(restaurant.bus("restaurant-updated")) == 1
    put_profile(restaurant, {**PROFILE, "open": False})
    restaurant.system.run_until_quiet()
    assert [e.body["open"] for e in restaurant.bus("restaurant-updated")] == [True, False]


def test_each_save_that_changes_the_profile_counts_one_revision_more_in_the_same_millisecond(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    put_profile(restaurant)  # no change: no revision
    put_profile(restaurant, {**PROFILE, "open": False})
    put_profile(restaurant, {**PROFILE, "cuisine": "Italian"})  # the same as the first
    restaurant.system.run_until_quiet()

    events = restaurant.bus("restaurant-updated")
    assert [(e.body["open"], e.body["revision"]) for e in events] == [
        (True, 1),
        (False, 2),
        (True, 3),
    ]
    assert len({e.timestamp for e in events}) == 1  # their time cannot order them
    assert get(restaurant, "/restaurants/r-1").get_json() == {**PROFILE, "id": "r-1", "revision": 3}


def test_a_profile_saved_before_revisions_were_counted_gets_its_first_on_its_next_change(
    restaurant: Restaurant,
) -> None:
    restaurant.store.put("restaurants", "r-1", {**PROFILE, "id": "r-1"})
    put_profile(restaurant)  # no change: it stays as it was
    assert restaurant.store.get("restaurants", "r-1") == {**PROFILE, "id": "r-1"}

    put_profile(restaurant, {**PROFILE, "open": False})

    expected = {**PROFILE, "id": "r-1", "open": False, "revision": 1}
    assert get(restaurant, "/restaurants/r-1").get_json() == expected
    restaurant.system.run_until_quiet()
    assert [e.body.get("revision") for e in restaurant.bus("restaurant-updated")] == [None, 1]


def test_a_profile_and_menu_stored_with_fields_since_dropped_still_read(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    assert put_menu(restaurant).status_code == 200
    address = {**PROFILE["address"], "floor": 2}
    old_profile = {**PROFILE, "id": "r-1", "phone": "030 123", "address": address}
    restaurant.store.put("restaurants", "r-1", old_profile)
    menu = restaurant.store.get("menus", "r-1")
    assert menu is not None
    old_items = [{**item, "spicy": True} for item in menu["items"]]
    restaurant.store.put("menus", "r-1", {**menu, "items": old_items, "chef": "Gino"})

    profile = get(restaurant, "/restaurants/r-1")
    expected = {**PROFILE, "id": "r-1", "revision": None}  # put as saved before revisions
    assert (profile.status_code, profile.get_json()) == (200, expected)
    read = get(restaurant, "/restaurants/r-1/menu")
    assert read.status_code == 200
    assert read.get_json()["items"] == menu["items"]


def test_a_menu_saved_before_prices_were_capped_still_reads(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    dear = [{**MENU_ITEMS[0], "price": MAX_PRICE + 1}]
    restaurant.store.put("menus", "r-1", {"restaurantId": "r-1", "items": dear, "revision": 4})

    read = get(restaurant, "/restaurants/r-1/menu")

    expected = {"restaurantId": "r-1", "items": dear, "revision": 4}
    assert (read.status_code, read.get_json()) == (200, expected)
    assert put_menu(restaurant, dear).status_code == 400  # saving it again: within the cap


def test_an_unknown_profile_is_404(restaurant: Restaurant) -> None:
    response = get(restaurant, "/restaurants/r-1")
    assert response.status_code == 404
    assert "r-1" in response.get_json()["error"]


def test_blanks_around_text_are_trimmed(restaurant: Restaurant) -> None:
    response = put_profile(restaurant, {**PROFILE, "name": "  Trattoria Roma  "})
    assert response.get_json()["name"] == "Trattoria Roma"


def test_a_restaurant_that_does_not_say_delivers_within_5_km(restaurant: Restaurant) -> None:
    profile = {k: v for k, v in PROFILE.items() if k != "deliveryRadiusM"}
    assert put_profile(restaurant, profile).get_json()["deliveryRadiusM"] == 5000


def test_a_cuisine_is_kept_in_lower_case_so_customers_find_it_however_it_was_typed(
    restaurant: Restaurant,
) -> None:
    response = put_profile(restaurant, {**PROFILE, "cuisine": " Italian "})
    assert response.get_json()["cuisine"] == "italian"
    restaurant.system.run_until_quiet()
    [event] = restaurant.external("restaurant.restaurant-updated")
    assert event.body["cuisine"] == "italian"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "   "}, "name"),
        ({"cuisine": "x" * 51}, "cuisine"),
        ({"address": {**PROFILE["address"], "lat": 91}}, "address.lat"),
        ({"address": {**PROFILE["address"], "postcode": ""}}, "address.postcode"),
        ({"open": "yes"}, "open"),
        ({"ordering": "fax"}, "ordering"),
        ({"owner": "mallory"}, "owner"),
        ({"name": "Roma\x1b[2J"}, "name"),
        ({"cuisine": "pizza\npasta"}, "cuisine"),
        ({"address": {**PROFILE["address"], "street": "Torstra\x00e 1"}}, "address.street"),
        ({"name": "\u200b"}, "name"),
        # one-line text: a line or paragraph separator breaks it as a newline does
        ({"name": "Trattoria\u2028Roma"}, "name"),
        ({"address": {**PROFILE["address"], "street": "Torstraße\u2029 1"}}, "address.street"),
        # a bidirectional override left open reverses what the app shows after the name
        ({"name": "Roma\u202e"}, "name"),
        ({"cuisine": "pizza\u2069"}, "cuisine"),
    ],
)
def test_an_invalid_profile_gets_400_naming_the_field_and_is_not_saved(
    restaurant: Restaurant, change: dict[str, Any], field: str
) -> None:
    response = put_profile(restaurant, {**PROFILE, **change})
    assert response.status_code == 400
    assert field in response.get_json()["fields"]
    assert restaurant.store.get("restaurants", "r-1") is None


def test_a_missing_field_gets_400(restaurant: Restaurant) -> None:
    body = {k: v for k, v in PROFILE.items() if k != "address"}
    response = put_profile(restaurant, body)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"address": "Field required"}


def test_staff_of_another_restaurant_cannot_change_or_read_the_profile(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    restaurant.system.run_until_quiet()
    other = restaurant.staff("r-2")
    change = put_profile(restaurant, {**PROFILE, "name": "Hijacked"}, headers=other)
    assert change.status_code == 403
    assert "r-2" in change.get_json()["error"]
    assert get(restaurant, "/restaurants/r-1", headers=other).status_code == 403
    assert restaurant.store.get("restaurants", "r-1") == {**PROFILE, "id": "r-1", "revision": 1}
    restaurant.system.run_until_quiet()
    assert len(restaurant.bus("restaurant-updated")) == 1


@pytest.mark.parametrize(("actor", "status"), [(None, 401), ("customer", 403), ("driver", 403)])
def test_callers_who_are_not_staff_are_refused(
    restaurant: Restaurant, actor: Actor | None, status: int
) -> None:
    headers = {} if actor is None else restaurant.bearer(Principal(actor, "alice"))
    response = put_profile(restaurant, headers=headers)
    assert response.status_code == status
    assert restaurant.store.get("restaurants", "r-1") is None


# -- menu ------------------------------------------------------------------------------


def test_staff_save_and_read_their_menu(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    response = put_menu(restaurant)
    assert response.status_code == 200
    assert response.get_json() == {"restaurantId": "r-1", "items": MENU_ITEMS, "revision": 1}
    read = get(restaurant, "/restaurants/r-1/menu")
    assert read.get_json() == {"restaurantId": "r-1", "items": MENU_ITEMS, "revision": 1}


def test_a_description_may_be_left_out(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    item = {k: v for k, v in MENU_ITEMS[0].items() if k != "description"}
    response = put_menu(restaurant, [item])
    assert response.status_code == 200
    assert response.get_json()["items"][0]["description"] == ""


def test_a_saved_menu_becomes_one_menu_updated_event(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    put_menu(restaurant)
    put_menu(restaurant)
    restaurant.system.run_until_quiet()
    [event] = restaurant.bus("menu-updated")
    assert event.entity == "menu"
    assert event.partition_key == "r-1"
    assert event.body == {"restaurantId": "r-1", "items": MENU_ITEMS, "revision": 1}


def test_each_save_that_changes_the_menu_counts_one_revision_more(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    put_menu(restaurant)
    put_menu(restaurant, with_item(0, price=1200))
    restaurant.system.run_until_quiet()

    events = restaurant.bus("menu-updated")
    assert [(e.body["items"][0]["price"], e.body["revision"]) for e in events] == [
        (950, 1),
        (1200, 2),
    ]
    assert get(restaurant, "/restaurants/r-1/menu").get_json() == {
        "restaurantId": "r-1",
        "items": with_item(0, price=1200),
        "revision": 2,
    }


def test_a_menu_before_the_profile_is_409_and_not_saved(restaurant: Restaurant) -> None:
    response = put_menu(restaurant)
    assert response.status_code == 409
    assert "profile" in response.get_json()["error"]
    assert restaurant.store.get("menus", "r-1") is None


def test_an_unknown_menu_is_404(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    assert get(restaurant, "/restaurants/r-1/menu").status_code == 404


def with_item(index: int, **changes: Any) -> list[dict[str, Any]]:
    items = copy.deepcopy(MENU_ITEMS)
    items[index].update(changes)
    return items


@pytest.mark.parametrize(
    ("items", "field", "message"),
    [
        ([], "items", "at least 1 item"),
        ([MENU_ITEMS[0]] * 201, "items", "at most 200 items"),
        (with_item(1, id="margherita"), "items.1.id", "'margherita' is already the id of items.0"),
        (with_item(1, id=" margherita "), "items.1.id", "already the id of items.0"),
        (with_item(1, currency="USD"), "items.1.currency", "must be EUR like items.0"),
        (with_item(0, currency="eur"), "items.0.currency", "should match pattern"),
        (with_item(1, currency="EUE"), "items.1.currency", "'EUE' is no ISO 4217 currency code"),
        (with_item(0, currency="XTS"), "items.0.currency", "'XTS' is no ISO 4217 currency code"),
        (with_item(0, price=-1), "items.0.price", "greater than or equal to 0"),
        (with_item(0, price="950"), "items.0.price", "valid integer"),
        (with_item(0, price=10**19), "items.0.price", "less than or equal to 1000000"),
        (with_item(0, price=MAX_AMOUNT + 1), "items.0.price", "less than or equal to 1000000"),
        (with_item(0, price=2**63), "items.0.price", "less than or equal to 1000000"),
        (with_item(1, available=None), "items.1.available", "valid boolean"),
        (with_item(0, spicy=True), "items.0.spicy", "Extra inputs"),
        (with_item(1, name="Tiramis\x00"), "items.1.name", "must not hold control characters"),
        (with_item(0, id="pizza\tbianca"), "items.0.id", "must not hold control characters"),
        (with_item(0, description="\x1b[31mhot"), "items.0.description", "control characters"),
        (with_item(1, name="\u200b\u2060"), "items.1.name", "must hold a visible character"),
        (with_item(1, name="Tiramis\u2028\u00f9"), "items.1.name", "must be one line"),
        (with_item(0, id="pizza\u2029bianca"), "items.0.id", "must be one line"),
        (with_item(1, name="Tiramis\u202eù"), "items.1.name", "must close every bidirectional"),
        (with_item(0, description="hot\u2067 \u202c"), "items.0.description", "'\\u202c'"),
    ],
)
def test_an_invalid_menu_gets_400_naming_the_field_and_is_not_saved(
    restaurant: Restaurant, items: list[dict[str, Any]], field: str, message: str
) -> None:
    put_profile(restaurant)
    response = put_menu(restaurant, items)
    assert response.status_code == 400
    assert message in response.get_json()["fields"][field]
    assert field in response.get_json()["error"]
    assert restaurant.store.get("menus", "r-1") is None


def test_a_description_may_break_lines_and_a_name_may_join_emoji(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    description = "Tomato,\r\n\tbasil\u2028mozzarella"
    items = with_item(0, name="Pizza \U0001f468\u200d\U0001f373", description=description)
    response = put_menu(restaurant, items)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"][0]["description"] == description


def test_a_name_may_isolate_right_to_left_text_it_closes(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    name = "Falafel \u2067\u0641\u0644\u0627\u0641\u0644\u2069 \u202bwrap\u202c"
    response = put_menu(restaurant, with_item(0, name=name))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"][0]["name"] == name


@pytest.mark.parametrize("currency", ["JPY", "CHF", "XOF"])
def test_a_menu_may_be_priced_in_any_currency_in_circulation(
    restaurant: Restaurant, currency: str
) -> None:
    put_profile(restaurant)
    items = [{**item, "currency": currency} for item in MENU_ITEMS]
    response = put_menu(restaurant, items)
    assert response.status_code == 200, response.get_json()
    assert {item["currency"] for item in response.get_json()["items"]} == {currency}


def test_every_repeated_id_and_foreign_currency_is_named(restaurant: Restaurant) -> None:
    put_profile(restaurant)
    items = [
        {**MENU_ITEMS[0], "id": f"dish-{i % 2}", "currency": "EUR" if i < 3 else "GBP"}
        for i in range(4)
    ]
    response = put_menu(restaurant, items)
    assert set(response.get_json()["fields"]) == {"items.2.id", "items.3.id", "items.3.currency"}


def test_a_currency_typo_on_the_first_dish_is_named_not_held_up_as_the_menus(
    restaurant: Restaurant,
) -> None:
    # GIVEN a menu whose first dish has a typo for a currency, the next one is in euros and
    # the last in pounds
    put_profile(restaurant)
    currencies = ["EUE", "EUR", "GBP"]
    items = [
        {**MENU_ITEMS[0], "id": f"dish-{i}", "currency": currency}
        for i, currency in enumerate(currencies)
    ]
    response = put_menu(restaurant, items)
    # THEN the typo is the problem, and a foreign dish is told the currency of the first
    # dish with a real one: never to match the typo
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert fields == {
        "items.0.currency": "'EUE' is no ISO 4217 currency code",
        "items.2.currency": "must be EUR like items.1: a menu has one currency",
    }
    assert restaurant.store.get("menus", "r-1") is None


def test_staff_of_another_restaurant_cannot_change_or_read_the_menu(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    put_menu(restaurant)
    other = restaurant.staff("r-2")
    assert put_menu(restaurant, with_item(0, price=1), headers=other).status_code == 403
    menu = {"restaurantId": "r-1", "items": MENU_ITEMS, "revision": 1}
    assert restaurant.store.get("menus", "r-1") == menu
    assert get(restaurant, "/restaurants/r-1/menu", headers=other).status_code == 403


def test_the_api_documents_its_routes(restaurant: Restaurant) -> None:
    paths = restaurant.client("profile-bff").get("/openapi.json").get_json()["paths"]
    assert {path: sorted(ops) for path, ops in paths.items()} == {
        "/restaurants/{restaurant_id}": ["get", "put"],
        "/restaurants/{restaurant_id}/menu": ["get", "put"],
    }


def test_a_profile_saved_before_radii_is_announced_with_the_radius_staff_see(
    restaurant: Restaurant,
) -> None:
    legacy = {k: v for k, v in PROFILE.items() if k != "deliveryRadiusM"}
    restaurant.store.put(RESTAURANTS, "r-1", {**legacy, "id": "r-1", "revision": 3})
    restaurant.system.run_until_quiet()
    [told] = restaurant.external(RestaurantUpdated.TYPE)
    assert told.body["deliveryRadiusM"] is None  # customers: no limit; staff: 5 km
    shown = restaurant.client("profile-bff").get("/restaurants/r-1", headers=restaurant.staff())
    assert shown.get_json()["deliveryRadiusM"] == 5000

    # no ticket queued or finished to stamp, no notes to expire
    assert [m.run(restaurant.store) for m in APP.migrations] == [1, 0, 0, 0]
    restaurant.system.run_until_quiet()

    [_, announced] = restaurant.external(RestaurantUpdated.TYPE)
    assert (announced.body["deliveryRadiusM"], announced.body["revision"]) == (5000, 4)
    assert [m.run(restaurant.store) for m in APP.migrations] == [0, 0, 0, 0]


def test_a_menu_edit_made_from_an_older_revision_is_refused_not_undoing_a_colleagues(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    assert put_menu(restaurant).get_json()["revision"] == 1
    sold_out = {"items": with_item(0, available=False), "revision": 1}
    repriced = {"items": with_item(1, price=700), "revision": 1}  # from the same copy
    client, headers = restaurant.client("profile-bff"), restaurant.staff()

    first = client.put("/restaurants/r-1/menu", json=sold_out, headers=headers)
    second = client.put("/restaurants/r-1/menu", json=repriced, headers=headers)

    assert (first.status_code, first.get_json()["revision"]) == (200, 2)
    assert second.status_code == 409
    assert second.get_json()["fields"] == {"revision": "is 2, not 1"}
    read = get(restaurant, "/restaurants/r-1/menu").get_json()
    assert (read["items"], read["revision"]) == (with_item(0, available=False), 2)
    restaurant.system.run_until_quiet()
    assert [e.body["revision"] for e in restaurant.bus("menu-updated")] == [1, 2]


def test_a_profile_edit_names_the_revision_it_was_made_from(restaurant: Restaurant) -> None:
    assert put_profile(restaurant, {**PROFILE, "revision": 0}).get_json()["revision"] == 1
    new_again = put_profile(restaurant, {**PROFILE, "name": "Roma", "revision": 0})
    assert new_again.status_code == 409  # it is no longer new
    closed = put_profile(restaurant, {**PROFILE, "open": False, "revision": 1})
    assert (closed.status_code, closed.get_json()["revision"]) == (200, 2)
    stale = put_profile(restaurant, {**PROFILE, "name": "Roma", "revision": 1})
    assert stale.status_code == 409
    assert "revision 1 (it is at revision 2)" in stale.get_json()["error"]
    assert get(restaurant, "/restaurants/r-1").get_json()["open"] is False


def test_the_same_edit_sent_again_after_a_lost_answer_is_no_conflict(
    restaurant: Restaurant,
) -> None:
    put_profile(restaurant)
    put_menu(restaurant)
    edit = {"items": with_item(0, available=False), "revision": 1}
    client, headers = restaurant.client("profile-bff"), restaurant.staff()

    answers = [client.put("/restaurants/r-1/menu", json=edit, headers=headers) for _ in "12"]

    assert [(a.status_code, a.get_json()["revision"]) for a in answers] == [(200, 2), (200, 2)]
    restaurant.system.run_until_quiet()
    assert [e.body["revision"] for e in restaurant.bus("menu-updated")] == [1, 2]
