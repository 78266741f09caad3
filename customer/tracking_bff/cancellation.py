"""A customer's request to cancel an order before the restaurant takes it.

The API records the request in ``cancel-requests`` (one per order, so a repeated
request changes nothing) and the trigger announces it as ``cancellation-requested``.
Checkout decides first: an order still awaiting its payment is cancelled there
at once. A placed order's request goes on to Order, which cancels it only while
it is still ``placed``; the payment is then voided. Either way the tracking
view shows ``cancelled`` with the reason ``customer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.runtime.context import Context
    from shared.stores import DocumentChange

CANCEL_REQUESTS = "cancel-requests"
"""``cancel-requests/{orderId}``: ``{orderId, customerId, requestedAt}``."""
CANCELLABLE = frozenset({"pending-payment", "placed"})
"""Statuses of the tracking view in which a request can still win."""
CANCELLATION_REQUESTED = "cancellation-requested"
"""What the trigger announces; checkout-bff decides what becomes of it."""


def announce_cancel_request(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """Emit ``cancellation-requested`` ``{id, requestedAt}`` for a new request."""
    request = change.after
    if request is None or change.before is not None:
        return
    body = {"id": request["orderId"], "requestedAt": request["requestedAt"]}
    ctx.emit(CANCELLATION_REQUESTED, "order", body, partition_key=request["orderId"])
