"""kitchen-bff: the kitchen's order queue, where staff accept, reject and mark orders ready."""

from __future__ import annotations

from restaurant.events import (
    ORDER_COLLECTED,
    ORDER_RECEIVED,
    ORDER_WITHDRAWN,
    RESTAURANT_UPDATED,
)
from restaurant.kitchen_bff.api import http_app
from restaurant.kitchen_bff.lapse import LAPSE_EVERY_S, close_lapsed
from restaurant.kitchen_bff.listener import keep_queue
from restaurant.kitchen_bff.models import TICKETS
from restaurant.kitchen_bff.trigger import announce_answer
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
        Schedule("lapse", Role.TRIGGER, every_s=LAPSE_EVERY_S, handlers=(close_lapsed,)),
    ),
    description=(
        "The kitchen's order queue: accept, reject with a reason, mark ready; closes a new "
        "order whose cancellation is not heard a day after its time to answer ran out (or, "
        "when Order did not say when that is, a day after it was queued), and "
        "an accepted or ready one whose end is not heard a day after it was queued."
    ),
)
