"""Ingress of the Customer subsystem's orders: ``customer.order-placed`` -> ``order-placed``,
``customer.order-cancel-requested`` -> ``cancel-requested``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from order import events
from shared.contracts import ReadEpochMs, Reader, read

if TYPE_CHECKING:
    from order.ports import OrderPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

ORDER_PLACED = "customer.order-placed"
ORDER_CANCEL_REQUESTED = "customer.order-cancel-requested"
MAX_QUANTITY = 50
"""The most of one dish a line of ``customer.order-placed`` may hold: more breaks the
contract and is a fault, not an order the kitchen is asked to cook."""


class Address(Reader):
    """A delivery or pickup address, on the globe as Customer's contract bounds it: Order
    passes it on to Delivery, which finds drivers near it."""

    street: str
    city: str
    postcode: str
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)


class Restaurant(Reader):
    """Where the order is prepared."""

    id: str = Field(min_length=1)
    name: str
    address: Address


class Line(Reader):
    """One line of the order, priced when it was placed."""

    menu_item_id: str = Field(min_length=1)
    name: str
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    price: int = Field(ge=0)


class PlacedOrder(Reader):
    """What Order takes over from the customer's checkout.

    The ids Order passes on in its own status (the customer's reference, the
    restaurant's and the dishes') must not be empty, as both contracts say: an order
    whose every status the egress would refuse is refused here, as a fault. A time past
    :data:`~shared.clock.LATEST_MS` is read as that (:data:`~shared.contracts.ReadEpochMs`),
    which the collector can keep.
    """

    id: str = Field(min_length=1)
    customer_ref: str = Field(min_length=1)
    restaurant: Restaurant
    items: list[Line] = Field(min_length=1)
    total: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    delivery_address: Address
    placed_at: ReadEpochMs
    notify_customer: bool = True


class CancelRequest(Reader):
    """The customer wants the order cancelled, if it is not too late."""

    id: str = Field(min_length=1)
    requested_at: int


def receive_customer_event(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Take a placed order or a cancellation request in, keyed by the order id."""
    if event.type == ORDER_CANCEL_REQUESTED:
        request = read(event, CancelRequest)
        ctx.emit(events.CANCEL_REQUESTED, "order", {"id": request.id}, partition_key=request.id)
    else:
        receive_order(event, ctx)


def receive_order(event: Envelope, ctx: Context[OrderPorts]) -> None:
    """Turn a placed order into the internal ``order-placed``, keyed by the order id."""
    order = read(event, PlacedOrder)
    body = order.model_dump(mode="json", by_alias=True)
    ctx.emit(events.ORDER_PLACED, "order", body, partition_key=order.id)
