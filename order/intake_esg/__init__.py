"""intake-esg: takes the sister subsystems' events in and turns them into Order's own.

Three ingress functions, one per producer, each reading with its own tolerant
readers: customers' placed orders and cancellation requests, restaurants' answers and
profiles, and the progress of deliveries.
"""

from __future__ import annotations

from order.intake_esg.from_customer import (
    ORDER_CANCEL_REQUESTED,
    ORDER_PLACED,
    receive_customer_event,
)
from order.intake_esg.from_delivery import DELIVERY_STATUS_CHANGED, receive_delivery_status
from order.intake_esg.from_restaurant import (
    ORDER_ACCEPTED,
    ORDER_READY,
    ORDER_REJECTED,
    RESTAURANT_UPDATED,
    receive_restaurant_event,
)
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Topic

SERVICE = Service(
    "intake-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "from-customer",
            Role.INGRESS,
            Channel(
                on_types(ORDER_PLACED, ORDER_CANCEL_REQUESTED, **{SCHEMA_VERSION_TAG: "1"}),
                topic=Topic.EXTERNAL,
                subsystem="customer",
            ),
            handlers=(receive_customer_event,),
        ),
        Consumer(
            "from-restaurant",
            Role.INGRESS,
            Channel(
                on_types(
                    ORDER_ACCEPTED,
                    ORDER_READY,
                    ORDER_REJECTED,
                    RESTAURANT_UPDATED,
                    **{SCHEMA_VERSION_TAG: "1"},
                ),
                topic=Topic.EXTERNAL,
                subsystem="restaurant",
            ),
            handlers=(receive_restaurant_event,),
        ),
        Consumer(
            "from-delivery",
            Role.INGRESS,
            Channel(
                on_types(DELIVERY_STATUS_CHANGED, **{SCHEMA_VERSION_TAG: "1"}),
                topic=Topic.EXTERNAL,
                subsystem="delivery",
            ),
            handlers=(receive_delivery_status,),
        ),
    ),
    description="Ingress of customer, restaurant and delivery events into Order's bus.",
)
