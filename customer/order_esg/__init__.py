"""order-esg: the customer's gateway to Order.

Publishes ``customer.order-placed`` once an order's payment is authorized and
``customer.order-cancel-requested`` when the customer asks to cancel, and takes
``order.order-status-changed`` (v2) in as the internal ``order-status-changed``.
"""

from __future__ import annotations

from customer.contracts import OrderCancelRequested, OrderPlaced
from customer.events import ORDER_CANCEL_REQUESTED, ORDER_PLACED
from customer.order_esg.egress import publish_order_event
from customer.order_esg.ingress import ORDER_STATUS_CHANGED, VERSION, receive_status
from shared.contracts import SCHEMA_VERSION_TAG
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind, Topic

SERVICE = Service(
    "order-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "egress",
            Role.EGRESS,
            Channel(on_types(ORDER_PLACED, ORDER_CANCEL_REQUESTED)),
            handlers=(publish_order_event,),
            publishes=(OrderPlaced.TYPE, OrderCancelRequested.TYPE),
        ),
        Consumer(
            "ingress",
            Role.INGRESS,
            Channel(
                on_types(ORDER_STATUS_CHANGED, **{SCHEMA_VERSION_TAG: VERSION}),
                topic=Topic.EXTERNAL,
                subsystem="order",
            ),
            handlers=(receive_status,),
        ),
    ),
    description=(
        "Egress customer.order-placed and customer.order-cancel-requested; "
        "ingress order.order-status-changed v2."
    ),
)
