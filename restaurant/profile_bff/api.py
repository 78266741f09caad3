"""The profile BFF's HTTP API: staff keep their restaurant's profile and menu."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restaurant.profile_bff.models import (
    MENUS,
    RESTAURANTS,
    Menu,
    MenuView,
    Profile,
    ProfileView,
)
from restaurant.profile_bff.rules import menu_problems
from shared.api import HttpApi, HttpError
from shared.stores.revisions import content_of, counted

if TYPE_CHECKING:
    import flask

    from restaurant.ports import RestaurantPorts
    from shared.auth import Principal


def http_app(ports: RestaurantPorts) -> flask.Flask:
    """The Flask app serving the profile and menu routes."""
    api = HttpApi("Restaurant profile", ports.verifier, store=ports.store)
    store = ports.store

    @api.route(
        "PUT", "/restaurants/{restaurant_id}", actors={"staff"}, body=Profile, response=ProfileView
    )
    def put_profile(caller: Principal, body: Profile, restaurant_id: str) -> ProfileView:
        """Create or replace the restaurant's profile."""
        _require_staff_of(caller, restaurant_id)
        profile = ProfileView.model_validate({**body.model_dump(), "id": restaurant_id})
        saved = profile.model_dump(mode="json", by_alias=True)
        store.update(RESTAURANTS, restaurant_id, counted(lambda _: saved))
        return profile

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}",
        actors={"staff"},
        response=ProfileView,
        refusals={404: "no profile yet"},
    )
    def get_profile(caller: Principal, restaurant_id: str) -> ProfileView:
        """Read the restaurant's profile."""
        _require_staff_of(caller, restaurant_id)
        doc = store.get(RESTAURANTS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"restaurant {restaurant_id} has no profile yet")
        return ProfileView.model_validate(content_of(doc))

    @api.route(
        "PUT", "/restaurants/{restaurant_id}/menu", actors={"staff"}, body=Menu, response=MenuView
    )
    def put_menu(caller: Principal, body: Menu, restaurant_id: str) -> MenuView:
        """Replace the restaurant's whole menu."""
        _require_staff_of(caller, restaurant_id)
        problems = menu_problems(body)
        if problems:
            details = "; ".join(f"{field}: {problem}" for field, problem in problems.items())
            raise HttpError(400, f"invalid request: {details}", problems)
        if store.get(RESTAURANTS, restaurant_id) is None:
            raise HttpError(
                409, f"restaurant {restaurant_id} has no profile yet: PUT it before its menu"
            )
        menu = MenuView.model_validate({**body.model_dump(), "restaurant_id": restaurant_id})
        saved = menu.model_dump(mode="json", by_alias=True)
        store.update(MENUS, restaurant_id, counted(lambda _: saved))
        return menu

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}/menu",
        actors={"staff"},
        response=MenuView,
        refusals={404: "no menu yet"},
    )
    def get_menu(caller: Principal, restaurant_id: str) -> MenuView:
        """Read the restaurant's menu."""
        _require_staff_of(caller, restaurant_id)
        doc = store.get(MENUS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"restaurant {restaurant_id} has no menu yet")
        return MenuView.model_validate(content_of(doc))

    return api.flask_app()


def _require_staff_of(caller: Principal, restaurant_id: str) -> None:
    if caller.restaurant != restaurant_id:
        raise HttpError(
            403, f"staff of restaurant {caller.restaurant} may not manage {restaurant_id}"
        )
