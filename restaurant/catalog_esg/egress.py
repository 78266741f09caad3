"""Publish the catalog: profiles and menus leave as the published contracts, nothing more.

Each carries the ``revision`` profile-bff saved it with (none when the change was
announced before saves were counted), so readers order two saves of one millisecond, and
a profile's cuisine in lower case, as the contract says, however old its save.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from restaurant.contracts import Address, MenuItem, MenuUpdated, RestaurantUpdated
from restaurant.events import MENU_UPDATED, RESTAURANT_UPDATED
from shared.contracts import Contract, publish

if TYPE_CHECKING:
    from restaurant.ports import RestaurantPorts
    from shared.envelope import Envelope, Json
    from shared.runtime.context import Context


def publish_catalog(event: Envelope, ctx: Context[RestaurantPorts]) -> None:
    """Publish ``restaurant-updated`` / ``menu-updated`` as their external contracts."""
    publish(ctx, _CONTRACTS[event.type](event.body))


def _restaurant(body: Json) -> RestaurantUpdated:
    address = body["address"]
    return RestaurantUpdated(
        id=body["id"],
        name=body["name"],
        # A profile saved before profile-bff lower-cased cuisines keeps its own spelling.
        cuisine=body["cuisine"].lower(),
        address=Address(
            street=address["street"],
            city=address["city"],
            postcode=address["postcode"],
            lat=address["lat"],
            lng=address["lng"],
        ),
        open=body["open"],
        ordering=body["ordering"],
        delivery_radius_m=body.get("deliveryRadiusM"),
        revision=body.get("revision"),
    )


def _menu(body: Json) -> MenuUpdated:
    return MenuUpdated(
        restaurant_id=body["restaurantId"],
        items=[
            MenuItem(
                id=item["id"],
                name=item["name"],
                description=item["description"],
                price=item["price"],
                currency=item["currency"],
                available=item["available"],
            )
            for item in body["items"]
        ],
        revision=body.get("revision"),
    )


_CONTRACTS: dict[str, Callable[[Json], Contract]] = {
    RESTAURANT_UPDATED: _restaurant,
    MENU_UPDATED: _menu,
}
