"""browse-bff: customers browse restaurants and menus, fed by Restaurant's events."""

from __future__ import annotations

from customer.browse_bff.api import http_app
from customer.browse_bff.views import VIEW_OF, refresh_catalog
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Endpoint, Role, Service, ServiceKind

SERVICE = Service(
    "browse-bff",
    ServiceKind.BFF,
    (
        Consumer(
            "listener", Role.LISTENER, Channel(on_types(*VIEW_OF)), handlers=(refresh_catalog,)
        ),
        Endpoint("api", Role.API, app=http_app),
    ),
    description="Restaurants and menus for customers, fed by restaurant events.",
)
