"""browse-bff: customers find restaurants and menus, as Restaurant last published them."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

from customer.browse_bff import pages as paging
from customer.browse_bff import views
from customer.browse_bff.listing import DISH_AVAILABLE, HAS_MENU, list_by_menu
from customer.browse_bff.models import MENUS, RESTAURANTS
from customer.browse_bff.pages import SCAN_BUDGET, SORT_FIELD, SORT_NAME_BYTES, sort_name
from restaurant.contracts import MenuUpdated
from shared.envelope import new_event
from shared.stores.idempotent import META
from tests.customer.conftest import ADDRESS, DISHES, Customer

if TYPE_CHECKING:
    from werkzeug.test import TestResponse


@pytest.fixture
def catalog(customer: Customer) -> Customer:
    """Three restaurants with their menus, and one whose menu has not arrived yet (r-5)."""
    customer.restaurant("r-1", name="Trattoria Roma", cuisine="italian")
    customer.restaurant("r-2", name="Curry House", cuisine="indian", open=False)
    customer.restaurant("r-3", name="Pasta Bar", cuisine="italian", deliveryRadiusM=None)
    customer.restaurant("r-5", name="Bistro Nuovo", cuisine="italian")
    for rid in ("r-1", "r-2", "r-3"):
        customer.menu(rid, DISHES)
    return customer


def names(response: TestResponse) -> list[str]:
    return [r["name"] for r in response.get_json()["restaurants"]]


def test_restaurants_are_listed_by_name(catalog: Customer) -> None:
    response = catalog.call("browse-bff", "GET", "/restaurants")

    assert response.status_code == 200
    assert names(response) == ["Curry House", "Pasta Bar", "Trattoria Roma"]
    assert response.get_json()["next"] is None
    assert response.get_json()["restaurants"][2] == {
        "id": "r-1",
        "name": "Trattoria Roma",
        "cuisine": "italian",
        "address": ADDRESS,
        "open": True,
        "deliveryRadiusM": 5000,
        "orderable": True,
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


@pytest.mark.parametrize(
    "where",
    [
        "north",
        "52.5",
        "52.5,13.4,1",
        "952.5,13.4",
        "95,13.4",
        "52.5,500",
        "-99.9,-999.9",
        "\u0665\u0662,\u0661\u0663",  # digits, but not the ASCII ones query numbers are
    ],
)
def test_a_delivers_to_that_is_not_a_point_is_refused(catalog: Customer, where: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?deliversTo={where}")
    assert response.status_code == 400
    assert "deliversTo" in response.get_json()["fields"]


def test_an_unknown_or_misspelt_filter_is_refused_not_ignored(catalog: Customer) -> None:
    response = catalog.call("browse-bff", "GET", "/restaurants?cusine=italian")

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == ["cusine"]


def test_a_filter_given_twice_is_refused_not_guessed(catalog: Customer) -> None:
    response = catalog.call("browse-bff", "GET", "/restaurants?open=true&open=false")

    assert response.status_code == 400
    assert response.get_json()["fields"] == {"open": "given more than once"}


@pytest.mark.parametrize("given", ["maybe", "yes", "1", "on", "True", ""])
def test_an_open_filter_that_is_not_true_or_false_is_refused(catalog: Customer, given: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?open={given}")

    assert response.status_code == 400
    assert response.get_json()["fields"] == {"open": "Input should be true or false"}


@pytest.mark.parametrize("given", ["1.0", "1_0", "%2B3", "1e1", "%D9%A3", "", "-1"])
def test_a_limit_not_written_in_digits_is_refused(catalog: Customer, given: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?limit={given}")

    assert response.status_code == 400
    assert response.get_json()["fields"] == {"limit": "Input should be a whole number in digits"}


def test_a_query_number_and_yes_or_no_may_be_padded_with_blanks(catalog: Customer) -> None:
    padded = catalog.call("browse-bff", "GET", "/restaurants?open=%20true%20&limit=%201%20")
    plain = catalog.call("browse-bff", "GET", "/restaurants?open=true&limit=1")

    assert padded.status_code == 200, padded.get_json()
    assert padded.get_json() == plain.get_json()


def test_a_restaurant_and_its_menu_can_be_read(catalog: Customer) -> None:
    restaurant = catalog.call("browse-bff", "GET", "/restaurants/r-2")
    menu = catalog.call("browse-bff", "GET", "/restaurants/r-1/menu")

    assert restaurant.status_code == 200
    assert restaurant.get_json()["name"] == "Curry House"
    assert menu.status_code == 200
    assert menu.get_json() == {"restaurantId": "r-1", "items": DISHES}


def test_unknown_restaurants_and_missing_menus_are_404(catalog: Customer) -> None:
    assert catalog.call("browse-bff", "GET", "/restaurants/r-9").status_code == 404
    assert catalog.call("browse-bff", "GET", "/restaurants/r-5/menu").status_code == 404


def listed(customer: Customer, query: str = "") -> list[str]:
    return [
        r["id"]
        for r in customer.call("browse-bff", "GET", f"/restaurants{query}").get_json()[
            "restaurants"
        ]
    ]


def menu_at(customer: Customer, rid: str, items: list[dict[str, Any]], at: int) -> None:
    """Restaurant publishes ``rid``'s menu as saved at ``at`` (epoch ms)."""
    menu = MenuUpdated.model_validate({"restaurantId": rid, "items": items})
    customer.receive("restaurant", menu, rid, timestamp=at)


