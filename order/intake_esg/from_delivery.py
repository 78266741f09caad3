"""Ingress of the Delivery subsystem's progress: ``delivery.delivery-status-changed``.

By status: ``assigned`` -> ``driver-assigned``, ``released`` (the driver handed the order
back before the pickup) -> ``driver-released``, ``picked-up`` -> ``order-picked-up``,
``delivered`` -> ``order-delivered``, each ``{id: orderId, deliveryId, driverId, revision}``
keyed by the order id; ``cancelled`` (Order cancelled the order) and a status Order does not
know are skipped. ``revision`` is where the status comes in the delivery's course (``null``
when Delivery did not say): the lifecycle sets aside a status at or before the latest it
applied, one Delivery published again after a later one. Delivery repeats ``picked-up`` with
every new location; each repeat is the same internal event (one id for the delivery's
pickup), which the lifecycle records once, so a long ride costs Order one fold, not one per
location over a growing history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from order.events import DRIVER_ASSIGNED, DRIVER_RELEASED, ORDER_DELIVERED, ORDER_PICKED_UP
from shared.contracts import Reader, knows, read

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

DELIVERY_STATUS_CHANGED = "delivery.delivery-status-changed"
UNFOLLOWED = frozenset({"cancelled"})
"""Statuses known and left aside: Delivery cancels a delivery because Order cancelled the order."""
INTERNAL_TYPES = {
    "assigned": DRIVER_ASSIGNED,
    "released": DRIVER_RELEASED,
    "picked-up": ORDER_PICKED_UP,
    "delivered": ORDER_DELIVERED,
}


class Driver(Reader):
    """Who delivers the order."""

    id: str


class Delivery(Reader):
    """Where an order's delivery stands."""

    id: str
    order_id: str = Field(min_length=1)
    status: str
    driver: Driver
    revision: str | None = None


def receive_delivery_status(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Emit the internal event for the delivery's status, keyed by the order id."""
    delivery = read(event, Delivery)
    if delivery.status in UNFOLLOWED or not knows(
        ctx, event, "status", delivery.status, INTERNAL_TYPES
    ):
        return
    body = {
        "id": delivery.order_id,
        "deliveryId": delivery.id,
        "driverId": delivery.driver.id,
        "revision": delivery.revision,
    }
    ctx.emit(
        INTERNAL_TYPES[delivery.status],
        "order",
        body,
        partition_key=delivery.order_id,
        fact=f"{delivery.id}/picked-up" if delivery.status == "picked-up" else None,
    )
