"""A customer's request to cancel an order, decided by checkout while the order is its own.

An order still awaiting its payment is cancelled here at once (``customer``):
it never reaches Order, its dishes go back in the cart, and a payment
authorized after all is voided by payment-esg. A placed order is Order's to
cancel: the request goes on as ``order-cancel-requested``, which order-esg
publishes. The request changes nothing for an order already declined or cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from customer.checkout_bff.models import ORDERS
from customer.checkout_bff.orders import PLACED, give_up
from customer.events import CANCELLATION_REQUESTED, ORDER_CANCEL_REQUESTED

if TYPE_CHECKING:
    from customer.ports import CustomerPorts
    from shared.envelope import Envelope
    from shared.runtime.context import Context

CUSTOMER = "customer"
"""The reason of an order the customer cancelled."""


def decide_cancellation(event: Envelope, ctx: Context[CustomerPorts]) -> None:
    """Cancel an order still awaiting its payment, or pass the request on to Order."""
    if event.type != CANCELLATION_REQUESTED:
        return
    store, order_id = ctx.ports.store, event.body["id"]
    requested_at = event.body["requestedAt"]
    if give_up(store, order_id, CUSTOMER, requested_at):
        return
    order = store.get(ORDERS, order_id)
    if order is not None and order["status"] == PLACED:
        body = {"id": order_id, "requestedAt": requested_at}
        ctx.emit(ORDER_CANCEL_REQUESTED, "order", body, partition_key=order_id)
