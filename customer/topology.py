"""The customer subsystem: its services, and the app the kit runs."""

from __future__ import annotations

from customer import (
    account_bff,
    browse_bff,
    checkout_bff,
    delivery_esg,
    order_esg,
    payment_esg,
    restaurant_esg,
    tracking_bff,
)
from customer.browse_bff.listing import HAS_MENU
from customer.browse_bff.migrations import MIGRATIONS as BROWSE_MIGRATIONS
from customer.browse_bff.pages import SORT_FIELD
from customer.contracts import PUBLISHED
from customer.ports import bootstrap
from shared.runtime.app import SubsystemApp
from shared.topology import Index, Subsystem

TOPOLOGY = Subsystem(
    name="customer",
    services=(
        restaurant_esg.SERVICE,
        browse_bff.SERVICE,
        account_bff.SERVICE,
        checkout_bff.SERVICE,
        payment_esg.SERVICE,
        order_esg.SERVICE,
        delivery_esg.SERVICE,
        tracking_bff.SERVICE,
    ),
    description=(
        "The customer's side: browse restaurants, keep an account, check out and pay, "
        "and track orders. The customer is known outside only by a per-order customerRef."
    ),
    indexes=(
        Index("tracking", ("customerId", "createdAt desc")),
        Index("orders", ("status", "createdAt")),
        Index("catalog-restaurants", (HAS_MENU, SORT_FIELD)),
        Index("catalog-restaurants", ("cuisine", HAS_MENU, SORT_FIELD)),
        Index("catalog-restaurants", ("open", HAS_MENU, SORT_FIELD)),
        Index("catalog-restaurants", ("cuisine", "open", HAS_MENU, SORT_FIELD)),
    ),
)

APP = SubsystemApp(TOPOLOGY, bootstrap, contracts=PUBLISHED, migrations=BROWSE_MIGRATIONS)
