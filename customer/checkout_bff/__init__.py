"""checkout-bff: the customer's cart and checkout.

Checkout creates the order in ``pending-payment``; the order's trigger asks
payment-esg to authorize it, and the outcome moves it to ``placed`` or
``payment-declined``, which puts the order's dishes back in the cart for another
try. Restaurants, menus and saved account details come from
checkout's own copies, fed by events.
"""

from __future__ import annotations

from customer.checkout_bff.api import http_app
from customer.checkout_bff.models import ORDERS
from customer.checkout_bff.trigger import announce_order, restore_cart
from customer.checkout_bff.views import COPY_OF, PAYMENT_OUTCOMES, follow
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Endpoint, Role, Service, ServiceKind, Trigger

SERVICE = Service(
    "checkout-bff",
    ServiceKind.BFF,
    (
        Consumer(
            "listener",
            Role.LISTENER,
            Channel(on_types(*COPY_OF, *PAYMENT_OUTCOMES)),
            handlers=(follow,),
        ),
        Endpoint("api", Role.API, app=http_app),
        Trigger(
            "trigger", Role.TRIGGER, collection=ORDERS, handlers=(announce_order, restore_cart)
        ),
    ),
    description="Cart and checkout; creates the order in pending-payment.",
)
