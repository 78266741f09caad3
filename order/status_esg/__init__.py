"""status-esg: tells the other subsystems where each order stands.

Its egress publishes ``order.order-status-changed`` from the internal ``order-status-changed``,
as v2 and, during v1's deprecation window, as v1 too.
"""

from __future__ import annotations

from order.contracts import OrderStatusChanged
from order.events import ORDER_STATUS_CHANGED
from order.status_esg.egress import publish_status
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind

SERVICE = Service(
    "status-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "egress",
            Role.EGRESS,
            Channel(on_types(ORDER_STATUS_CHANGED)),
            handlers=(publish_status,),
            publishes=(OrderStatusChanged.TYPE,),
        ),
    ),
    description="Publishes the order's lifecycle to customer, restaurant and delivery.",
)
