"""restaurant-esg: takes Restaurant's restaurant and menu updates into the customer subsystem."""

from __future__ import annotations

from customer.restaurant_esg.ingress import MENU_UPDATED, RESTAURANT_UPDATED, receive
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Topic

SERVICE = Service(
    "restaurant-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "ingress",
            Role.INGRESS,
            Channel(
                on_types(RESTAURANT_UPDATED, MENU_UPDATED, **{SCHEMA_VERSION_TAG: "1"}),
                topic=Topic.EXTERNAL,
                subsystem="restaurant",
            ),
            handlers=(receive,),
        ),
    ),
    description="Ingress of restaurant.restaurant-updated and restaurant.menu-updated.",
)
