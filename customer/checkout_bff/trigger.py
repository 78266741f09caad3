"""Turn the order document's changes into the order's internal events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.checkout_bff.orders import DECLINED, PLACED

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

ANNOUNCED = {PLACED: "order-placed", DECLINED: "order-payment-declined"}
"""The event each status is announced with, once the payment is decided."""


def announce_order(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """``order-submitted`` on creation; ``order-placed`` / ``order-payment-declined`` on the move.

    Only ``order-submitted`` (for payment-esg) carries the payment method.
    """
    order, before = change.after, change.before
    if order is None:
        return
    if before is None:
        ctx.emit("order-submitted", "order", order, partition_key=change.key)
    elif order["status"] != before["status"] and order["status"] in ANNOUNCED:
        public = {k: v for k, v in order.items() if k != "paymentMethod"}
        ctx.emit(ANNOUNCED[order["status"]], "order", public, partition_key=change.key)
