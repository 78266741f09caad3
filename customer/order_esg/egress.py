"""Publish ``customer.order-placed`` and ``customer.order-cancel-requested``, with the
contracts' fields only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.contracts import (
    Address,
    OrderCancelRequested,
    OrderLine,
    OrderPlaced,
    RestaurantRef,
)
from customer.events import ORDER_CANCEL_REQUESTED
from shared.contracts import publish

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context


def publish_order_event(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Publish an internal ``order-placed`` or ``order-cancel-requested`` as its contract."""
    if event.type == ORDER_CANCEL_REQUESTED:
        request = OrderCancelRequested(id=event.body["id"], requested_at=event.body["requestedAt"])
        publish(ctx, request)
    else:
        publish_order_placed(event, ctx)


def publish_order_placed(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Build the contract from the internal ``order-placed`` body, leaving everything else behind.

    The customer is known outside only by the order's ``customerRef``.
    """
    order = event.body
    placed = OrderPlaced(
        id=order["id"],
        customer_ref=order["customerRef"],
        restaurant=RestaurantRef.model_validate(order["restaurant"]),
        items=[OrderLine.model_validate(line) for line in order["items"]],
        total=order["total"],
        currency=order["currency"],
        delivery_address=Address.model_validate(order["deliveryAddress"]),
        placed_at=order["placedAt"],
        notify_customer=order.get("notifyCustomer", True),
    )
    publish(ctx, placed)
