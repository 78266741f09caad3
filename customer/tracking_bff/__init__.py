"""tracking-bff: the customer's order history and live tracking, and cancelling.

One view per order, fed by the order's own events, Order's status changes,
Delivery's driver and location, and the payment's settlement. A customer may ask
to cancel an order the restaurant has not taken yet; the view records the request
and what became of it (:mod:`.cancellation`).
"""

from __future__ import annotations

from customer.tracking_bff.api import http_app
from customer.tracking_bff.cancellation import CANCEL_REQUESTS, announce_cancel_request
from customer.tracking_bff.progress import APPLY
from customer.tracking_bff.views import track
from shared.hub.routing import Rule
from shared.topology import Channel, Consumer, Endpoint, Role, Service, ServiceKind, Trigger

ORDER_EVENTS = "order-"
TRACKED = Rule(
    types=frozenset(t for t in APPLY if not t.startswith(ORDER_EVENTS)),
    type_prefixes=(ORDER_EVENTS,),
)
"""Every event in ``APPLY``; the order's own ones by prefix, as listing every type
would exceed the 256 bytes of a Pub/Sub filter."""

SERVICE = Service(
    "tracking-bff",
    ServiceKind.BFF,
    (
        Consumer("listener", Role.LISTENER, Channel(TRACKED), handlers=(track,)),
        Endpoint("api", Role.API, app=http_app),
        Trigger(
            "cancel-requests",
            Role.TRIGGER,
            collection=CANCEL_REQUESTS,
            handlers=(announce_cancel_request,),
        ),
    ),
    description=(
        "Order tracking and history, fed by order, delivery and payment events; "
        "cancellation requests."
    ),
)