def test_a_restaurant_is_listed_only_while_its_menu_lists_a_dish(catalog: Customer) -> None:
    # GIVEN a restaurant whose menu has not arrived: there is nothing to order from it
    assert "r-5" not in listed(catalog)
    assert "r-5" not in listed(catalog, "?cuisine=italian&open=true")
    assert catalog.call("browse-bff", "GET", "/restaurants/r-5").status_code == 200

    # WHEN its menu arrives empty, then with dishes, then emptied again
    now = catalog.clock.now_ms()
    menu_at(catalog, "r-5", [], now + 1)
    empty = listed(catalog, "?cuisine=italian")
    menu_at(catalog, "r-5", DISHES, now + 2)
    with_dishes = listed(catalog, "?cuisine=italian")
    menu_at(catalog, "r-5", [], now + 3)

    # THEN it is listed while the menu lists a dish, where its name puts it
    assert empty == ["r-3", "r-1"]
    assert with_dishes == ["r-5", "r-3", "r-1"]
    assert listed(catalog, "?cuisine=italian") == ["r-3", "r-1"]


def test_a_menu_that_arrives_before_its_restaurant_lists_it(customer: Customer) -> None:
    customer.menu("r-7", DISHES)
    customer.restaurant("r-7", name="Early Menu")

    assert listed(customer) == ["r-7"]
    assert listed(customer, "?open=true&cuisine=italian") == ["r-7"]


