"""The browse BFF's HTTP API: customers find restaurants and read their menus."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flask

from customer.browse_bff.listing import HAS_MENU, orderable
from customer.browse_bff.models import (
    MENUS,
    RESTAURANTS,
    Menu,
    Restaurant,
    RestaurantList,
    RestaurantQuery,
)
from customer.browse_bff.pages import by_name
from shared.api import HttpApi, HttpError, echoed
from shared.geo import distance_m
from shared.stores import Where

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.auth import Principal
    from shared.stores import Doc


def http_app(ports: CustomerPorts) -> flask.Flask:
    """The Flask app serving the catalog routes."""
    api = HttpApi("Customer browse", ports.verifier, store=ports.store)
    store = ports.store

    @api.route(
        "GET", "/restaurants", actors={"customer"}, response=RestaurantList, query=RestaurantQuery
    )
    def list_restaurants(caller: Principal, query: RestaurantQuery) -> RestaurantList:
        """Restaurants with a dish on their menu, by name (case and accents aside), a page at
        a time (``?limit=``, ``?after=`` the ``next`` of the page before), filtered by
        ``?cuisine=``, ``?open=true|false`` and ``?deliversTo=<lat>,<lng>`` (those whose
        delivery radius reaches it). A restaurant whose menu has not arrived yet, or lists no
        dish, is left out: there is nothing to order from it. One closed, or whose dishes are
        all sold out, is listed, not ``orderable``."""
        equal = {"cuisine": query.cuisine, "open": query.open, HAS_MENU: True}
        where = [Where(name, "==", value) for name, value in equal.items() if value is not None]
        point = query.point()
        keep = None if point is None else lambda r: delivers_to(r, point)
        page = by_name(store, RESTAURANTS, where, query.limit, query.position(), keep)
        return RestaurantList(
            restaurants=[_restaurant(d.data) for d in page.documents],
            next=None if page.next is None else page.next.token(),
        )

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}",
        actors={"customer"},
        response=Restaurant,
        refusals={404: "no such restaurant"},
    )
    def get_restaurant(caller: Principal, restaurant_id: str) -> Restaurant:
        """One restaurant's profile (also one not listed: its menu has no dish)."""
        doc = store.get(RESTAURANTS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"no restaurant {echoed(restaurant_id)}")
        return _restaurant(doc)

    @api.route(
        "GET",
        "/restaurants/{restaurant_id}/menu",
        actors={"customer"},
        response=Menu,
        refusals={404: "the restaurant has no menu"},
    )
    def get_menu(caller: Principal, restaurant_id: str) -> Menu:
        """One restaurant's menu."""
        doc = store.get(MENUS, restaurant_id)
        if doc is None:
            raise HttpError(404, f"restaurant {echoed(restaurant_id)} has no menu")
        return Menu.model_validate(doc)

    return api.flask_app()


def _restaurant(view: Doc) -> Restaurant:
    return Restaurant.model_validate({**view, "orderable": orderable(view)})


def delivers_to(restaurant: Doc, point: dict[str, float]) -> bool:
    """Whether ``point`` lies within the restaurant's delivery radius (none said: anywhere)."""
    radius = restaurant.get("deliveryRadiusM")
    return radius is None or distance_m(restaurant["address"], point) <= radius
