"""catalog-esg: publishes the restaurants' profiles and menus to the other subsystems."""

from __future__ import annotations

from restaurant.catalog_esg.egress import publish_catalog
from restaurant.contracts import MenuUpdated, RestaurantUpdated
from restaurant.events import MENU_UPDATED, RESTAURANT_UPDATED
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind

SERVICE = Service(
    "catalog-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "egress",
            Role.EGRESS,
            Channel(on_types(RESTAURANT_UPDATED, MENU_UPDATED)),
            handlers=(publish_catalog,),
            publishes=(RestaurantUpdated.TYPE, MenuUpdated.TYPE),
        ),
    ),
    description="Egress of restaurant.restaurant-updated and restaurant.menu-updated.",
)