def test_a_profile_update_keeps_the_restaurant_listed(
    catalog: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the view carries the listing over itself, before the menu is looked at again
    monkeypatch.setattr(views, "list_by_menu", lambda store, restaurant_id: False)
    catalog.clock.advance(60_000)
    catalog.restaurant("r-1", name="Trattoria Roma Nuova")

    assert listed(catalog) == ["r-2", "r-3", "r-1"]


def test_an_older_menu_arriving_late_does_not_change_the_listing(catalog: Customer) -> None:
    now = catalog.clock.now_ms()
    menu_at(catalog, "r-5", DISHES, now + 2)
    menu_at(catalog, "r-5", [], now + 1)  # saved before, delivered after
    menu_at(catalog, "r-1", [], now + 2)
    menu_at(catalog, "r-1", DISHES, now + 1)

    assert listed(catalog) == ["r-5", "r-2", "r-3"]
    assert catalog.call("browse-bff", "GET", "/restaurants/r-1/menu").get_json()["items"] == []


def test_a_menu_read_before_a_later_save_never_overrides_that_saves_listing(
    catalog: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the listener reads a menu with dishes to list its restaurant, and meanwhile a later
    # save of the menu, without dishes, is stored and listed by another delivery
    get = catalog.store.get

    def later_save_meanwhile(collection: str, key: str) -> Any:
        found = get(collection, key)
        if collection == MENUS and key == "r-5" and found is not None:
            monkeypatch.setattr(catalog.store, "get", get)
            saved = {**found[META], "timestamp": found[META]["timestamp"] + 1}
            catalog.store.put(MENUS, "r-5", {**found, "items": [], META: saved})
            assert list_by_menu(catalog.store, "r-5")
        return found

    monkeypatch.setattr(catalog.store, "get", later_save_meanwhile)

    # WHEN the listener lists the restaurant from what it read
    catalog.menu("r-5", DISHES)

    # THEN the later save's listing stands: no dish, not listed
    assert catalog.call("browse-bff", "GET", "/restaurants/r-5/menu").get_json()["items"] == []
    assert "r-5" not in listed(catalog)


def test_a_redelivered_menu_lists_a_restaurant_the_first_delivery_did_not(
    catalog: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the listener stops after storing the menu, before listing the restaurant
    update = catalog.store.update

    def stop_once(collection: str, key: str, updater: Any) -> Any:
        if collection == RESTAURANTS and key == "r-5":
            monkeypatch.setattr(catalog.store, "update", update)
            raise ConnectionError("the process died here")
        return update(collection, key, updater)

    monkeypatch.setattr(catalog.store, "update", stop_once)

    # WHEN the menu arrives (and is delivered again)
    catalog.menu("r-5", DISHES)

    # THEN the restaurant is listed all the same
    assert "r-5" in listed(catalog)


SOLD_OUT = [{**dish, "available": False} for dish in DISHES]


def orderable(customer: Customer, query: str = "") -> dict[str, bool]:
    """Each listed restaurant's ``orderable``, by id."""
    found = customer.call("browse-bff", "GET", f"/restaurants{query}").get_json()
    return {r["id"]: r["orderable"] for r in found["restaurants"]}


def cart_refused(customer: Customer, rid: str) -> bool:
    """Whether checkout refuses a cart of the restaurant's first dish."""
    cart = {"restaurantId": rid, "items": [{"menuItemId": DISHES[0]["id"], "quantity": 1}]}
    response = customer.call("checkout-bff", "PUT", "/cart", cart)
    assert response.status_code in (200, 422), response.get_json()
    return response.status_code == 422


def test_a_restaurant_with_every_dish_sold_out_is_listed_as_not_orderable(
    catalog: Customer,
) -> None:
    # GIVEN Trattoria Roma sells out of every dish
    catalog.clock.advance(60_000)
    catalog.menu("r-1", SOLD_OUT)

    # THEN it stays listed, where it was (pages do not shift), but not orderable, as a
    # closed one; checkout refuses both, and takes the one that is orderable
    assert orderable(catalog) == {"r-2": False, "r-3": True, "r-1": False}
    assert orderable(catalog, "?open=true") == {"r-3": True, "r-1": False}
    assert catalog.call("browse-bff", "GET", "/restaurants/r-1").get_json()["orderable"] is False
    assert [cart_refused(catalog, rid) for rid in ("r-1", "r-2", "r-3")] == [True, True, False]

    # WHEN a dish is back
    catalog.clock.advance(60_000)
    catalog.menu("r-1", [DISHES[0], *SOLD_OUT[1:]])

    # THEN it is orderable again
    assert orderable(catalog)["r-1"] is True
    assert not cart_refused(catalog, "r-1")


def test_a_restaurant_without_a_menu_is_not_orderable(catalog: Customer) -> None:
    restaurant = catalog.call("browse-bff", "GET", "/restaurants/r-5").get_json()

    assert restaurant["orderable"] is False
    assert cart_refused(catalog, "r-5")


def test_a_sold_out_menu_that_arrives_before_its_restaurant_is_not_orderable(
    customer: Customer,
) -> None:
    customer.menu("r-7", SOLD_OUT)
    customer.restaurant("r-7", name="Early Menu")

    assert orderable(customer) == {"r-7": False}


def test_a_profile_update_keeps_what_the_view_knew_of_available_dishes(
    catalog: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.clock.advance(60_000)
    catalog.menu("r-1", SOLD_OUT)
    monkeypatch.setattr(views, "list_by_menu", lambda store, restaurant_id: False)
    catalog.clock.advance(60_000)
    catalog.restaurant("r-1", name="Trattoria Roma Nuova")

    assert orderable(catalog) == {"r-2": False, "r-3": True, "r-1": False}


def test_a_view_stored_before_it_kept_available_dishes_learns_them_from_its_menu(
    catalog: Customer,
) -> None:
    # GIVEN a sold-out menu (as Restaurant publishes it: counted), and the restaurant's view
    # as the version before stored it
    menu = MenuUpdated.model_validate({"restaurantId": "r-1", "items": SOLD_OUT, "revision": 4})
    catalog.receive("restaurant", menu, "r-1", timestamp=catalog.clock.now_ms() + 1)
    view = catalog.doc(RESTAURANTS, "r-1")
    del view[DISH_AVAILABLE]
    catalog.store.put(RESTAURANTS, "r-1", view)
    assert orderable(catalog)["r-1"] is True  # as that version told it

    # WHEN the same menu is delivered again (or the migration runs)
    assert list_by_menu(catalog.store, "r-1")

    # THEN the view learns no dish is available
    assert orderable(catalog)["r-1"] is False
    assert not list_by_menu(catalog.store, "r-1")  # and a second time changes nothing


def test_the_latest_update_wins_and_a_redelivered_one_changes_nothing(catalog: Customer) -> None:
    catalog.clock.advance(60_000)
    closed = catalog.restaurant("r-1", name="Trattoria Roma", open=False)
    catalog.send("restaurant", closed)

    assert names(catalog.call("browse-bff", "GET", "/restaurants?open=true")) == ["Pasta Bar"]
    assert catalog.doc("catalog-restaurants", "r-1")["open"] is False


def test_a_cuisine_published_in_mixed_case_is_found_by_its_filter(catalog: Customer) -> None:
    # saved before Restaurant kept cuisines in lower case, and published again as it was
    catalog.restaurant("r-4", name="Sushi Bar", cuisine=" Japanese ")
    catalog.menu("r-4", DISHES)

    found = catalog.call("browse-bff", "GET", "/restaurants?cuisine=japanese").get_json()

    assert [(r["id"], r["cuisine"]) for r in found["restaurants"]] == [("r-4", "japanese")]
    assert names(catalog.call("browse-bff", "GET", "/restaurants?cuisine=JAPANESE")) == [
        "Sushi Bar"
    ]


def test_an_update_on_the_bus_from_before_cuisines_were_normalised_is_found_too(
    catalog: Customer,
) -> None:
    # an event the ingress emitted before it normalised, replayed (a fault resubmitted)
    body = {"id": "r-4", "name": "Sushi Bar", "cuisine": "Japanese", "address": ADDRESS}
    old = new_event(
        "restaurant-updated",
        "restaurant",
        {**body, "open": True, "deliveryRadiusM": None},
        partition_key="r-4",
        timestamp=catalog.clock.now_ms(),
    )
    catalog.send("customer", old)
    catalog.menu("r-4", DISHES)

    assert names(catalog.call("browse-bff", "GET", "/restaurants?cuisine=japanese")) == [
        "Sushi Bar"
    ]


def test_only_customers_may_browse(catalog: Customer) -> None:
    assert catalog.call("browse-bff", "GET", "/restaurants", subject=None).status_code == 401
    driver = catalog.call("browse-bff", "GET", "/restaurants", subject="dan", actor="driver")
    assert driver.status_code == 403


# -- pages ------------------------------------------------------------------------------

FAR = {**ADDRESS, "street": "Am Neuen Markt 1", "city": "Potsdam", "lat": 52.3989, "lng": 13.0657}
"""An address ~26 km from ``ADDRESS``: a restaurant there with a 5 km radius does not
deliver to ``ADDRESS``."""
HERE = f"{ADDRESS['lat']},{ADDRESS['lng']}"
CITY = [  # id, name, cuisine, open, address; published out of order on purpose
    ("r-1", "Trattoria Roma", "italian", True, FAR),
    ("p-3", "Pizza Pronto", "pizza", True, ADDRESS),
    ("z-1", "Zaika", "indian", True, ADDRESS),
    ("p-1", "Pizza Pronto", "pizza", True, FAR),
    ("r-2", "Curry House", "indian", False, ADDRESS),
    ("p-4", "Pizza Pronto", "pizza", False, ADDRESS),
    ("b-1", "Bao Bar", "chinese", True, ADDRESS),
    ("p-2", "Pizza Pronto", "pizza", True, ADDRESS),
    ("r-3", "Pasta Bar", "italian", True, ADDRESS),
]


@pytest.fixture
def city(customer: Customer) -> Customer:
    for rid, name, cuisine, is_open, address in CITY:
        customer.restaurant(rid, name=name, cuisine=cuisine, open=is_open, address=address)
        customer.menu(rid, DISHES)
    return customer


def pages(customer: Customer, query: str, limit: int) -> list[list[str]]:
    """The ids on each page of ``GET /restaurants?<query>&limit=<limit>``, following ``next``."""
    first = f"/restaurants?limit={limit}" + (f"&{query}" if query else "")
    found: list[list[str]] = []
    after = ""
    for _ in range(50):
        response = customer.call("browse-bff", "GET", first + after)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        found.append([r["id"] for r in body["restaurants"]])
        if body["next"] is None:
            return found
        after = f"&after={body['next']}"
    raise AssertionError(f"no last page after 50: {found}")


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 9])
def test_pages_list_every_restaurant_once_by_name_then_id(city: Customer, limit: int) -> None:
    """Limit 2 and 4 cut inside the run of four "Pizza Pronto", 3 just before it."""
    everyone = ["b-1", "r-2", "r-3", "p-1", "p-2", "p-3", "p-4", "r-1", "z-1"]

    listed = pages(city, "", limit)

    assert [rid for page in listed for rid in page] == everyone
    assert [len(page) for page in listed[:-1]] == [limit] * (len(listed) - 1)
    assert len(listed) == -(-len(everyone) // limit)  # no empty last page after a full one


def test_pages_go_on_past_a_restaurant_without_a_name(city: Customer) -> None:
    # Restaurant's contract lets a name be empty (its own profile API never sends one); the
    # list's token for the place after it must still be one the list takes back
    city.restaurant("a-0", name="", cuisine="thai", open=True, address=ADDRESS)
    city.menu("a-0", DISHES)

    listed = pages(city, "", 1)

    assert [rid for page in listed for rid in page][:2] == ["a-0", "b-1"]
    assert len(listed) == len(CITY) + 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cuisine=pizza", ["p-1", "p-2", "p-3", "p-4"]),
        ("open=true", ["b-1", "r-3", "p-1", "p-2", "p-3", "r-1", "z-1"]),
        (f"deliversTo={HERE}", ["b-1", "r-2", "r-3", "p-2", "p-3", "p-4", "z-1"]),
        (f"deliversTo={HERE}&open=true", ["b-1", "r-3", "p-2", "p-3", "z-1"]),
        (f"deliversTo={HERE}&cuisine=pizza&open=false", ["p-4"]),
    ],
)
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_filtered_pages_hold_every_match_once_and_are_full_until_the_last(
    city: Customer, query: str, expected: list[str], limit: int
) -> None:
    listed = pages(city, query, limit)

    assert [rid for page in listed for rid in page] == expected
    assert [len(page) for page in listed[:-1]] == [limit] * (len(listed) - 1)
    assert len(listed) == max(1, -(-len(expected) // limit))


UNLISTED = [("a-0", "Aioli"), ("p-0", "Pizza Pronto"), ("p-9", "Pizza Pronto"), ("y-0", "Yam")]
"""Restaurants whose menus have not arrived, named before, among and after the listed ones."""


@pytest.mark.parametrize("query", ["", "cuisine=pizza", f"deliversTo={HERE}&open=true"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_leave_out_restaurants_without_a_menu_and_stay_full(
    city: Customer, query: str, limit: int
) -> None:
    expected = [rid for page in pages(city, query, limit) for rid in page]
    for rid, name in UNLISTED:
        city.restaurant(rid, name=name, cuisine="pizza", address=ADDRESS)

    listed = pages(city, query, limit)

    assert [rid for page in listed for rid in page] == expected
    assert [len(page) for page in listed[:-1]] == [limit] * (len(listed) - 1)
    assert len(listed) == max(1, -(-len(expected) // limit))


@pytest.mark.parametrize(
    "long_name",
    ["A" * 1600, "Ä" * 1600, "東京" * 700, "Pizza " * 100 + "Aioli"],
    ids=["ascii", "accented", "cjk", "two-sharing-a-prefix"],
)
def test_pages_go_on_past_a_restaurant_with_a_very_long_name(
    customer: Customer, long_name: str
) -> None:
    # Restaurant's contract does not bound a name (its own profile API takes 100
    # characters); the token of the place after a long one must still be one the list
    # takes back, and no restaurant be listed twice or skipped
    others = [("l-2", "Pizza " * 100 + "Zaika"), ("b-1", "Bao"), ("z-1", "龍")]  # 龍: last
    for rid, name in [("l-1", long_name), *others]:
        customer.restaurant(rid, name=name)
        customer.menu(rid, DISHES)

    listed = pages(customer, "", 1)

    assert sorted(rid for page in listed for rid in page) == ["b-1", "l-1", "l-2", "z-1"]
    assert len(listed) == 4


@pytest.fixture
def spelt_freely(customer: Customer) -> Customer:
    """Names a reader sorts case and accents aside; two share a sort name (b-1, b-2)."""
    for rid, name in [
        ("z-1", "Zaika"),
        ("b-2", "Bao  Bar"),
        ("o-1", "Öz Kebap"),
        ("c-1", "curry"),
        ("b-1", "bao bar"),
        ("a-1", "Ämbar"),
        ("e-1", "Éclair"),
    ]:
        customer.restaurant(rid, name=name, cuisine="street food" if rid < "c" else "other")
        customer.menu(rid, DISHES)
    return customer


@pytest.mark.parametrize("limit", [1, 2, 7])
def test_the_list_orders_names_as_a_reader_does_case_and_accents_aside(
    spelt_freely: Customer, limit: int
) -> None:
    """By code point it was Bao  Bar, Zaika, bao bar, curry, Ämbar, Éclair, Öz Kebap."""
    listed = pages(spelt_freely, "", limit)

    assert [rid for page in listed for rid in page] == [
        "a-1",
        "b-1",
        "b-2",
        "c-1",
        "e-1",
        "o-1",
        "z-1",
    ]


def test_a_filtered_list_orders_names_as_a_reader_does(spelt_freely: Customer) -> None:
    assert pages(spelt_freely, "cuisine=street+food&open=true", 1) == [["a-1"], ["b-1"], ["b-2"]]


@pytest.mark.parametrize(
    ("name", "sorted_as"),
    [
        ("Öz  Kebap", "oz kebap"),
        (" Straße\t33 ", "strasse 33"),
        ("\uff30\uff49\uff5a\uff5a\uff41", "pizza"),  # full-width letters
        ("Crème Brûlée", "creme brulee"),
        ("東京 Sushi", "東京 sushi"),
        ("Ä" * 300, "a" * 200),  # only the first 200 characters count
    ],
)
def test_a_sort_name_drops_accents_case_and_extra_blanks(name: str, sorted_as: str) -> None:
    assert sort_name(name) == sorted_as


def test_a_sort_name_is_cut_to_what_the_store_can_seek() -> None:
    ligature = "\ufdfa"  # one character, 18 once decomposed, 2 bytes each
    spelt_out = "صلى الله عليه وسلم"

    cut = sort_name(ligature * 150)

    assert len(cut.encode()) <= SORT_NAME_BYTES < len((spelt_out * 150).encode())
    assert (spelt_out * 150).startswith(cut)
    assert cut.startswith(spelt_out * 20)


def test_a_page_starts_where_the_last_one_stopped_though_that_restaurant_changed(
    city: Customer,
) -> None:
    first = city.call("browse-bff", "GET", "/restaurants?limit=4").get_json()
    assert [r["id"] for r in first["restaurants"]] == ["b-1", "r-2", "r-3", "p-1"]
    city.clock.advance(60_000)
    city.restaurant("p-1", name="Aioli", cuisine="pizza", address=FAR)  # moves to the front

    second = city.call("browse-bff", "GET", f"/restaurants?limit=4&after={first['next']}")

    assert [r["id"] for r in second.get_json()["restaurants"]] == ["p-2", "p-3", "p-4", "r-1"]


def far_away_restaurants(customer: Customer, count: int) -> None:
    """``count`` restaurants named ``Far 0000``... that do not deliver to ``ADDRESS``, and
    ``Zur Post`` after them by name, which does (stored directly, as the view stores them:
    publishing is slower)."""
    for n in range(count):
        rid = f"f-{n:04d}"
        doc = {"id": rid, "name": f"Far {n:04d}", "cuisine": "pizza", "address": FAR}
        customer.store.put(RESTAURANTS, rid, viewed({**doc, "open": True, "deliveryRadiusM": 5000}))
    post = {"id": "z-9", "name": "Zur Post", "cuisine": "german", "address": ADDRESS}
    customer.store.put(RESTAURANTS, "z-9", viewed({**post, "open": True, "deliveryRadiusM": 5000}))


def viewed(restaurant: dict[str, Any]) -> dict[str, Any]:
    """A restaurant's view document as the browse view stores it, its menu known."""
    return {**restaurant, SORT_FIELD: sort_name(restaurant["name"]), HAS_MENU: True}


def test_delivers_to_reads_a_bounded_number_per_request_and_a_short_page_is_not_the_last(
    customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    far = SCAN_BUDGET + 200
    far_away_restaurants(customer, far)
    read: list[int] = []
    query = customer.store.query

    def counted(collection: str, *args: Any, **kwargs: Any) -> Any:
        found = query(collection, *args, **kwargs)
        if collection == RESTAURANTS:
            read[-1] += len(found)
        return found

    monkeypatch.setattr(customer.store, "query", counted)

    read.append(0)
    first = customer.call("browse-bff", "GET", f"/restaurants?deliversTo={HERE}").get_json()
    read.append(0)
    url = f"/restaurants?deliversTo={HERE}&after={first['next']}"
    second = customer.call("browse-bff", "GET", url).get_json()

    assert first["restaurants"] == []
    assert first["next"] is not None
    assert [r["name"] for r in second["restaurants"]] == ["Zur Post"]
    assert second["next"] is None
    # each query for the rest of a name's run also reads the document it continues from
    assert SCAN_BUDGET <= read[0] <= SCAN_BUDGET + 8
    assert far - SCAN_BUDGET + 1 <= read[1] <= far - SCAN_BUDGET + 1 + 8


def test_a_page_holds_twenty_unless_limited_and_at_most_a_hundred(customer: Customer) -> None:
    far_away_restaurants(customer, 120)

    default = customer.call("browse-bff", "GET", "/restaurants").get_json()
    most = customer.call("browse-bff", "GET", "/restaurants?limit=100").get_json()

    assert len(default["restaurants"]) == 20
    assert len(most["restaurants"]) == 100
    assert default["next"] is not None
    assert most["next"] is not None


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "Input should be greater than or equal to 1"),
        ("101", "Input should be less than or equal to 100"),
        ("many", "Input should be a whole number in digits"),
    ],
)
def test_a_limit_out_of_bounds_is_refused(catalog: Customer, limit: str, message: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?limit={limit}")

    assert response.status_code == 400
    assert response.get_json()["fields"] == {"limit": message}


def token(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "not a token!",
        "%FF%FE",
        token(b"\xff\xfe"),  # not UTF-8
        token(b"{'name'"),  # not JSON
        token(b'{"name": "Bao Bar", "id": "b-1"}'),
        token(b'["Bao Bar"]'),
        token(b'["Bao Bar", 1]'),
        token(b'["Bao Bar", ""]'),  # no restaurant has an empty id
        token(b'["Bao Bar", "b-1", "x"]'),
        token(b"[" * 3000),  # deeper than the JSON decoder goes
        token(b'["\\ud800", "b-1"]'),  # a lone surrogate: no text a name can hold
        token(b'["' + b"x" * 1600 + b'", "b-1"]'),  # longer than a query may compare
        "A" * 4097,
    ],
)
def test_a_malformed_page_token_is_refused(catalog: Customer, after: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?after={after}")

    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert list(fields) == ["after"]
    # Only a token past 4096 characters is refused for its length, before it is read.
    assert ("at most 4096" if len(after) > 4096 else "page token") in fields["after"]


def test_a_page_token_is_read_once_per_request(
    catalog: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = catalog.call("browse-bff", "GET", "/restaurants?limit=1").get_json()
    decode = paging.decode_token
    reads: list[str] = []

    def counted(token: str, size: int) -> list[Any]:
        reads.append(token)
        return decode(token, size)

    monkeypatch.setattr(paging, "decode_token", counted)

    second = catalog.call("browse-bff", "GET", f"/restaurants?limit=1&after={first['next']}")

    assert names(second) == ["Pasta Bar"]
    assert reads == [first["next"]]


@pytest.mark.parametrize("unknown", ["page=2", "before=1767225600000", "offset=20", "Limit=5"])
def test_a_parameter_of_another_paging_scheme_is_refused(catalog: Customer, unknown: str) -> None:
    response = catalog.call("browse-bff", "GET", f"/restaurants?limit=2&{unknown}")

    assert response.status_code == 400
    assert list(response.get_json()["fields"]) == [unknown.split("=")[0]]
