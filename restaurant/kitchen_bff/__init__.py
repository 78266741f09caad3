"""kitchen-bff: the kitchen's order queue, where staff accept, reject and mark orders ready."""

from __future__ import annotations

from restaurant.events import (
    ORDER_COLLECTED,
    ORDER_RECEIVED,
    ORDER_WITHDRAWN,
    RESTAURANT_UPDATED,
)
from restaurant.kitchen_bff.api import http_app
from restaurant.kitchen_bff.listener import keep_queue
from restaurant.kitchen_bff.models import TICKETS
from restaurant.kitchen_bff.trigger import announce_answer
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Endpoint, Role, Service, ServiceKind, Trigger

SERVICE = Service(
    "kitchen-bff",
    ServiceKind.BFF,
    (
        Consumer(
            "listener",
            Role.LISTENER,
            Channel(on_types(ORDER_RECEIVED, ORDER_WITHDRAWN, ORDER_COLLECTED, RESTAURANT_UPDATED)),
            handlers=(keep_queue,),
        ),
        Endpoint("api", Role.API, app=http_app),
        Trigger("trigger", Role.TRIGGER, collection=TICKETS, handlers=(announce_answer,)),
    ),
    description="The kitchen's order queue: accept, reject with a reason, mark ready.",
)
