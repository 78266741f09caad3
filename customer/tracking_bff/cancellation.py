"""A customer's request to cancel an order before the restaurant takes it.

The API records the request in ``cancel-requests`` (one per order, so a repeated
request changes nothing) and the trigger announces it as ``order-cancel-requested``.
Order decides: the request wins only while the order is still ``placed``; the
tracking view then shows ``cancelled`` and the payment is voided.
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


def announce_cancel_request(change: DocumentChange, ctx: Context[CustomerPorts]) -> None:
    """Emit ``order-cancel-requested`` ``{id, requestedAt}`` for a new request."""
    request = change.after
    if request is None or change.before is not None:
        return
    body = {"id": request["orderId"], "requestedAt": request["requestedAt"]}
    ctx.emit("order-cancel-requested", "order", body, partition_key=request["orderId"])
