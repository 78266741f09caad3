"""``order-esg``: the gateway to the Order subsystem.

Its ingress turns ``order.order-status-changed`` (v2) into the internal
``order-updated``; its egress publishes ``delivery.delivery-status-changed``
from the internal ``delivery-status-changed``, never one older than a status it
published or than the delivery's cancellation.
"""

from __future__ import annotations

from delivery.contracts import DeliveryStatusChanged
from delivery.events import DELIVERY_CANCELLED, DELIVERY_STATUS_CHANGED
from delivery.order_esg.egress import publish_delivery_status
from delivery.order_esg.ingress import ORDER_STATUS_CHANGED, VERSION, receive_order_status
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
                on_types(ORDER_STATUS_CHANGED, **{SCHEMA_VERSION_TAG: VERSION}),
                topic=Topic.EXTERNAL,
                subsystem="order",
            ),
            handlers=(receive_order_status,),
        ),
        Consumer(
            "egress",
            Role.EGRESS,
            Channel(on_types(DELIVERY_STATUS_CHANGED, DELIVERY_CANCELLED)),
            handlers=(publish_delivery_status,),
            publishes=(DeliveryStatusChanged.TYPE,),
        ),
    ),
    description="Reads the order's status changes; publishes the delivery's.",
)
