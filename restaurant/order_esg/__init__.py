"""order-esg: takes the Order subsystem's status changes in, sends the kitchen's answers out."""

from __future__ import annotations

from restaurant.contracts import OrderAccepted, OrderReady, OrderRejected
from restaurant.events import ORDER_ACCEPTED, ORDER_READY, ORDER_REJECTED
from restaurant.order_esg.egress import publish_answer
from restaurant.order_esg.ingress import (
    FOLLOW_UPS,
    ORDER_STATUS_CHANGED,
    VERSION,
    receive_order_status,
)
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Topic

SERVICE = Service(
    "order-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "ingress",
            Role.INGRESS,
            Channel(
                # The statuses the kitchen acts on; Order publishes the status as an attribute.
                on_types(
                    ORDER_STATUS_CHANGED,
                    **{SCHEMA_VERSION_TAG: VERSION, "status": ("placed", *FOLLOW_UPS)},
                ),
                topic=Topic.EXTERNAL,
                subsystem="order",
            ),
            handlers=(receive_order_status,),
        ),
        Consumer(
            "egress",
            Role.EGRESS,
            Channel(on_types(ORDER_ACCEPTED, ORDER_REJECTED, ORDER_READY)),
            handlers=(publish_answer,),
            publishes=(OrderAccepted.TYPE, OrderRejected.TYPE, OrderReady.TYPE),
        ),
    ),
    description="Ingress of order.order-status-changed v1; egress of the kitchen's answers.",
)
