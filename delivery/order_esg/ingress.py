"""Ingress: the Order subsystem's status changes become the internal ``order-updated``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.events import ORDER_UPDATED
from shared.contracts import Reader, read

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_STATUS_CHANGED = "order.order-status-changed"


class AddressReader(Reader):
    """A pickup or delivery address with its coordinates."""

    street: str
    city: str
    postcode: str
    lat: float
    lng: float


class RestaurantReader(Reader):
    """Where the order is picked up."""

    id: str
    name: str
    address: AddressReader


class OrderReader(Reader):
    """What Delivery needs of ``order.order-status-changed``."""

    id: str
    status: str
    reason: str | None = None
    customer_ref: str
    restaurant: RestaurantReader
    delivery_address: AddressReader | None = None
    changed_at: int


def receive_order_status(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Read the order's new state and pass it on to the bus, keyed by the order id."""
    order = read(event, OrderReader)
    ctx.emit(
        ORDER_UPDATED,
        "order",
        order.model_dump(mode="json", by_alias=True),
        partition_key=order.id,
    )
