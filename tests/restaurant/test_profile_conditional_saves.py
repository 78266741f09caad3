"""profile-bff: saves conditional on the profile or menu as read (``ETag`` / ``If-Match``), as
the kitchen's answers are, so that two staff editing the menu at once cannot undo each other."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import pytest

from restaurant.contracts import MenuUpdated, RestaurantUpdated
from restaurant.profile_bff.models import MENUS, RESTAURANTS
from tests.problems import refusal
from tests.restaurant.conftest import MENU_ITEMS, PROFILE, Restaurant

if TYPE_CHECKING:
    from werkzeug.test import TestResponse

    from shared.stores import Doc

PROFILE_PATH = "/restaurants/r-1"
MENU_PATH = "/restaurants/r-1/menu"


def put(
    restaurant: Restaurant, path: str, body: dict[str, Any], tag: str | None = None
) -> TestResponse:
    conditional = {} if tag is None else {"If-Match": tag}
    return restaurant.client("profile-bff").put(
        path, json=body, headers={**restaurant.staff(), **conditional}
    )


def read(restaurant: Restaurant, path: str) -> TestResponse:
    return restaurant.client("profile-bff").get(path, headers=restaurant.staff())


def menu_with(index: int, **changes: Any) -> dict[str, Any]:
    items = copy.deepcopy(MENU_ITEMS)
    items[index].update(changes)
    return {"items": items}


def stored(restaurant: Restaurant, collection: str) -> Doc | None:
    return restaurant.store.get(collection, "r-1")


@pytest.fixture
def menu(restaurant: Restaurant) -> Restaurant:
    """Restaurant r-1 with its profile and menu saved once each (revision 1)."""
    assert put(restaurant, PROFILE_PATH, PROFILE).status_code == 200
    assert put(restaurant, MENU_PATH, {"items": MENU_ITEMS}).status_code == 200
    return restaurant


def test_profile_and_menu_are_answered_with_their_revision_as_etag(menu: Restaurant) -> None:
    assert read(menu, PROFILE_PATH).headers["ETag"] == '"1"'
    assert read(menu, MENU_PATH).headers["ETag"] == '"1"'
    saved = put(menu, MENU_PATH, menu_with(0, available=False))
    assert (saved.headers["ETag"], saved.get_json()["revision"]) == ('"2"', 2)


def test_a_menu_edit_made_from_a_copy_a_colleague_saved_over_is_412_and_changes_nothing(
    menu: Restaurant,
) -> None:
    tag = read(menu, MENU_PATH).headers["ETag"]  # both staff read the menu at "1"
    sold_out = put(menu, MENU_PATH, menu_with(0, available=False), tag)
    assert (sold_out.status_code, sold_out.headers["ETag"]) == (200, '"2"')
    before = stored(menu, MENUS)

    repriced = put(menu, MENU_PATH, menu_with(1, price=700), tag)  # from the copy at "1"

    assert repriced.status_code == 412
    assert refusal(repriced) == {
        "error": "the menu was saved since the revision If-Match names (it is at revision 2, "
        'ETag "2"): nothing was saved: read it again and make the change to it'
    }
    assert stored(menu, MENUS) == before
    menu.system.run_until_quiet()
    told = [e.body["items"][0]["available"] for e in menu.external(MenuUpdated.TYPE)]
    assert told == [True, False]  # the sold-out dish is not put back on sale


def test_a_profile_edit_made_from_an_older_copy_is_412(menu: Restaurant) -> None:
    closed = put(menu, PROFILE_PATH, {**PROFILE, "open": False}, '"1"')
    assert closed.status_code == 200
    stale = put(menu, PROFILE_PATH, {**PROFILE, "name": "Roma"}, '"1"')
    assert stale.status_code == 412
    assert read(menu, PROFILE_PATH).get_json()["name"] == PROFILE["name"]
    assert put(menu, PROFILE_PATH, {**PROFILE, "name": "Roma"}, '"2", "3"').status_code == 200


def test_a_profile_saved_before_saves_were_counted_can_be_saved_only_as_read(
    restaurant: Restaurant,
) -> None:
    """Its ``revision`` is null, which no body can name: its ``ETag`` is "0"."""
    restaurant.store.put(RESTAURANTS, "r-1", {**PROFILE, "id": "r-1"})
    shown = read(restaurant, PROFILE_PATH)
    assert (shown.get_json()["revision"], shown.headers["ETag"]) == (None, '"0"')

    closed = put(restaurant, PROFILE_PATH, {**PROFILE, "open": False}, '"0"')
    renamed = put(restaurant, PROFILE_PATH, {**PROFILE, "name": "Roma"}, '"0"')  # same copy

    assert (closed.status_code, closed.get_json()["revision"]) == (200, 1)
    assert renamed.status_code == 412
    assert stored(restaurant, RESTAURANTS) == {**PROFILE, "id": "r-1", "open": False, "revision": 1}


def test_a_menu_saved_before_saves_were_counted_can_be_saved_only_as_read(
    menu: Restaurant,
) -> None:
    menu.store.put(MENUS, "r-1", {"restaurantId": "r-1", "items": MENU_ITEMS})
    assert read(menu, MENU_PATH).headers["ETag"] == '"0"'
    assert put(menu, MENU_PATH, menu_with(0, available=False), '"0"').status_code == 200
    assert put(menu, MENU_PATH, menu_with(1, price=700), '"0"').status_code == 412
    assert stored(menu, MENUS) == {
        "restaurantId": "r-1",
        "items": menu_with(0, available=False)["items"],
        "revision": 1,
    }


@pytest.mark.parametrize("tag", ['"0"', "*"])
def test_if_match_on_a_profile_not_saved_yet_is_412_and_saves_nothing(
    restaurant: Restaurant, tag: str
) -> None:
    refused = put(restaurant, PROFILE_PATH, PROFILE, tag)
    assert refused.status_code == 412
    assert "no profile yet" in refused.get_json()["error"]
    assert stored(restaurant, RESTAURANTS) is None


def test_the_same_edit_sent_again_after_a_lost_answer_is_200_whatever_if_match_says(
    menu: Restaurant,
) -> None:
    edit = menu_with(0, available=False)
    answers = [put(menu, MENU_PATH, edit, '"1"') for _ in "12"]
    assert [(a.status_code, a.headers["ETag"]) for a in answers] == [(200, '"2"'), (200, '"2"')]
    menu.system.run_until_quiet()
    assert [e.body["revision"] for e in menu.external(MenuUpdated.TYPE)] == [1, 2]


def test_if_match_and_the_body_revision_must_both_hold(menu: Restaurant) -> None:
    stale_body = put(menu, PROFILE_PATH, {**PROFILE, "open": False, "revision": 0}, '"1"')
    stale_tag = put(menu, PROFILE_PATH, {**PROFILE, "open": False, "revision": 1}, '"0"')
    assert (stale_body.status_code, stale_tag.status_code) == (409, 412)
    menu.system.run_until_quiet()
    assert [e.body["revision"] for e in menu.external(RestaurantUpdated.TYPE)] == [1]


def test_the_api_documents_if_match_on_its_saves_and_etag_on_its_answers(
    restaurant: Restaurant,
) -> None:
    paths = restaurant.client("profile-bff").get("/openapi.json").get_json()["paths"]
    for path in ("/restaurants/{restaurant_id}", "/restaurants/{restaurant_id}/menu"):
        saves = paths[path]["put"]
        assert "If-Match" in [parameter["name"] for parameter in saves["parameters"]]
        assert "412" in saves["responses"]
        for operation in ("get", "put"):
            assert "ETag" in paths[path][operation]["responses"]["200"]["headers"]


def test_an_edit_naming_a_revision_of_a_profile_saved_before_saves_were_counted_says_so(
    restaurant: Restaurant,
) -> None:
    """Such a profile has no revision: the 409 says why, not "revision null"."""
    restaurant.store.put(RESTAURANTS, "r-1", {**PROFILE, "id": "r-1"})

    refused = put(restaurant, PROFILE_PATH, {**PROFILE, "open": False, "revision": 3})

    assert refused.status_code == 409
    assert refusal(refused) == {
        "error": "the profile was saved before saves were counted, so it has no revision 3 "
        '(its ETag is "0"): read it again and make the change to it',
        "fields": {
            "revision": "the stored profile has none (saved before saves were counted), not 3"
        },
    }
    assert stored(restaurant, RESTAURANTS) == {**PROFILE, "id": "r-1"}


def test_an_edit_naming_a_revision_of_a_menu_not_saved_yet_says_there_is_none(
    menu: Restaurant,
) -> None:
    menu.store.delete(MENUS, "r-1")

    refused = put(menu, MENU_PATH, {"items": MENU_ITEMS, "revision": 2})

    assert refused.status_code == 409
    assert refusal(refused) == {
        "error": "there is no menu yet, though the edit names revision 2: send revision 0, "
        "or none, to save the first one",
        "fields": {"revision": "is 0 (no menu saved yet), not 2"},
    }
    assert stored(menu, MENUS) is None
