"""Ingress: the Order subsystem's status changes (v2) become the internal ``order-updated``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from delivery.events import ORDER_UPDATED
from shared.contracts import ReadEpochMs, Reader, knows, read

if TYPE_CHECKING:
    from delivery.ports import DeliveryPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_STATUS_CHANGED = "order.order-status-changed"
VERSION = "2"
"""The major version of ``order.order-status-changed`` this ingress reads."""
STATUSES = frozenset({"placed", "accepted", "ready", "picked-up", "delivered", "cancelled"})
"""The order statuses Delivery knows; a status Order adds is skipped until it is taught here
(its consumers would take it for the order's latest: the driver app's food no longer ready)."""


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


class CancellationReader(Reader):
    """Why the order was cancelled."""

    reason: str


class OrderReader(Reader):
    """What Delivery needs of ``order.order-status-changed`` v2."""

    id: str
    status: str
    cancellation: CancellationReader | None = None
    customer_ref: str
    restaurant: RestaurantReader
    delivery_address: AddressReader | None = None
    notify_customer: bool = True
    ready_by: ReadEpochMs | None = None
    changed_at: ReadEpochMs


def receive_order_status(event: Envelope, ctx: Context[DeliveryPorts]) -> None:
    """Read the order's new state and pass it on to the bus, keyed by the order id.

    The internal ``order-updated`` keeps its own shape ``{id, status, reason,
    customerRef, restaurant, deliveryAddress, notifyCustomer, readyBy, changedAt}``
    whatever version Order publishes. A time the contract allows past
    :data:`~shared.clock.LATEST_MS` is passed on as that (still the latest, and kept in
    their course by status within it);
    a negative one breaks the contract: a fault naming the field. A status not in
    :data:`STATUSES` is skipped, with a warning (:func:`~shared.contracts.knows`).
    """
    order = read(event, OrderReader)
    if not knows(ctx, event, "status", order.status, STATUSES):
        return
    body = order.model_dump(mode="json", by_alias=True, exclude={"cancellation"})
    body["reason"] = order.cancellation.reason if order.cancellation else None
    ctx.emit(ORDER_UPDATED, "order", body, partition_key=order.id)
