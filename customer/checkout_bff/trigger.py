"""React to the order document's changes: announce them, and give the dishes of an order
that was never placed back to the cart."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from customer.checkout_bff.models import CARTS, ORDERS
from customer.checkout_bff.orders import (
    CANCELLED,
    CHECKOUT_ASKED,
    DECLINED,
    NEVER_PLACED,
    PLACED,
)
from customer.events import (
    ORDER_CANCELLED,
    ORDER_PAYMENT_DECLINED,
    ORDER_PLACED,
    ORDER_SUBMITTED,
)

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.runtime.context import Context
    from shared.stores import Doc, DocumentChange

ANNOUNCED = {
    PLACED: ORDER_PLACED,
    DECLINED: ORDER_PAYMENT_DECLINED,
    CANCELLED: ORDER_CANCELLED,
}
"""The event each status is announced with, once the order leaves ``pending-payment``."""
RESTORED = "cartRestored"
"""Set on an order never placed once its dishes were put back (or a newer cart kept): a
change delivered again then puts back nothing, whatever the customer did with the cart."""
RESTORED_FROM = "restoredFrom"
"""Set on a cart put back from an order never placed: that order's id."""
UNANNOUNCED = ("paymentMethod", "checkoutKey", CHECKOUT_ASKED, RESTORED)
"""The order's fields no event carries: the card token, and checkout's own bookkeeping."""


def announce_order(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """``order-submitted`` on creation; ``order-placed``, ``order-payment-declined`` or
    ``order-cancelled`` on the move.

    A change feed may hand over several writes as one change (the emulator's, or
    a trigger resuming after a restart): an order first seen already moved on is
    announced both submitted and moved. None carries the payment method:
    payment-esg reads it from the order itself.
    """
    order, before = change.after, change.before
    if order is None:
        return
    public = {k: v for k, v in order.items() if k not in UNANNOUNCED}
    if before is None:
        ctx.emit(ORDER_SUBMITTED, "order", public, partition_key=change.key)
    if order["status"] != (before or {}).get("status") and order["status"] in ANNOUNCED:
        ctx.emit(ANNOUNCED[order["status"]], "order", public, partition_key=change.key)


def restore_cart(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """When the payment is declined or the order cancelled before it was placed, put the
    order's lines back in the customer's cart.

    The customer can then pay again, with another card or later, without
    choosing the dishes again. A cart the customer started since is left
    alone, and the restored cart is a new version, so its checkout creates a
    new order. A repeated change restores nothing once the order is marked
    :data:`RESTORED` (one restored before orders were marked: once that new
    order exists), so dishes the customer removed or ordered since stay gone.
    The ordered version itself may still be there (checkout deletes it just
    after creating the order): it is replaced, and checkout then leaves the
    restored one alone.
    """
    order, before = change.after, change.before
    if order is None or order["status"] not in NEVER_PLACED:
        return
    if before is not None and before["status"] in NEVER_PLACED:
        return
    store = ctx.ports.store
    if (store.get(ORDERS, order["id"]) or {}).get(RESTORED):
        return  # the customer may have emptied, or ordered, the restored cart since
    # Named before orders could be cancelled here; renaming it would restore a cart twice.
    retry_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"declined:{order['id']}"))
    if store.get(ORDERS, retry_id) is not None:
        return  # restored before orders were marked, and checked out since
    restored = {
        "restaurantId": order["restaurant"]["id"],
        "items": order["items"],
        "total": order["total"],
        "currency": order["currency"],
        "checkoutId": retry_id,
        RESTORED_FROM: order["id"],
    }

    def restore(cart: Doc | None) -> Doc | None:
        # Read again on each try of the write: a handling of the same change that ran while
        # this one stalled may have restored the cart, which the customer emptied since.
        if (store.get(ORDERS, order["id"]) or {}).get(RESTORED):
            return None
        return restored if cart is None or cart.get("checkoutId") == order["id"] else None

    store.update(CARTS, order["customerId"], restore)
    store.update(ORDERS, order["id"], lambda now: {**now, RESTORED: True} if now else None)
