"""checkout-bff: the customer's cart and checkout.

Checkout creates the order in ``pending-payment``; the order's trigger asks
payment-esg to authorize it, and the outcome moves it to ``placed`` or
``payment-declined``. An order whose payment is not decided within
:data:`~.deadline.PAYMENT_DEADLINE_MS`, or that the customer cancels before it
is placed, is ``cancelled`` here and never reaches Order. An order that ends
without being placed puts its dishes back in the cart for another try.
Restaurants, menus and saved account details come from checkout's own copies,
fed by events; only the saved card's token, which no event carries, is read from
the account itself, at checkout, so the card saved then pays for the order.
"""

from __future__ import annotations

from customer.checkout_bff.api import http_app
from customer.checkout_bff.cancellation import decide_cancellation
from customer.checkout_bff.deadline import give_up_unpaid
from customer.checkout_bff.models import ORDERS
from customer.checkout_bff.trigger import announce_order, restore_cart
from customer.checkout_bff.views import COPY_OF, PAYMENT_OUTCOMES, follow
from customer.events import CANCELLATION_REQUESTED
from shared.hub.routing import on_types
from shared.topology import (
    Channel,
    Consumer,
    Endpoint,
    Role,
    Schedule,
    Service,
    ServiceKind,
    Trigger,
)

SERVICE = Service(
    "checkout-bff",
    ServiceKind.BFF,
    (
        Consumer(
            "listener",
            Role.LISTENER,
            Channel(on_types(*COPY_OF, *PAYMENT_OUTCOMES, CANCELLATION_REQUESTED)),
            handlers=(follow, decide_cancellation),
        ),
        Endpoint("api", Role.API, app=http_app),
        Trigger(
            "trigger",
            Role.TRIGGER,
            collection=ORDERS,
            handlers=(announce_order, restore_cart),
            redact=("paymentMethod",),  # a card token given at checkout, never kept in a fault
        ),
        Schedule("payment-deadline", Role.TRIGGER, every_s=60, handlers=(give_up_unpaid,)),
    ),
    description=(
        "Cart and checkout; creates the order in pending-payment, and cancels it there "
        "when the customer asks or its payment is not decided in time."
    ),
)
