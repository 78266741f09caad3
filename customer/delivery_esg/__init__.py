"""delivery-esg: takes Delivery's status changes (driver, location) into the customer subsystem."""

from __future__ import annotations

from customer.delivery_esg.ingress import DELIVERY_STATUS_CHANGED, receive_delivery
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Topic

SERVICE = Service(
    "delivery-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "ingress",
            Role.INGRESS,
            Channel(
                on_types(DELIVERY_STATUS_CHANGED, **{SCHEMA_VERSION_TAG: "1"}),
                topic=Topic.EXTERNAL,
                subsystem="delivery",
            ),
            handlers=(receive_delivery,),
        ),
    ),
    description="Ingress of delivery.delivery-status-changed.",
)
