"""The restaurant subsystem's declaration: its services, and the app the kit runs."""

from __future__ import annotations

from restaurant import catalog_esg, kitchen_bff, order_esg, profile_bff
from restaurant.contracts import PUBLISHED
from restaurant.kitchen_bff.listener import LEFT_TO_POS
from restaurant.kitchen_bff.migrations import MIGRATIONS as KITCHEN_MIGRATIONS
from restaurant.kitchen_bff.models import TICKETS
from restaurant.migrations import MIGRATIONS as RETENTION_MIGRATIONS
from restaurant.order_esg.pickups import HEARD
from restaurant.ports import bootstrap
from restaurant.profile_bff.migrations import MIGRATIONS as PROFILE_MIGRATIONS
from shared.runtime.app import SubsystemApp
from shared.topology import Index, Subsystem

TOPOLOGY = Subsystem(
    name="restaurant",
    services=(profile_bff.SERVICE, catalog_esg.SERVICE, kitchen_bff.SERVICE, order_esg.SERVICE),
    description=(
        "Restaurant staff keep their profile and menu and work through the kitchen's order queue."
    ),
    indexes=(
        Index("tickets", ("restaurantId", "status", "queuedAt")),  # the queue
        Index("tickets", ("restaurantId", "status", "finishedAt desc")),  # the history
        Index("tickets", ("status", "answerBy")),  # kitchen-bff's lapse schedule: new,
        Index("tickets", ("status", "answerBy", "queuedAt")),  # new without answerBy,
        Index("tickets", ("status", "queuedAt")),  # and accepted or ready
    ),
    # Notes and markers of orders the kitchen keeps no ticket of (restaurant.retention).
    ttl_collections=(HEARD, LEFT_TO_POS, TICKETS),
)

APP = SubsystemApp(
    TOPOLOGY,
    bootstrap,
    contracts=PUBLISHED,
    migrations=(*PROFILE_MIGRATIONS, *KITCHEN_MIGRATIONS, *RETENTION_MIGRATIONS),
)
