"""``notification-esg``: push notifications over HTTP to the push provider.

Drivers hear of new offers while they are open (not of one withdrawn, taken or
expired by the time its announcement is handled), of cancelled deliveries, and
that the platform took them offline for the offers they let run out (not once they
were heard online again since, by ``driver-updated``);
customers hear that their order was accepted or cancelled, that a driver was
assigned, picked it up and delivered it, and that a driver handed it back (the
driver who did is not told: they asked for it). Location-only updates send
nothing, and nothing older than what the customer was told comes after it
(statuses may arrive out of order): nothing of the delivery once the order is
cancelled.

A driver is addressed by their id. A customer is addressed by the order's
``customerRef``, a push topic their app subscribes to (checkout gives it as
``pushTopic``): Delivery never learns who the customer is.
"""

from __future__ import annotations

from delivery.events import (
    DELIVERY_CANCELLED,
    DELIVERY_OFFERED,
    DELIVERY_STATUS_CHANGED,
    OFFER_WITHDRAWN,
    ORDER_UPDATED,
)
from delivery.notification_esg.push import notify
from shared.hub.routing import Rule
from shared.topology import Channel, Consumer, Role, Service, ServiceKind

DRIVERS_EVENTS = "driver-"
HEARD = Rule(
    types=frozenset(
        {
            DELIVERY_OFFERED,
            OFFER_WITHDRAWN,
            DELIVERY_CANCELLED,
            DELIVERY_STATUS_CHANGED,
            ORDER_UPDATED,
        }
    ),
    type_prefixes=(DRIVERS_EVENTS,),
)
"""What the push function reads; ``driver-taken-offline`` and ``driver-updated`` by their
prefix (the other ``driver-*`` types are left alone), as listing every type would exceed the
256 bytes of a Pub/Sub filter."""

SERVICE = Service(
    "notification-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "push",
            Role.EGRESS,
            # A provider down or rate-limiting for a few minutes, or refusing our API key until
            # it is put right, still gets the notices: retried for about 11 minutes (backoff up
            # to a minute; a Retry-After cannot be honoured one message at a time) before the
            # message becomes a fault. An offer over by then is not pushed, nor a status older
            # than one told since.
            Channel(HEARD, max_delivery_attempts=15, min_backoff_s=5),
            handlers=(notify,),
            secrets=("PUSH_PROVIDER_KEY",),
        ),
    ),
    description="Push notifications to customers and drivers through the push provider.",
)
