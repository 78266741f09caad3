"""payment-esg: the gateway to the payment processor.

Authorizes a submitted order, captures the payment when the order is
delivered, and voids or refunds it when the order is cancelled (by Order, or
by checkout before it was placed), over HTTP with idempotency keys derived from
the order (``{orderId}:capture``).
"""

from __future__ import annotations

from customer.events import ORDER_CANCELLED, ORDER_STATUS_CHANGED, ORDER_SUBMITTED
from customer.order_esg.ingress import STATUS_TAG
from customer.payment_esg.egress import SETTLEMENTS, process
from shared.hub.routing import on_types
from shared.topology import Channel, Consumer, Role, Service, ServiceKind

SERVICE = Service(
    "payment-esg",
    ServiceKind.ESG,
    (
        Consumer(
            "processor",
            Role.EGRESS,
            # Money must not wait for a person after a short outage: retry for about
            # 16 hours (backoff up to 10 minutes) before the message becomes a fault.
            Channel(
                on_types(ORDER_SUBMITTED, ORDER_CANCELLED)
                | on_types(ORDER_STATUS_CHANGED, **{STATUS_TAG: tuple(SETTLEMENTS)}),
                max_delivery_attempts=100,
                min_backoff_s=5,
                max_backoff_s=600,
            ),
            handlers=(process,),
            secrets=("PAYMENT_PROCESSOR_KEY",),
        ),
    ),
    description="Authorize at checkout, capture on delivery, void or refund on cancellation.",
)
