"""profile-bff: staff manage their restaurant's profile and menu; changes become events."""

from __future__ import annotations

from restaurant.profile_bff.api import http_app
from restaurant.profile_bff.models import MENUS, RESTAURANTS
from restaurant.profile_bff.trigger import announce_menu, announce_profile
from shared.topology import Endpoint, Role, Service, ServiceKind, Trigger

SERVICE = Service(
    "profile-bff",
    ServiceKind.BFF,
    (
        Endpoint("api", Role.API, app=http_app),
        Trigger(
            "profile-trigger", Role.TRIGGER, collection=RESTAURANTS, handlers=(announce_profile,)
        ),
        Trigger("menu-trigger", Role.TRIGGER, collection=MENUS, handlers=(announce_menu,)),
    ),
    description="Staff manage their restaurant's profile and menu (validated).",
)
